// Implementation of train_options_json.h.
#include "train/train_options_json.h"

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
  return j;
}

TrainOptions options_from_json(const nlohmann::json& j, const std::string& ctx) {
  TrainOptions o;
  try {
#define CF_GET(key, member) j.at(key).get_to(o.member);
    CF_TRAIN_OPTIONS(CF_GET)
#undef CF_GET
    o.model = model::GptConfig::from_hf_json(j.at("model"), ctx + ": model");
    o.seed = std::stoull(j.at("seed").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: incomplete or invalid run options: {}", ctx, e.what());
  }
  return o;
}

}  // namespace chatforge::train
