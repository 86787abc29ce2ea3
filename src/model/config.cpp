// Implementation of config.h.
#include "model/config.h"

#include <cstdint>

#include "core/error.h"
#include "core/num_range.h"

namespace chatforge::model {

void GptConfig::validate(const std::string& ctx) const {
  auto in = [&](const char* field, int v, const char* spec) {
    CF_CHECK(NumRange(spec).contains(v), "{}: {} must be in {}, got {}", ctx, field, spec, v);
  };
  in("n_layer", n_layer, config_range::kNLayer);
  in("n_head", n_head, config_range::kNHead);
  in("n_embd", n_embd, config_range::kNEmbd);
  CF_CHECK(n_embd % n_head == 0, "{}: n_embd ({}) must be a positive multiple of n_head ({})", ctx, n_embd, n_head);
  in("vocab_size", vocab_size, config_range::kVocabSize);
  in("n_positions", n_ctx, config_range::kNPositions);
}

size_t GptConfig::num_parameters() const {
  const size_t C = n_embd, L = n_layer;
  return static_cast<size_t>(vocab_size) * C + static_cast<size_t>(n_ctx) * C +
         L * (2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + 4 * C * C + 4 * C + 4 * C * C + C) + 2 * C;
}

nlohmann::json GptConfig::to_hf_json() const {
  nlohmann::json j = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"activation_function", "gelu_new"},
      {"n_layer", n_layer},
      {"n_head", n_head},
      {"n_embd", n_embd},
      {"vocab_size", vocab_size},
      {"n_positions", n_ctx},
      {"n_ctx", n_ctx},
      {"n_inner", nullptr},
      {"layer_norm_epsilon", 1e-5},
      {"initializer_range", 0.02},
      {"resid_pdrop", 0.0},
      {"embd_pdrop", 0.0},
      {"attn_pdrop", 0.0},
      {"scale_attn_weights", true},
      {"tie_word_embeddings", true},
      {"use_cache", true},
      {"torch_dtype", "float32"},
  };
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  return j;
}

namespace {
int get_int(const nlohmann::json& j, const char* key, const std::string& ctx, int fallback, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    CF_CHECK(!required, "{}: missing field '{}'", ctx, key);
    return fallback;
  }
  CF_CHECK(j[key].is_number_integer(), "{}: field '{}' must be an integer", ctx, key);
  // get<int>() would wrap: 2^32 + 300 would read as 300
  const bool fits = j[key].is_number_unsigned() ? j[key].get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                                                : j[key].get<int64_t>() >= INT32_MIN && j[key].get<int64_t>() <= INT32_MAX;
  CF_CHECK(fits, "{}: field '{}' is {}, outside the integer range", ctx, key, j[key].dump());
  return j[key].get<int>();
}
}  // namespace

GptConfig GptConfig::from_hf_json(const nlohmann::json& j, const std::string& ctx) {
  CF_CHECK(j.is_object(), "{}: config is not a JSON object", ctx);
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"]) {
      CF_CHECK(a.is_string(), "{}: field 'architectures' must hold strings", ctx);
      const std::string arch = a.get<std::string>();
      CF_CHECK(arch == "GPT2LMHeadModel" || arch == "GPT2Model",
               "{}: unsupported architecture '{}' in field 'architectures' (supported: GPT2LMHeadModel)", ctx, arch);
    }
  if (j.contains("model_type")) {
    CF_CHECK(j["model_type"].is_string(), "{}: field 'model_type' must be a string", ctx);
    const std::string mt = j["model_type"].get<std::string>();
    CF_CHECK(mt == "gpt2", "{}: unsupported architecture model_type '{}' (supported: gpt2)", ctx, mt);
  }
  if (j.contains("activation_function") && j["activation_function"].is_string()) {
    const std::string act = j["activation_function"].get<std::string>();
    CF_CHECK(act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast",
             "{}: unsupported activation_function '{}' (GPT-2 uses gelu_new)", ctx, act);
  }
  if (j.contains("n_inner") && !j["n_inner"].is_null()) {
    const int inner = get_int(j, "n_inner", ctx, 0, true);
    CF_CHECK(int64_t{inner} == 4 * int64_t{get_int(j, "n_embd", ctx, 768, true)},  // 64-bit: 4*n_embd may not fit an int
             "{}: n_inner other than 4*n_embd is not supported", ctx);
  }
  GptConfig c;
  c.n_layer = get_int(j, "n_layer", ctx, 12, true);
  c.n_head = get_int(j, "n_head", ctx, 12, true);
  c.n_embd = get_int(j, "n_embd", ctx, 768, true);
  c.vocab_size = get_int(j, "vocab_size", ctx, 50257, true);
  c.n_ctx = get_int(j, "n_positions", ctx, get_int(j, "n_ctx", ctx, 1024, false), false);
  c.bos_token_id = get_int(j, "bos_token_id", ctx, -1, false);
  c.eos_token_id = get_int(j, "eos_token_id", ctx, -1, false);
  c.validate(ctx);
  return c;
}

}  // namespace chatforge::model
