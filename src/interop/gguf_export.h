// A model and its tokenizer as a GGUF v3 file that llama.cpp and ollama load, under the
// llama.cpp architecture of its family: GPT-2 -> `gpt2`; Llama and Mistral -> `llama`
// (q/k rows permuted per head for its interleaved rotation, Llama 3 rope scaling as
// rope_freqs.weight); Qwen2 -> `qwen2` (q/k/v biases); Qwen3 -> `qwen3` (q/k norms). The
// hyperparameters llama.cpp reads, its tensor names (a tied head has no output.weight:
// llama.cpp falls back to token_embd), and the tokenizer (gguf_vocab.h). What llama.cpp
// cannot express (a rope scaling it lacks, biases its architecture has no tensor for) is
// refused with an error naming the field, never written approximately.
#pragma once
#include <cstdint>
#include <string>

#include "interop/gguf_vocab.h"
#include "interop/gguf_writer.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

enum class GgufWeightType { F32, F16, Q8_0, Q4_0 };
GgufWeightType parse_gguf_weight_type(const std::string& s);  // "f32" | "f16" | "q8_0" | "q4_0"
// llama.cpp's general.file_type for a type: LLAMA_FTYPE_ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7,
// MOSTLY_Q4_0 2.
uint32_t gguf_file_type(GgufWeightType t);

// Norms, biases and rope_freqs are F32 in every type. Matrices and the token embedding:
//   f32: F32; f16: F16; q8_0: Q8_0;
//   q4_0: Q4_0, except the tensor that computes the logits (output.weight, or token_embd
//         when the head is tied), which stays Q8_0 as llama.cpp's quantizer keeps it finer.
// GPT-2's position embedding is F16 in q8_0 and q4_0; a matrix whose rows are not a
// multiple of 32 values is F16 there too.
void export_gguf(const std::string& path, const model::Gpt& model, const tok::Tokenizer& tokenizer,
                 GgufWeightType type, const std::string& name, const TokenizerConfig& tokenizer_config = {});

// llama.cpp's architecture name for a configuration ("gpt2", "llama", "qwen2", "qwen3").
std::string gguf_architecture(const model::GptConfig& cfg);

}  // namespace chatforge::interop
