// Hugging Face GPT-2 folders in and out: reading checks every tensor's name, shape and
// dtype (F32/F16/BF16) across one model.safetensors or a sharded set with
// model.safetensors.index.json; writing produces what transformers' from_pretrained loads.
#pragma once
#include <memory>
#include <string>

#include "core/safetensors.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

// Reads DIR/config.json and its weights strictly: a missing, misshapen, non-float or
// unknown tensor is an error naming the file and tensor. `source_dtype` (if given)
// gets the dtype of the stored weights (the first matrix's).
std::unique_ptr<model::Gpt> read_hf_model(const std::string& dir, DType* source_dtype = nullptr);

// (The weight files of a folder, single or sharded: model::weight_files.)

// Writes an HF GPT-2 folder into `dir` (which must exist): config.json,
// model.safetensors in `dtype` (F32, F16 or BF16), generation_config.json and, when
// `tokenizer` is given, tokenizer.json, vocab.json, merges.txt and tokenizer_config.json
// (with the chat template when the tokenizer has <|im_start|>/<|im_end|>).
void write_hf_folder(const std::string& dir, const model::Gpt& model, const tok::Tokenizer* tokenizer, DType dtype);

}  // namespace chatforge::interop
