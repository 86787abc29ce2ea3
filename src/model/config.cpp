// Implementation of config.h.
#include "model/config.h"

#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "core/num_range.h"

namespace chatforge::model {
namespace {

using ordered_json = nlohmann::ordered_json;

bool is_llama_type(const std::string& t) { return t == "llama" || t == "mistral" || t == "qwen2" || t == "qwen3"; }

const char* architecture_of(const std::string& model_type) {
  if (model_type == "llama") return "LlamaForCausalLM";
  if (model_type == "mistral") return "MistralForCausalLM";
  if (model_type == "qwen2") return "Qwen2ForCausalLM";
  if (model_type == "qwen3") return "Qwen3ForCausalLM";
  return "GPT2LMHeadModel";
}

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

double get_number(const nlohmann::json& j, const char* key, const std::string& ctx, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  CF_CHECK(j[key].is_number(), "{}: field '{}' must be a number", ctx, key);
  const double v = j[key].get<double>();
  CF_CHECK(std::isfinite(v), "{}: field '{}' must be finite", ctx, key);
  return v;
}

bool get_bool(const nlohmann::json& j, const char* key, const std::string& ctx, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  CF_CHECK(j[key].is_boolean(), "{}: field '{}' must be true or false", ctx, key);
  return j[key].get<bool>();
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& ctx, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  CF_CHECK(j[key].is_string(), "{}: field '{}' must be a string", ctx, key);
  return j[key].get<std::string>();
}

// eos_token_id: one id, or a list (Llama 3 instruct: [128001, 128008, 128009]).
std::vector<int> get_ids(const nlohmann::json& j, const char* key, const std::string& ctx) {
  if (!j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_array()) return {get_int(j, key, ctx, -1, true)};
  std::vector<int> ids;
  for (size_t i = 0; i < j[key].size(); ++i) {
    const nlohmann::json one = {{"id", j[key][i]}};
    ids.push_back(get_int(one, "id", fmt::format("{}: field '{}[{}]'", ctx, key, i), -1, true));
  }
  return ids;
}

void check_architectures(const nlohmann::json& j, const std::string& model_type, const std::string& ctx) {
  if (!j.contains("architectures") || !j["architectures"].is_array()) return;
  const std::string want = architecture_of(model_type);
  for (const auto& a : j["architectures"]) {
    CF_CHECK(a.is_string(), "{}: field 'architectures' must hold strings", ctx);
    const std::string arch = a.get<std::string>();
    const bool ok = arch == want || (model_type == "gpt2" && arch == "GPT2Model");
    CF_CHECK(ok, "{}: unsupported architecture '{}' in field 'architectures' (supported: GPT2LMHeadModel, "
                 "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)", ctx, arch);
  }
}

RopeScaling parse_rope_scaling(const nlohmann::json& j, const std::string& ctx) {
  RopeScaling r;
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return r;
  const nlohmann::json& s = j["rope_scaling"];
  const std::string c = ctx + ": field 'rope_scaling'";
  CF_CHECK(s.is_object(), "{} must be an object or null", c);
  r.type = get_string(s, "rope_type", c, get_string(s, "type", c, "default"));
  if (r.type == "default") r.type = "";
  CF_CHECK(r.type.empty() || r.type == "linear" || r.type == "dynamic" || r.type == "llama3" || r.type == "yarn",
           "{}: rope type '{}' is not supported (supported: default, linear, dynamic, llama3, yarn)", c, r.type);
  r.factor = get_number(s, "factor", c, 1.0);
  CF_CHECK(r.factor >= 1.0, "{}: factor must be >= 1, got {}", c, r.factor);
  r.low_freq_factor = get_number(s, "low_freq_factor", c, 1.0);
  r.high_freq_factor = get_number(s, "high_freq_factor", c, 4.0);
  r.original_max_positions = get_int(s, "original_max_position_embeddings", c, 0, false);
  r.beta_fast = get_number(s, "beta_fast", c, 32.0);
  r.beta_slow = get_number(s, "beta_slow", c, 1.0);
  r.attention_factor = get_number(s, "attention_factor", c, 0.0);
  if (r.type == "llama3") {
    CF_CHECK(r.original_max_positions > 0, "{}: llama3 scaling needs original_max_position_embeddings", c);
    CF_CHECK(r.high_freq_factor > r.low_freq_factor, "{}: high_freq_factor must exceed low_freq_factor", c);
  }
  return r;
}

ordered_json rope_scaling_json(const RopeScaling& r) {
  if (r.type.empty()) return nullptr;
  ordered_json s = {{"rope_type", r.type}, {"factor", r.factor}};
  if (r.type == "llama3") {
    s["low_freq_factor"] = r.low_freq_factor;
    s["high_freq_factor"] = r.high_freq_factor;
  }
  if (r.original_max_positions > 0) s["original_max_position_embeddings"] = r.original_max_positions;
  if (r.type == "yarn") {
    s["beta_fast"] = r.beta_fast;
    s["beta_slow"] = r.beta_slow;
    if (r.attention_factor > 0) s["attention_factor"] = r.attention_factor;
  }
  return s;
}

GptConfig gpt2_from_hf(const nlohmann::json& j, const std::string& ctx) {
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
  c.norm_eps = get_number(j, "layer_norm_epsilon", ctx, 1e-5);
  return c;
}

GptConfig llama_from_hf(const nlohmann::json& j, const std::string& mt, const std::string& ctx) {
  GptConfig c;
  c.family = Family::kLlama;
  c.model_type = mt;
  const std::string act = get_string(j, "hidden_act", ctx, "silu");
  CF_CHECK(act == "silu" || act == "swish", "{}: unsupported hidden_act '{}' (the Llama family uses silu)", ctx, act);
  CF_CHECK(!get_bool(j, "mlp_bias", ctx, false), "{}: mlp_bias true is not supported", ctx);
  c.n_layer = get_int(j, "num_hidden_layers", ctx, 0, true);
  c.n_head = get_int(j, "num_attention_heads", ctx, 0, true);
  c.n_embd = get_int(j, "hidden_size", ctx, 0, true);
  c.vocab_size = get_int(j, "vocab_size", ctx, 0, true);
  c.n_ctx = get_int(j, "max_position_embeddings", ctx, 2048, false);
  c.n_kv_head = get_int(j, "num_key_value_heads", ctx, c.n_head, false);
  c.head_dim = get_int(j, "head_dim", ctx, 0, false);
  if (c.head_dim * c.n_head == c.n_embd) c.head_dim = 0;  // the default: keep it implicit
  c.ffn_dim = get_int(j, "intermediate_size", ctx, 0, true);
  c.norm_eps = get_number(j, "rms_norm_eps", ctx, 1e-6);
  c.rope_theta = get_number(j, "rope_theta", ctx, 10000.0);
  c.rope_scaling = parse_rope_scaling(j, ctx);
  c.tie_embeddings = get_bool(j, "tie_word_embeddings", ctx, false);
  const bool attention_bias = get_bool(j, "attention_bias", ctx, false);
  c.qkv_bias = mt == "qwen2" || (mt != "mistral" && attention_bias);
  c.o_bias = (mt == "llama" || mt == "qwen3") && attention_bias;
  c.qk_norm = mt == "qwen3";
  const int window = get_int(j, "sliding_window", ctx, 0, false);
  const bool windowed = mt == "mistral" || get_bool(j, "use_sliding_window", ctx, false);
  CF_CHECK(!windowed || window <= 0 || window >= c.n_ctx,
           "{}: sliding_window {} is shorter than max_position_embeddings {}: sliding-window attention is not "
           "supported (set max_position_embeddings to {} to use the model within its window)", ctx, window, c.n_ctx,
           window);
  return c;
}

}  // namespace

void GptConfig::validate(const std::string& ctx) const {
  auto in = [&](const char* field, int v, const char* spec) {
    CF_CHECK(NumRange(spec).contains(v), "{}: {} must be in {}, got {}", ctx, field, spec, v);
  };
  in("n_layer", n_layer, config_range::kNLayer);
  in("n_head", n_head, config_range::kNHead);
  in("n_embd", n_embd, config_range::kNEmbd);
  in("vocab_size", vocab_size, config_range::kVocabSize);
  in("n_positions", n_ctx, config_range::kNPositions);
  if (head_dim == 0)
    CF_CHECK(n_embd % n_head == 0, "{}: n_embd ({}) must be a positive multiple of n_head ({})", ctx, n_embd, n_head);
  else
    in("head_dim", head_dim, config_range::kHeadDim);
  CF_CHECK(n_kv_head >= 0 && n_kv_head <= n_head && n_head % kv_heads() == 0,
           "{}: num_key_value_heads ({}) must divide num_attention_heads ({})", ctx, kv_heads(), n_head);
  if (ffn_dim != 0) in("intermediate_size", ffn_dim, config_range::kFfnDim);
  CF_CHECK(norm_eps > 0 && norm_eps < 1, "{}: the norm epsilon must be in (0, 1), got {}", ctx, norm_eps);
  if (llama()) {
    CF_CHECK(head_size() % 2 == 0, "{}: the head size ({}) must be even for rotary embeddings", ctx, head_size());
    CF_CHECK(rope_theta > 1, "{}: rope_theta must be > 1, got {}", ctx, rope_theta);
    CF_CHECK(rope_scaling.type != "dynamic" || rope_scaling.original_max_positions <= 0 ||
                 n_ctx <= rope_scaling.original_max_positions,
             "{}: dynamic rope scaling beyond original_max_position_embeddings is not supported", ctx);
  } else {
    CF_CHECK(n_kv_head == 0 || n_kv_head == n_head, "{}: GPT-2 has as many key/value heads as heads", ctx);
    CF_CHECK(head_dim == 0 && (ffn_dim == 0 || ffn_dim == 4 * n_embd), "{}: GPT-2's head and MLP sizes follow n_embd",
             ctx);
  }
}

size_t GptConfig::num_parameters() const {
  const size_t C = n_embd, L = n_layer, V = vocab_size, QKV = qkv_dim(), Q = q_dim(), F = ffn(), HS = head_size();
  size_t per_layer = C * QKV + Q * C + ffn_up_rows() * C + F * C;  // the four matrices
  per_layer += (has_norm_bias() ? 4 : 2) * C;                       // two norms
  if (has_qkv_bias()) per_layer += QKV;
  if (has_out_bias()) per_layer += C;
  if (has_mlp_bias()) per_layer += ffn_up_rows() + C;
  if (qk_norm) per_layer += 2 * HS;
  size_t total = V * C + L * per_layer + (has_norm_bias() ? 2 : 1) * C;
  if (learned_positions()) total += static_cast<size_t>(n_ctx) * C;
  if (!tie_embeddings) total += V * C;
  return total;
}

std::vector<float> GptConfig::rope_inv_freq() const {
  const int dim = head_size(), half = dim / 2;
  const RopeScaling& r = rope_scaling;
  std::vector<float> inv(half);
  // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
  for (int i = 0; i < half; ++i)
    inv[i] = 1.0f / std::pow(static_cast<float>(rope_theta), static_cast<float>(2 * i) / static_cast<float>(dim));
  if (r.type == "linear") {
    for (float& f : inv) f = static_cast<float>(f / r.factor);
  } else if (r.type == "llama3") {
    const double old_len = r.original_max_positions, pi = 3.14159265358979323846;
    const double low_wavelen = old_len / r.low_freq_factor, high_wavelen = old_len / r.high_freq_factor;
    for (float& f : inv) {
      const double wavelen = 2 * pi / f;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / r.factor);  // low frequencies: interpolated
      } else if (wavelen >= high_wavelen) {     // medium: smoothly between
        const double smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = static_cast<float>((1 - smooth) * f / r.factor + smooth * f);
      }
    }
  } else if (r.type == "yarn") {
    const double base = rope_theta, orig = r.original_max_positions > 0 ? r.original_max_positions : n_ctx;
    const double pi = 3.14159265358979323846;
    auto correction_dim = [&](double rotations) {
      return dim * std::log(orig / (rotations * 2 * pi)) / (2 * std::log(base));
    };
    const double low = std::max(0.0, std::floor(correction_dim(r.beta_fast)));
    double high = std::min(dim - 1.0, std::ceil(correction_dim(r.beta_slow)));
    if (low == high) high += 0.001;
    for (int i = 0; i < half; ++i) {
      const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      const double extrapolation = 1.0 - ramp;  // high frequencies keep their rotation
      inv[i] = static_cast<float>(inv[i] / r.factor * (1 - extrapolation) + inv[i] * extrapolation);
    }
  }
  return inv;
}

float GptConfig::rope_attention_scale() const {
  if (rope_scaling.type != "yarn") return 1.0f;
  if (rope_scaling.attention_factor > 0) return static_cast<float>(rope_scaling.attention_factor);
  return static_cast<float>(rope_scaling.factor <= 1 ? 1.0 : 0.1 * std::log(rope_scaling.factor) + 1.0);
}

ordered_json GptConfig::to_hf_json() const {
  ordered_json j;
  j["architectures"] = {architecture_of(model_type)};
  j["model_type"] = model_type;
  if (!llama()) {
    j["activation_function"] = "gelu_new";
    j["n_layer"] = n_layer;
    j["n_head"] = n_head;
    j["n_embd"] = n_embd;
    j["vocab_size"] = vocab_size;
    j["n_positions"] = n_ctx;
    j["n_ctx"] = n_ctx;
    j["n_inner"] = nullptr;
    j["layer_norm_epsilon"] = norm_eps;
    j["initializer_range"] = 0.02;
    for (const char* k : {"resid_pdrop", "embd_pdrop", "attn_pdrop"}) j[k] = 0.0;
    j["scale_attn_weights"] = true;
    j["tie_word_embeddings"] = true;
    j["use_cache"] = true;
  } else {
    j["hidden_act"] = "silu";
    j["hidden_size"] = n_embd;
    j["intermediate_size"] = ffn();
    j["num_hidden_layers"] = n_layer;
    j["num_attention_heads"] = n_head;
    j["num_key_value_heads"] = kv_heads();
    j["head_dim"] = head_size();
    j["max_position_embeddings"] = n_ctx;
    j["rms_norm_eps"] = norm_eps;
    j["rope_theta"] = rope_theta;
    j["rope_scaling"] = rope_scaling_json(rope_scaling);
    if (model_type != "mistral" && model_type != "qwen2") j["attention_bias"] = qkv_bias;
    j["tie_word_embeddings"] = tie_embeddings;
    j["vocab_size"] = vocab_size;
  }
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  if (eos_token_ids.size() > 1) j["eos_token_id"] = eos_token_ids;
  j["torch_dtype"] = "float32";
  for (const auto& [k, v] : hf_extra.items())
    if (!j.contains(k)) j[k] = v;
  return j;
}

GptConfig GptConfig::from_hf_json(const nlohmann::json& j, const std::string& ctx) {
  CF_CHECK(j.is_object(), "{}: config is not a JSON object", ctx);
  const std::string mt = get_string(j, "model_type", ctx, "gpt2");
  check_architectures(j, mt, ctx);
  CF_CHECK(mt == "gpt2" || is_llama_type(mt),
           "{}: unsupported architecture model_type '{}' (supported: gpt2, llama, mistral, qwen2, qwen3)", ctx, mt);
  GptConfig c = mt == "gpt2" ? gpt2_from_hf(j, ctx) : llama_from_hf(j, mt, ctx);
  c.bos_token_id = get_int(j, "bos_token_id", ctx, -1, false);
  c.eos_token_ids = get_ids(j, "eos_token_id", ctx);
  for (const auto& [k, v] : j.items()) c.hf_extra[k] = v;  // what to_hf_json does not write is written back
  c.validate(ctx);
  return c;
}

GptConfig GptConfig::for_arch(const std::string& arch, int n_layer, int n_head, int n_embd, int vocab_size,
                              int n_ctx) {
  GptConfig c;
  c.n_layer = n_layer, c.n_head = n_head, c.n_embd = n_embd, c.vocab_size = vocab_size, c.n_ctx = n_ctx;
  if (arch == "gpt2") return c;
  CF_CHECK(is_llama_type(arch), "--arch must be gpt2, llama, mistral, qwen2 or qwen3, got '{}'", arch);
  c.family = Family::kLlama;
  c.model_type = arch;
  // the modern recipe for a from-scratch model: 4 query heads per key/value head where
  // they divide, an 8/3 C SwiGLU rounded to 64 (the same multiply-adds as GPT-2's 4C GELU),
  // rope_theta 10000 (short contexts), tied embeddings for small models
  c.n_kv_head = n_head % 4 == 0 ? n_head / 4 : n_head;
  c.ffn_dim = (8 * n_embd / 3 + 63) / 64 * 64;
  c.norm_eps = 1e-6;
  c.tie_embeddings = true;
  c.qkv_bias = arch == "qwen2";
  c.qk_norm = arch == "qwen3";
  return c;
}

GptConfig new_model_config(const GptConfig& sizes, const ArchOptions& a) {
  GptConfig c = GptConfig::for_arch(a.arch, sizes.n_layer, sizes.n_head, sizes.n_embd, sizes.vocab_size, sizes.n_ctx);
  if (!c.llama()) {
    CF_CHECK(a.n_kv_head == 0 && a.head_dim == 0 && a.ffn_dim == 0 && a.rope_theta == 0 && !a.untied_head,
             "--n-kv-head, --head-dim, --ffn-dim, --rope-theta and --untied-head are for the Llama family "
             "(--arch llama, mistral, qwen2 or qwen3)");
  } else {
    if (a.n_kv_head > 0) c.n_kv_head = a.n_kv_head;
    if (a.head_dim > 0) c.head_dim = a.head_dim == c.n_embd / std::max(1, c.n_head) ? 0 : a.head_dim;
    if (a.ffn_dim > 0) c.ffn_dim = a.ffn_dim;
    if (a.rope_theta > 0) c.rope_theta = a.rope_theta;
    if (a.untied_head) c.tie_embeddings = false;
  }
  c.validate("model flags");
  return c;
}

}  // namespace chatforge::model
