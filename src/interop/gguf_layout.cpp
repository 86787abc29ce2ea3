// Implementation of gguf_layout.h.
#include "interop/gguf_layout.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace chatforge::interop {
namespace {

// Calls copy(hf_row, gguf_row) for every row of every head.
template <class Copy>
void for_each_row_pair(int64_t rows, int n_heads, Copy copy) {
  CF_CHECK(n_heads > 0 && rows % n_heads == 0 && (rows / n_heads) % 2 == 0,
           "rope permutation: {} rows do not split into {} heads of an even size", rows, n_heads);
  const int64_t hs = rows / n_heads, half = hs / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) copy(h * hs + j * half + i, h * hs + 2 * i + j);
}

}  // namespace

void gguf_rope_permute(const float* in, float* out, int64_t rows, int64_t cols, int n_heads) {
  for_each_row_pair(rows, n_heads, [&](int64_t hf, int64_t gg) { std::copy_n(in + hf * cols, cols, out + gg * cols); });
}

void gguf_rope_unpermute(const float* in, float* out, int64_t rows, int64_t cols, int n_heads) {
  for_each_row_pair(rows, n_heads, [&](int64_t hf, int64_t gg) { std::copy_n(in + gg * cols, cols, out + hf * cols); });
}

std::vector<float> gguf_rope_freq_factors(const model::GptConfig& cfg) {
  const std::vector<float> scaled = cfg.rope_inv_freq();
  const int dim = cfg.head_size();
  std::vector<float> out(scaled.size());
  for (size_t i = 0; i < scaled.size(); ++i) {
    // the same float expression as rope_inv_freq's unscaled frequencies
    const float plain = 1.0f / std::pow(static_cast<float>(cfg.rope_theta), static_cast<float>(2 * i) / static_cast<float>(dim));
    out[i] = plain / scaled[i];
  }
  return out;
}

}  // namespace chatforge::interop
