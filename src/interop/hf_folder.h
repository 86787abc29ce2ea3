// Hugging Face folders out (GPT-2 and the Llama family): config.json, weights
// (model::write_weights), the generation config and the tokenizer files, what
// transformers' from_pretrained loads; and the companion files a downloaded folder brings,
// passed through unchanged.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

// (Reading a Hugging Face folder is model::load_model: one strict reader for every
// checkpoint, single or sharded.)

// The files of a model folder besides config.json and the weights that describe its
// tokenizer and generation: tokenizer.json, tokenizer_config.json (with the model's chat
// template), special_tokens_map.json, generation_config.json, vocab.json, merges.txt. A
// folder converted without another tokenizer keeps them byte for byte.
const std::vector<std::string>& companion_files();
// Copies those of companion_files() present in `from` into `to` (atomic writes, replacing
// files of the same name); returns the names copied.
std::vector<std::string> copy_companion_files(const std::string& from, const std::string& to);

// The tokenizer_config.json chatforge writes for `tokenizer` with a model of `cfg`: the
// tokenizer's special tokens, model_max_length = the context, and the ChatML template when
// the tokenizer has <|im_start|>/<|im_end|>.
std::string tokenizer_config_json(const tok::Tokenizer& tokenizer, const model::GptConfig& cfg);

// A chatforge checkpoint in `dir` (which must exist) of a model read from another folder
// (convert --from hf): config.json and F32 weights, the tokenizer's files (tokenizer.json,
// vocab.txt, tokenizer_config_json()), then keep_from's companion files over them.
void write_checkpoint_folder(const std::string& dir, const model::Gpt& model, const tok::Tokenizer* tokenizer,
                             const std::string& keep_from);

// Writes an HF folder into `dir` (which must exist): config.json,
// model.safetensors in `dtype` (F32, F16 or BF16), generation_config.json and, when
// `tokenizer` is given, tokenizer.json, vocab.json, merges.txt and tokenizer_config.json
// (with the chat template when the tokenizer has <|im_start|>/<|im_end|>).
// With `keep_from` (the folder the model and tokenizer were read from), its companion files
// replace the written ones: the model's own chat template and generation settings survive.
void write_hf_folder(const std::string& dir, const model::Gpt& model, const tok::Tokenizer* tokenizer, DType dtype,
                     const std::string& keep_from = "");

}  // namespace chatforge::interop
