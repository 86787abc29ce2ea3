// Where llama.cpp's tensor layout differs from Hugging Face's. Its LLAMA architecture
// rotates interleaved pairs (x[2i], x[2i+1]) where HF's Llama rotates halves (x[i],
// x[i + HS/2]), so the q and k projection rows (weights and biases) are permuted within each
// head on export, as llama.cpp's convert_hf_to_gguf.py does (Qwen2/Qwen3 rotate halves in
// llama.cpp too: no permutation). Llama 3's rope scaling travels as one frequency divisor
// per rotated pair (the rope_freqs.weight tensor).
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace chatforge::interop {

// For each of `n_heads` heads of HS = rows / n_heads rows (`cols` floats each), output row
// 2i + j of the head is input row j * HS/2 + i (i < HS/2, j in {0, 1}): the rotate-half pair
// (i, i + HS/2) becomes the interleaved pair (2i, 2i + 1). `in` and `out` must not overlap.
// Example (one head, HS 4, one column): [a, b, c, d] -> [a, c, b, d];
// HS 6: [a, b, c, d, e, f] -> [a, d, b, e, c, f].
void gguf_rope_permute(const float* in, float* out, int64_t rows, int64_t cols, int n_heads);
// The inverse: gguf_rope_unpermute(gguf_rope_permute(x)) == x, as llama.cpp users do to
// read such a tensor back in HF order. Example (HS 6): [a, d, b, e, c, f] -> [a, b, c, d, e, f].
void gguf_rope_unpermute(const float* in, float* out, int64_t rows, int64_t cols, int n_heads);

// llama.cpp's rope_freqs for Llama 3 rope scaling: per rotated pair i, the plain frequency
// 1 / theta^(2i/HS) divided by the scaled one of GptConfig::rope_inv_freq (llama.cpp divides
// each rotation angle by it): 1 for high frequencies, the factor for low ones, between in
// the smooth band.
std::vector<float> gguf_rope_freq_factors(const model::GptConfig& cfg);

}  // namespace chatforge::interop
