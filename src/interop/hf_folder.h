// Hugging Face GPT-2 folders out: config.json, weights (model::write_weights), the
// generation config and the tokenizer files, what transformers' from_pretrained loads.
#pragma once
#include <memory>
#include <string>

#include "core/safetensors.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

// (Reading a Hugging Face folder is model::load_model: one strict reader for every
// checkpoint, single or sharded.)

// Writes an HF GPT-2 folder into `dir` (which must exist): config.json,
// model.safetensors in `dtype` (F32, F16 or BF16), generation_config.json and, when
// `tokenizer` is given, tokenizer.json, vocab.json, merges.txt and tokenizer_config.json
// (with the chat template when the tokenizer has <|im_start|>/<|im_end|>).
void write_hf_folder(const std::string& dir, const model::Gpt& model, const tok::Tokenizer* tokenizer, DType dtype);

}  // namespace chatforge::interop
