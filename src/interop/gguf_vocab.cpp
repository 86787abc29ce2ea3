// Implementation of gguf_vocab.h.
#include "interop/gguf_vocab.h"

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {
namespace {

using nlohmann::json;

// llama.cpp's token types (llama_token_type).
enum : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

// A token field: "<s>" or {"content": "<s>", ...} (an AddedToken); "" when absent or null.
std::string token_spelling(const json& c, const char* key, const std::string& where) {
  if (!c.contains(key) || c[key].is_null()) return "";
  if (c[key].is_object()) return json_field_or(c[key], "content", "", where, key);
  return json_get<std::string>(c[key], where, key);
}

std::string chat_template_of(const json& c, const std::string& where) {
  if (!c.contains("chat_template") || c["chat_template"].is_null()) return "";
  const json& t = c["chat_template"];
  if (!t.is_array()) return json_get<std::string>(t, where, "chat_template");
  for (const json& named : t)  // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
    if (json_field_or(named, "name", "", where, "chat_template[]") == "default")
      return json_field_or(named, "template", "", where, "chat_template[]");
  return "";
}

std::optional<int32_t> id_of(const tok::Tokenizer& tok, const std::string& spelling) {
  if (spelling.empty()) return std::nullopt;
  return tok.special_token_id(spelling);
}

void add_id(GgufWriter& w, const char* key, std::optional<int32_t> id, const model::GptConfig& cfg) {
  if (id && *id >= 0 && *id < cfg.vocab_size) w.add_u32(key, static_cast<uint32_t>(*id));
}

void add_tokens_and_merges(GgufWriter& w, const tok::Tokenizer& tok, const model::GptConfig& cfg,
                           const TokenizerConfig& tc) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  tokens.reserve(cfg.vocab_size);
  types.reserve(cfg.vocab_size);
  for (int32_t id = 0; id < cfg.vocab_size; ++id) {
    if (id >= tok.vocab_size()) {  // embeddings the tokenizer never produces
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(kUnused);
    } else if (tok.is_special(id)) {  // llama.cpp takes added tokens' text as it is
      tokens.emplace_back(tok.token_bytes(id));
      types.push_back(tc.not_special.count(tokens.back()) ? kUserDefined : kControl);
    } else {
      tokens.push_back(tok::bytes_to_unicode(tok.token_bytes(id)));
      types.push_back(kNormal);
    }
  }
  std::vector<std::string> merges;
  merges.reserve(tok.merges().size());
  for (const tok::Merge& m : tok.merges())
    merges.push_back(tok::bytes_to_unicode(tok.token_bytes(m.left)) + " " +
                     tok::bytes_to_unicode(tok.token_bytes(m.right)));
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);
}

void add_special_ids(GgufWriter& w, const tok::Tokenizer& tok, const model::GptConfig& cfg,
                     const TokenizerConfig& tc) {
  const auto eot_text = tok.special_token_id(tok::kEndOfText);
  auto pick = [&](int from_config, const std::string& from_tc) -> std::optional<int32_t> {
    if (from_config >= 0) return from_config;
    if (auto id = id_of(tok, from_tc)) return id;
    return eot_text;
  };
  add_id(w, "tokenizer.ggml.bos_token_id", pick(cfg.bos_token_id, tc.bos_token), cfg);
  add_id(w, "tokenizer.ggml.eos_token_id", pick(cfg.eos_token_id(), tc.eos_token), cfg);
  auto eot = tok.special_token_id(tok::kImEnd);
  if (!eot) eot = tok.special_token_id("<|eot_id|>");
  add_id(w, "tokenizer.ggml.eot_token_id", eot, cfg);
  add_id(w, "tokenizer.ggml.padding_token_id", id_of(tok, tc.pad_token), cfg);
  w.add_bool("tokenizer.ggml.add_bos_token", tc.add_bos_token.value_or(false));
  w.add_bool("tokenizer.ggml.add_eos_token", false);
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& path) {
  TokenizerConfig tc;
  if (!file_exists(path)) return tc;
  const json c = parse_json(read_file(path), path);
  CF_CHECK(c.is_object(), "{}: expected a JSON object", path);
  tc.chat_template = chat_template_of(c, path);
  if (c.contains("add_bos_token") && !c["add_bos_token"].is_null())
    tc.add_bos_token = json_get<bool>(c["add_bos_token"], path, "add_bos_token");
  tc.bos_token = token_spelling(c, "bos_token", path);
  tc.eos_token = token_spelling(c, "eos_token", path);
  tc.pad_token = token_spelling(c, "pad_token", path);
  if (c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object())
    for (const auto& [id, t] : c["added_tokens_decoder"].items())
      if (!json_field_or(t, "special", true, path, "added_tokens_decoder." + id))
        tc.not_special.insert(json_field_or(t, "content", "", path, "added_tokens_decoder." + id));
  return tc;
}

std::string gguf_pre_tokenizer(const tok::Tokenizer& tok) {
  const tok::PreTokenizer& p = tok.pretokenizer();
  const bool ignore_merges = tok.ignore_merges();
  if (p.is_gpt2() && !ignore_merges) return "gpt-2";
  if (p.pattern() == tok::kGpt4Pattern) return ignore_merges ? "llama-bpe" : "smaug-bpe";
  if (p.pattern() == tok::kQwen2Pattern && !ignore_merges) return "qwen2";
  fail("GGUF export: llama.cpp has no pre-tokenizer for this tokenizer's split pattern {}{} (it knows "
       "GPT-2's, GPT-4/Llama 3's and Qwen2's by name, and cannot take a regex)",
       p.pattern(), ignore_merges ? " with ignore_merges" : "");
}

void add_gguf_tokenizer(GgufWriter& w, const tok::Tokenizer& tok, const model::GptConfig& cfg,
                        const TokenizerConfig& tc) {
  CF_CHECK(tok.vocab_size() <= cfg.vocab_size, "the tokenizer has {} tokens but the model only {} embeddings",
           tok.vocab_size(), cfg.vocab_size);
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", gguf_pre_tokenizer(tok));
  add_tokens_and_merges(w, tok, cfg, tc);
  add_special_ids(w, tok, cfg, tc);
  const bool chatml = tok.special_token_id(tok::kImStart) && tok.special_token_id(tok::kImEnd);
  if (!tc.chat_template.empty())
    w.add_string("tokenizer.chat_template", tc.chat_template);
  else if (chatml)
    w.add_string("tokenizer.chat_template", tok::ChatFormat::jinja_template());
}

}  // namespace chatforge::interop
