// A checkpoint ready to generate from: the model, the tokenizer that goes with it and the
// ids that end an answer. The one loader every command that runs a model uses (chat,
// generate, serve, eval). It lives in interop, beside the Hugging Face folder export, because
// a checkpoint folder is model + tokenizer on disk: infer sees only ids, never text
// (ARCHITECTURE.md), so the pairing with the tokenizer cannot live there.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "ops/ops.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

struct LoadOptions {
  std::string model_dir;  // config.json + model.safetensors (+ tokenizer.json)
  std::string tokenizer;  // tokenizer directory or tokenizer.json; empty = model_dir's
  ops::WeightFormat weights = ops::WeightFormat::kF32;  // storage an Engine over it should use
  int threads = 0;        // > 0: omp_set_num_threads(threads); 0 leaves OpenMP's default
  std::vector<std::string> lora;  // LoRA adapters "DIR[:SCALE]" (PEFT format), merged into the weights in order
};

struct LoadedModel {
  std::unique_ptr<model::Gpt> model;
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::vector<int32_t> stop_ids;  // stop_ids_of(the model's folder)
  // tok::load_chat_format over the tokenizer's folder, then the model's: the model's own
  // template, ChatML, or null (no chat tokens and no template: a base model).
  std::unique_ptr<tok::ChatFormat> chat;
  ops::WeightFormat weights = ops::WeightFormat::kF32;  // LoadOptions::weights, for Engines
};

// Loads both and checks they fit. Errors (chatforge::Error, one line):
//   "model directory DIR does not exist"
//   "DIR has no tokenizer.json: pass --tokenizer DIR" (no tokenizer given, none in DIR)
//   "tokenizer T has N tokens but the model's vocabulary is V" (N > V)
// plus whatever the checkpoint and tokenizer readers report.
LoadedModel load_model_and_tokenizer(const LoadOptions& o);

// A base model (lm.chat null) chats with tok::ChatFormat::plain: sets it, with a one-line
// warning on stderr naming `model_dir`; returns whether it did.
bool use_plain_chat_if_none(LoadedModel& lm, const std::string& model_dir);

// The ids that end an answer, each once: <|endoftext|> and <|im_end|> where the tokenizer
// has them, config.json's eos_token_id and generation_config.json's (one id or a list, as
// transformers' generate stops on them: Llama 3 instruct ends a turn with <|eot_id|>, listed
// there). Errors name the file of an id outside the vocabulary or a malformed field.
std::vector<int32_t> stop_ids_of(const std::string& model_dir, const model::GptConfig& cfg, const tok::Tokenizer& t);

// Whether the tokenizer has <|im_start|> and <|im_end|> (so the chat template applies).
bool has_chat_tokens(const tok::Tokenizer& t);

}  // namespace chatforge::interop
