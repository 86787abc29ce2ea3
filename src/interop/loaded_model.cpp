// Implementation of loaded_model.h.
#include "interop/loaded_model.h"
#include "model/lora_io.h"

#include <filesystem>

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "model/checkpoint.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {

LoadedModel load_model_and_tokenizer(const LoadOptions& o) {
  CF_CHECK(is_directory(o.model_dir), "model directory {} does not exist", o.model_dir);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  LoadedModel lm;
  lm.weights = o.weights;
  const std::string tok_path = o.tokenizer.empty() ? o.model_dir : o.tokenizer;
  CF_CHECK(!o.tokenizer.empty() || file_exists(o.model_dir + "/tokenizer.json") ||
               file_exists(o.model_dir + "/vocab.json"),
           "{} has no tokenizer.json: pass --tokenizer DIR", o.model_dir);
  lm.tokenizer = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(tok_path));
  lm.model = model::load_model(o.model_dir);
  model::apply_lora_specs(*lm.model, o.lora);  // merged: generation runs at the base's speed
  CF_CHECK(lm.tokenizer->vocab_size() <= lm.model->config().vocab_size,
           "tokenizer {} has {} tokens but the model's vocabulary is {}", tok_path, lm.tokenizer->vocab_size(),
           lm.model->config().vocab_size);
  lm.stop_ids = stop_ids_of(o.model_dir, lm.model->config(), *lm.tokenizer);
  const std::string tok_dir = is_directory(tok_path) ? tok_path : std::filesystem::path(tok_path).parent_path().string();
  lm.chat = tok::load_chat_format(*lm.tokenizer, {tok_dir.empty() ? "." : tok_dir, o.model_dir});
  // the template's end of turn ends an answer too (e.g. <|eot_id|> for a Llama 3 chat template)
  if (const int32_t id = lm.chat ? lm.chat->end_of_turn_id() : -1;
      id >= 0 && std::find(lm.stop_ids.begin(), lm.stop_ids.end(), id) == lm.stop_ids.end())
    lm.stop_ids.push_back(id);
  return lm;
}

namespace {

// generation_config.json's eos_token_id: absent, one id or a list.
std::vector<int32_t> generation_eos_ids(const std::string& path) {
  if (!file_exists(path)) return {};
  nlohmann::json j;
  try {
    j = parse_json(read_file(path), path);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
  if (!j.is_object() || !j.contains("eos_token_id") || j["eos_token_id"].is_null()) return {};
  const nlohmann::json& e = j["eos_token_id"];
  std::vector<int32_t> ids;
  for (const nlohmann::json& v : e.is_array() ? e : nlohmann::json::array({e})) {
    CF_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX,
             "{}: field 'eos_token_id' must hold token ids, got {}", path, v.dump());
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

}  // namespace

std::vector<int32_t> stop_ids_of(const std::string& model_dir, const model::GptConfig& cfg, const tok::Tokenizer& t) {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id, const std::string& from) {
    CF_CHECK(id >= 0 && id < cfg.vocab_size, "{}: end-of-sequence id {} is outside the vocabulary (size {})", from,
             id, cfg.vocab_size);
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
  };
  for (const char* sp : {tok::kEndOfText, tok::kImEnd})
    if (auto id = t.special_token_id(sp)) add(*id, "the tokenizer");
  for (int id : cfg.eos_token_ids) add(id, model_dir + "/config.json");
  const std::string gen = model_dir + "/generation_config.json";
  for (int32_t id : generation_eos_ids(gen)) add(id, gen);
  return ids;
}

bool use_plain_chat_if_none(LoadedModel& lm, const std::string& model_dir) {
  if (lm.chat) return false;
  lm.chat = std::make_unique<tok::ChatFormat>(tok::ChatFormat::plain(*lm.tokenizer));
  std::fprintf(stderr,
               "warning: %s has no chat template (no chat_template in tokenizer_config.json, no <|im_start|>/<|im_end|> "
               "tokens); chats use the plain text template \"User: ...\\nAssistant:\" (docs/chat-templates.md)\n",
               model_dir.c_str());
  return true;
}

bool has_chat_tokens(const tok::Tokenizer& t) {
  return t.special_token_id(tok::kImStart).has_value() && t.special_token_id(tok::kImEnd).has_value();
}

}  // namespace chatforge::interop
