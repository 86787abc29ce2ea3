// Implementation of train_options_json.h.
#include "train/train_options_json.h"

#include <charconv>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace chatforge::train {

namespace {
// Every persisted option once: (JSON key, member). seed (a 64-bit integer, kept as a
// string so JSON readers do not round it) and the model config are handled apart.
#define CF_TRAIN_OPTIONS(X)                                                                              \
  X("stage", stage) X("data", data_dir) X("out", out_dir) X("init", init) X("tokenizer", tokenizer)     \
  X("depth", depth) X("batch_size", batch_size) X("seq_len", seq_len)                                   \
  X("total_batch_tokens", total_batch_tokens) X("steps", steps) X("epochs", epochs) X("lr", lr)         \
  X("warmup", warmup) X("lr_schedule", lr_schedule) X("min_lr_ratio", min_lr_ratio)                     \
  X("beta1", adamw.beta1) X("beta2", adamw.beta2) X("eps", adamw.eps)                                   \
  X("weight_decay", adamw.weight_decay) X("grad_clip", adamw.grad_clip) X("loader", loader)             \
  X("align_docs", align_docs) X("eval_every", eval_every) X("eval_batches", eval_batches)               \
  X("save_every", save_every) X("keep", keep) X("patience", patience)                                   \
  X("sample_prompts", sample_prompts) X("sample_tokens", sample_tokens) X("log_every", log_every)       \
  X("max_bad_steps", max_bad_steps)
}  // namespace

nlohmann::json options_to_json(const TrainOptions& o) {
  nlohmann::json j;
#define CF_PUT(key, member) j[key] = o.member;
  CF_TRAIN_OPTIONS(CF_PUT)
#undef CF_PUT
  j["model"] = o.model.to_hf_json();
  j["seed"] = std::to_string(o.seed);
  if (o.stage == "dpo" || o.stage == "kto")
    j["preference"] = {{"loss", o.pref.loss}, {"beta", o.pref.beta}, {"label_smoothing", o.pref.label_smoothing},
                       {"desirable_weight", o.pref.desirable_weight},
                       {"undesirable_weight", o.pref.undesirable_weight}, {"ref", o.ref},
                       {"ref_cache", o.ref_cache}};
  if (o.lora_rank > 0)
    j["lora"] = {{"rank", o.lora_rank}, {"alpha", o.lora_alpha}, {"dropout", o.lora_dropout},
                 {"targets", o.lora_targets}, {"base_dtype", o.base_dtype.empty() ? "f32" : o.base_dtype}};
  return j;
}

namespace {

// One field of a saved run's options, typed and range-safe, its errors naming the field.
template <typename T>
void get_field(const nlohmann::json& j, const char* key, T& out, const std::string& ctx) {
  CF_CHECK(j.contains(key), "{}: missing field 'options.{}'", ctx, key);
  const nlohmann::json& v = j[key];
  auto bad = [&](const char* want) {
    fail("{}: field 'options.{}' must be {}, got {}", ctx, key, want, v.dump(-1, ' ', false,
                                                                            nlohmann::json::error_handler_t::replace));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) bad("true or false");
    out = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) bad("an integer");
    const bool fits = v.is_number_unsigned()
                          ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                          : v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                v.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max());
    if (!fits) bad("an integer in range");
    out = v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) bad("a number");
    out = v.get<T>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) bad("a string");
    out = v.get<std::string>();
  } else {  // std::vector<std::string>
    if (!v.is_array()) bad("an array of strings");
    out.clear();
    for (const auto& e : v) {
      if (!e.is_string()) bad("an array of strings");
      out.push_back(e.get<std::string>());
    }
  }
}

}  // namespace

TrainOptions options_from_json(const nlohmann::json& j, const std::string& ctx) {
  CF_CHECK(j.is_object(), "{}: field 'options' must be an object", ctx);
  TrainOptions o;
#define CF_GET(key, member) get_field(j, key, o.member, ctx);
  CF_TRAIN_OPTIONS(CF_GET)
#undef CF_GET
  CF_CHECK(j.contains("model"), "{}: missing field 'options.model'", ctx);
  o.model = model::GptConfig::from_hf_json(j["model"], ctx + ": field 'options.model'");
  std::string seed;
  get_field(j, "seed", seed, ctx);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), v);
  CF_CHECK(!seed.empty() && ec == std::errc() && ptr == seed.data() + seed.size(),
           "{}: field 'options.seed' must be a decimal 64-bit integer in a string, got \"{}\"", ctx, seed);
  o.seed = v;
  if (j.contains("preference")) {  // dpo/kto runs only
    const nlohmann::json& p = j["preference"];
    CF_CHECK(p.is_object(), "{}: field 'options.preference' must be an object", ctx);
    get_field(p, "loss", o.pref.loss, ctx);
    get_field(p, "beta", o.pref.beta, ctx);
    get_field(p, "label_smoothing", o.pref.label_smoothing, ctx);
    get_field(p, "desirable_weight", o.pref.desirable_weight, ctx);
    get_field(p, "undesirable_weight", o.pref.undesirable_weight, ctx);
    get_field(p, "ref", o.ref, ctx);
    if (p.contains("ref_cache")) get_field(p, "ref_cache", o.ref_cache, ctx);  // runs saved before it existed lack it
  }
  if (j.contains("lora")) {  // runs without adapters have no "lora" object
    const nlohmann::json& l = j["lora"];
    CF_CHECK(l.is_object(), "{}: field 'options.lora' must be an object", ctx);
    get_field(l, "rank", o.lora_rank, ctx);
    get_field(l, "alpha", o.lora_alpha, ctx);
    get_field(l, "dropout", o.lora_dropout, ctx);
    get_field(l, "targets", o.lora_targets, ctx);
    o.base_dtype = "f32";  // runs saved before --base-dtype existed had an fp32 base
    if (l.contains("base_dtype")) get_field(l, "base_dtype", o.base_dtype, ctx);
  }
  return o;
}

}  // namespace chatforge::train
