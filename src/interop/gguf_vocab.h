// Tokenizer metadata of a GGUF file, for llama.cpp's byte-level BPE vocabulary
// (tokenizer.ggml.model "gpt2"): the tokens in GPT-2's byte-to-unicode spelling, merges,
// token types, the pre-tokenizer llama.cpp must run (tokenizer.ggml.pre: llama.cpp cannot
// take a regex, it knows patterns by name), special token ids and the chat template. What
// tokenizer.json does not say (chat template, add_bos_token, bos/eos/pad spellings, which
// added tokens are not special) comes from the model folder's tokenizer_config.json.
#pragma once
#include <optional>
#include <set>
#include <string>

#include "interop/gguf_writer.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::interop {

// The parts of a Hugging Face tokenizer_config.json a GGUF file carries. Spellings are ""
// when the file does not give them.
struct TokenizerConfig {
  std::string chat_template;          // a string, or the "default" entry of a named list
  std::optional<bool> add_bos_token;
  std::string bos_token, eos_token, pad_token;  // a string or {"content": ...}
  std::set<std::string> not_special;  // added_tokens_decoder entries with "special": false
};
// Reads `path` (a tokenizer_config.json); a missing file gives {}. Malformed JSON or a field
// of the wrong type: chatforge::Error naming the file and the field.
TokenizerConfig read_tokenizer_config(const std::string& path);

// llama.cpp's name for the tokenizer's split pattern (merges applied unless ignore_merges):
//   GPT-2's                              -> "gpt-2"
//   GPT-4's = Llama 3's, ignore_merges   -> "llama-bpe" (Llama 3)
//   GPT-4's, merges always applied       -> "smaug-bpe" (same regex, llama.cpp keeps merges)
//   Qwen2's (single digits)              -> "qwen2" (Qwen2, Qwen2.5, Qwen3)
// Any other pattern (or Qwen2's with ignore_merges): chatforge::Error naming the pattern.
std::string gguf_pre_tokenizer(const tok::Tokenizer& tok);

// Writes the tokenizer.* keys. Token types: normal (1); special tokens control (3), or
// user-defined (4) when tokenizer_config.json marks them "special": false; embedding rows
// past the tokenizer's vocabulary "[PADn]" unused (5). Ids: bos/eos from config.json, else
// tokenizer_config.json, else <|endoftext|>; eot <|im_end|> or <|eot_id|>; pad from
// tokenizer_config.json. Chat template: tokenizer_config.json's, else chatforge's ChatML
// template when the tokenizer has <|im_start|> and <|im_end|>. add_bos_token as
// tokenizer_config.json says (default false: chatforge adds no BOS either).
void add_gguf_tokenizer(GgufWriter& w, const tok::Tokenizer& tok, const model::GptConfig& cfg,
                        const TokenizerConfig& tc);

}  // namespace chatforge::interop
