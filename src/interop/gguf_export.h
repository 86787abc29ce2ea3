// A GPT-2 model and its tokenizer as a GGUF file that llama.cpp and ollama load: the
// `gpt2` architecture keys, llama.cpp's GPT-2 tensor names (tied head: no output.weight,
// llama.cpp falls back to token_embd), the byte-level BPE vocabulary, merges, special
// token ids and the chat template.
#pragma once
#include <string>

#include "interop/gguf_writer.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

enum class GgufWeightType { F32, F16, Q8_0 };
GgufWeightType parse_gguf_weight_type(const std::string& s);  // "f32" | "f16" | "q8_0"

// f16: 2-D weights in F16, norms and biases in F32. q8_0: matrix weights (and the token
// embedding) in Q8_0, the position embedding in F16, norms and biases in F32.
void export_gguf(const std::string& path, const model::Gpt& model, const tok::Tokenizer& tokenizer,
                 GgufWeightType type, const std::string& name);

}  // namespace chatforge::interop
