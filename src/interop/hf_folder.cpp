// Implementation of hf_folder.h.
#include "interop/hf_folder.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "model/checkpoint.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string vocab_json(const tok::Tokenizer& t) {
  ordered_json v = ordered_json::object();
  for (int32_t id = 0; id < t.vocab_size(); ++id) {
    const std::string_view b = t.token_bytes(id);
    v[t.is_special(id) ? std::string(b) : tok::bytes_to_unicode(b)] = id;
  }
  return v.dump() + "\n";
}

std::string merges_txt(const tok::Tokenizer& t) {
  std::string out = "#version: 0.2\n";
  for (const tok::Merge& m : t.merges()) {
    out += tok::bytes_to_unicode(t.token_bytes(m.left));
    out += ' ';
    out += tok::bytes_to_unicode(t.token_bytes(m.right));
    out += '\n';
  }
  return out;
}

bool folder_has_chat_tokens(const tok::Tokenizer& t) {
  return t.special_token_id(tok::kImStart) && t.special_token_id(tok::kImEnd);
}

}  // namespace

std::string tokenizer_config_json(const tok::Tokenizer& tokenizer, const model::GptConfig& cfg) {
  ordered_json tc = parse_ordered_json(tokenizer.to_hf_config_json(), "tokenizer_config.json");
  tc["model_max_length"] = cfg.n_ctx;
  if (folder_has_chat_tokens(tokenizer)) tc["chat_template"] = tok::ChatFormat::jinja_template();
  return tc.dump(2) + "\n";
}

void write_checkpoint_folder(const std::string& dir, const model::Gpt& gpt, const tok::Tokenizer* tokenizer,
                             const std::string& keep_from) {
  model::save_model(dir, gpt);
  if (tokenizer != nullptr) {
    tokenizer->save(dir);
    write_file_atomic(dir + "/tokenizer_config.json", tokenizer_config_json(*tokenizer, gpt.config()));
  }
  if (!keep_from.empty()) copy_companion_files(keep_from, dir);  // the source's own files win
}

const std::vector<std::string>& companion_files() {
  static const std::vector<std::string> names = {"tokenizer.json",          "tokenizer_config.json", "special_tokens_map.json",
                                                 "generation_config.json", "vocab.json",            "merges.txt"};
  return names;
}

std::vector<std::string> copy_companion_files(const std::string& from, const std::string& to) {
  std::vector<std::string> copied;
  for (const std::string& f : companion_files())
    if (file_exists(from + "/" + f)) {
      write_file_atomic(to + "/" + f, read_file(from + "/" + f));
      copied.push_back(f);
    }
  return copied;
}

namespace {

// Everything write_hf_folder writes from the model and tokenizer themselves.
void write_generated_files(const std::string& dir, const model::Gpt& gpt, const tok::Tokenizer* tokenizer,
                          DType dtype) {
  model::GptConfig cfg = gpt.config();
  std::optional<int32_t> eot = tokenizer ? tokenizer->special_token_id(tok::kEndOfText) : std::nullopt;
  if (tokenizer) {
    CF_CHECK(tokenizer->vocab_size() <= cfg.vocab_size,
             "the tokenizer has {} tokens but the model only {} embeddings", tokenizer->vocab_size(), cfg.vocab_size);
    if (eot && cfg.bos_token_id < 0) cfg.bos_token_id = *eot;
    if (eot && cfg.eos_token_ids.empty()) cfg.eos_token_ids = {*eot};
  }
  nlohmann::json cj = cfg.to_hf_json();
  cj["torch_dtype"] = dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
  write_file_atomic(dir + "/config.json", cj.dump(2) + "\n");
  model::write_weights(dir + "/model.safetensors", gpt, dtype);

  ordered_json gen;
  gen["_from_model_config"] = true;
  if (cfg.bos_token_id >= 0) gen["bos_token_id"] = cfg.bos_token_id;
  if (!cfg.eos_token_ids.empty()) {
    std::vector<int32_t> eos(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end());
    const int32_t im_end = tokenizer && folder_has_chat_tokens(*tokenizer) ? *tokenizer->special_token_id(tok::kImEnd) : -1;
    if (im_end >= 0 && std::find(eos.begin(), eos.end(), im_end) == eos.end()) eos.push_back(im_end);
    if (eos.size() == 1) gen["eos_token_id"] = eos[0]; else gen["eos_token_id"] = eos;
  }
  gen["transformers_version"] = "4.40.0";
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");

  if (!tokenizer) return;
  write_file_atomic(dir + "/tokenizer.json", tokenizer->to_hf_json());
  if (tokenizer->pretokenizer().is_gpt2()) {  // the slow GPT2Tokenizer's files
    write_file_atomic(dir + "/vocab.json", vocab_json(*tokenizer));
    write_file_atomic(dir + "/merges.txt", merges_txt(*tokenizer));
  }
  write_file_atomic(dir + "/tokenizer_config.json", tokenizer_config_json(*tokenizer, cfg));
}

}  // namespace

void write_hf_folder(const std::string& dir, const model::Gpt& gpt, const tok::Tokenizer* tokenizer, DType dtype,
                     const std::string& keep_from) {
  write_generated_files(dir, gpt, tokenizer, dtype);
  if (!keep_from.empty()) copy_companion_files(keep_from, dir);  // the source's own files win
}



}  // namespace chatforge::interop
