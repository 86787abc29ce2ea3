// Implementation of lora_io.h.
#include "model/lora_io.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/safetensors.h"

namespace chatforge::model {
namespace {

constexpr const char* kPrefix = "base_model.model.";

std::string adapter_shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool any_transposed(const GptConfig& cfg) {
  for (const LoraTarget& t : lora_targets(cfg))
    if (t.fan_in_fan_out) return true;
  return false;
}

}  // namespace

std::string peft_tensor_name(const ParamTensor& t) { return kPrefix + t.name; }

namespace {
// FNV-1a over 32-bit words, in blocks hashed in parallel then combined in order
uint64_t fnv_words(const uint32_t* bits, size_t n) {
  const size_t block = size_t{1} << 20, blocks = (n + block - 1) / block;
  std::vector<uint64_t> h(blocks);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < static_cast<int64_t>(blocks); ++b) {
    uint64_t x = 0xcbf29ce484222325ULL;
    for (size_t i = b * block; i < std::min(n, (b + 1) * block); ++i) x = (x ^ bits[i]) * 0x100000001b3ULL;
    h[b] = x;
  }
  uint64_t all = 0xcbf29ce484222325ULL;
  for (uint64_t x : h) all = (all ^ x) * 0x100000001b3ULL;
  return all;
}
}  // namespace

std::string lora_base_identity(const Gpt& model) {
  const GptConfig& c = model.config();
  const Arena& p = model.host_arena();
  uint64_t all = fnv_words(reinterpret_cast<const uint32_t*>(p.data()), p.size());
  const StoredBase* base = model.stored_base();
  if (base == nullptr) return fmt::format("{} L{} C{} V{} #{:016x}", c.model_type, c.n_layer, c.n_embd, c.vocab_size, all);
  // a reduced base: the fp32 tensors kept, then the stored matrices' bytes (scales included)
  all = (all ^ fnv_words(reinterpret_cast<const uint32_t*>(base->storage.data()), base->storage.size())) *
        0x100000001b3ULL;
  return fmt::format("{} L{} C{} V{} {} #{:016x}", c.model_type, c.n_layer, c.n_embd, c.vocab_size,
                     ops::weight_format_name(base->format), all);
}

void save_adapter(const std::string& dir, const Lora& lora, const std::string& base) {
  make_dirs(dir);
  const LoraConfig& lc = lora.config();
  nlohmann::json c;
  c["peft_type"] = "LORA";
  c["task_type"] = "CAUSAL_LM";
  c["base_model_name_or_path"] = base;
  c["r"] = lc.rank;
  c["lora_alpha"] = lc.alpha;
  c["lora_dropout"] = lc.dropout;
  c["target_modules"] = lora.target_names();
  c["fan_in_fan_out"] = any_transposed(lora.model_config());
  c["bias"] = "none";
  c["use_rslora"] = false;
  c["use_dora"] = false;
  c["init_lora_weights"] = true;
  c["inference_mode"] = true;
  c["modules_to_save"] = nullptr;
  c["layers_to_transform"] = nullptr;
  c["rank_pattern"] = nlohmann::json::object();
  c["alpha_pattern"] = nlohmann::json::object();
  c["revision"] = nullptr;
  SafeTensorsWriter w;
  w.set_metadata("format", "pt");
  const float* p = lora.params().data();
  for (const ParamTensor& t : lora.tensors()) w.add_f32(peft_tensor_name(t), {t.shape[0], t.shape[1]}, p + t.offset);
  w.write(dir + "/" + kAdapterWeightsFile);
  write_file_atomic(dir + "/" + kAdapterConfigFile, c.dump(2) + "\n");
}

LoraConfig load_adapter_config(const std::string& dir, std::string* base) {
  const std::string path = dir + "/" + kAdapterConfigFile;
  CF_CHECK(file_exists(path), "{}: no adapter there ({} is missing)", dir, kAdapterConfigFile);
  const nlohmann::json c = parse_json(read_file(path), path);
  CF_CHECK(c.is_object(), "{}: not a JSON object", path);
  auto str = [&](const char* k) -> std::string {
    if (!c.contains(k) || c[k].is_null()) return "";
    CF_CHECK(c[k].is_string(), "{}: field '{}' must be a string", path, k);
    return c[k].get<std::string>();
  };
  auto truthy = [&](const char* k) { return c.contains(k) && c[k].is_boolean() && c[k].get<bool>(); };
  auto empty_or_null = [&](const char* k) {
    return !c.contains(k) || c[k].is_null() || (c[k].is_object() && c[k].empty()) || (c[k].is_array() && c[k].empty());
  };
  const std::string type = str("peft_type");
  CF_CHECK(type == "LORA", "{}: field 'peft_type' is '{}', only LORA adapters are supported", path, type);
  CF_CHECK(!truthy("use_dora"), "{}: field 'use_dora': DoRA adapters are not supported", path);
  CF_CHECK(empty_or_null("rank_pattern") && empty_or_null("alpha_pattern"),
           "{}: fields 'rank_pattern'/'alpha_pattern': per-module ranks are not supported", path);
  CF_CHECK(empty_or_null("layers_to_transform"), "{}: field 'layers_to_transform' is not supported (every layer)",
           path);
  CF_CHECK(empty_or_null("modules_to_save"), "{}: field 'modules_to_save' is not supported (adapters only)", path);
  CF_CHECK(str("bias").empty() || str("bias") == "none", "{}: field 'bias' must be \"none\"", path);
  LoraConfig lc;
  CF_CHECK(c.contains("r") && c["r"].is_number_integer() && c["r"].get<int64_t>() >= 1 &&
               c["r"].get<int64_t>() <= 65536,
           "{}: field 'r' must be a positive integer", path);
  lc.rank = c["r"].get<int>();
  CF_CHECK(c.contains("lora_alpha") && c["lora_alpha"].is_number() && c["lora_alpha"].get<double>() > 0,
           "{}: field 'lora_alpha' must be a positive number", path);
  lc.alpha = c["lora_alpha"].get<float>();
  if (truthy("use_rslora")) lc.alpha = lc.alpha * std::sqrt(static_cast<float>(lc.rank));  // scale alpha / sqrt(r)
  lc.dropout = 0;
  if (c.contains("lora_dropout") && c["lora_dropout"].is_number()) lc.dropout = c["lora_dropout"].get<float>();
  CF_CHECK(lc.dropout >= 0 && lc.dropout < 1, "{}: field 'lora_dropout' must be in [0, 1)", path);
  CF_CHECK(c.contains("target_modules"), "{}: missing field 'target_modules'", path);
  const auto& tm = c["target_modules"];
  if (tm.is_string()) {
    const std::string s = tm.get<std::string>();
    CF_CHECK(s.find_first_of("*()[]|\\^$+?") == std::string::npos,
             "{}: field 'target_modules' is a regular expression ('{}'); only a list of module names is supported",
             path, s);
    lc.targets = {s};
  } else {
    CF_CHECK(tm.is_array() && !tm.empty(), "{}: field 'target_modules' must be a list of module names", path);
    for (const auto& n : tm) {
      CF_CHECK(n.is_string(), "{}: field 'target_modules' must hold strings", path);
      lc.targets.push_back(n.get<std::string>());
    }
  }
  if (base) *base = str("base_model_name_or_path");
  return lc;
}

void read_adapter_weights(const std::string& dir, Lora& lora) {
  const std::string path = dir + "/" + kAdapterWeightsFile;
  CF_CHECK(file_exists(path), "{}: no adapter weights ({} is missing)", dir, kAdapterWeightsFile);
  const SafeTensorsReader r(path);
  std::set<std::string> expected;
  const int r_rank = lora.config().rank;
  for (const ParamTensor& t : lora.tensors()) {
    const std::string name = peft_tensor_name(t);
    expected.insert(name);
    CF_CHECK(r.has(name), "{}: missing tensor {} (the adapter's target_modules name it on this base)", path, name);
    const SafeTensorInfo& info = r.get(name);
    const std::vector<int64_t> want = {t.shape[0], t.shape[1]};
    if (info.shape != want) {
      const bool is_a = name.find(".lora_A.") != std::string::npos;
      const bool rank_mismatch = info.shape.size() == 2 && (is_a ? info.shape[0] != r_rank : info.shape[1] != r_rank);
      fail("{}: tensor {} has shape {}, this base needs {} ({})", path, name, adapter_shape_str(info.shape), adapter_shape_str(want),
           rank_mismatch ? fmt::format("rank mismatch: adapter_config.json says r = {}", r_rank)
                         : "the adapter was trained on a base of another shape");
    }
    r.read_f32(name, want, lora.params().data() + t.offset);
  }
  for (const auto& [name, info] : r.tensors())
    CF_CHECK(expected.count(name) != 0,
             "{}: tensor {} names no adapter of this {} base ({} layers; target_modules {}): an adapter for another "
             "architecture or shape",
             path, name, lora.model_config().model_type, lora.model_config().n_layer,
             nlohmann::json(lora.target_names()).dump());
  lora.push_params();
}

void merge_adapter(Gpt& model, const Lora& lora, float scale) {
  const GptConfig& c = model.config();
  const GptConfig& lc = lora.model_config();
  CF_CHECK(c.n_layer == lc.n_layer && c.n_embd == lc.n_embd && c.qkv_dim() == lc.qkv_dim() && c.ffn() == lc.ffn() &&
               c.model_type == lc.model_type,
           "LoRA merge: the adapter was made for another base ({} L{} C{}, this is {} L{} C{})", lc.model_type,
           lc.n_layer, lc.n_embd, c.model_type, c.n_layer, c.n_embd);
  const char* site_tensor[kLoraSites] = {"qkvw", "attprojw", "fcw", "fcprojw"};
  const int64_t r = lora.config().rank;
  const float s = scale * lora.config().scale();
  const float* p = lora.params().data();
  for (const LoraModule& m : lora.modules()) {
    const ParamTensor& t = model.layout().find(site_tensor[static_cast<int>(m.target.site)]);  // (L, U, in)
    const int64_t in = m.target.in, rows = m.target.rows;
    float* w = model.params().data() + t.offset + (m.layer * t.shape[1] + m.target.row0) * in;  // (rows, in)
    const float* a = p + m.a_off;  // (r, in)
    const float* b = p + m.b_off;  // (rows, r)
    // W (rows, in) += s * B (rows, r) @ A (r, in)
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < r; ++k) {
        const float bik = s * b[i * r + k];
        const float* ak = a + k * in;
        float* wi = w + i * in;
        for (int64_t j = 0; j < in; ++j) wi[j] += bik * ak[j];
      }
  }
  model.push_params();
}

LoraSpec parse_lora_spec(const std::string& spec) {
  LoraSpec out{spec, 1.0f};
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0) return out;
  const std::string tail = spec.substr(colon + 1);
  char* end = nullptr;
  const float v = std::strtof(tail.c_str(), &end);
  if (tail.empty() || end != tail.c_str() + tail.size()) return out;  // not a number: part of the path
  CF_CHECK(std::isfinite(v), "--lora {}: the scale must be a finite number", spec);
  out.dir = spec.substr(0, colon);
  out.scale = v;
  return out;
}

void apply_lora_specs(Gpt& model, const std::vector<std::string>& specs) {
  for (const std::string& spec : specs) {
    const LoraSpec s = parse_lora_spec(spec);
    const auto lora = load_adapter(s.dir, model.config());
    merge_adapter(model, *lora, s.scale);
  }
}

std::unique_ptr<Lora> load_adapter(const std::string& dir, const GptConfig& cfg,
                                   std::shared_ptr<ops::Backend> backend) {
  LoraConfig lc = load_adapter_config(dir);
  lc.dropout = 0;  // inference
  std::unique_ptr<Lora> lora;
  try {
    lora = std::make_unique<Lora>(cfg, lc, std::move(backend));
  } catch (const Error& e) {
    fail("{}/{}: {}", dir, kAdapterConfigFile, e.what());
  }
  read_adapter_weights(dir, *lora);
  return lora;
}

}  // namespace chatforge::model
