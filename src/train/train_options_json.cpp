// Implementation of train_options_json.h.
#include "train/train_options_json.h"

#include "core/error.h"

namespace chatforge::train {

nlohmann::json options_to_json(const TrainOptions& o) {
  return {
      {"stage", o.stage},
      {"data", o.data_dir},
      {"out", o.out_dir},
      {"init", o.init},
      {"tokenizer", o.tokenizer},
      {"model", o.model.to_hf_json()},
      {"depth", o.depth},
      {"batch_size", o.batch_size},
      {"seq_len", o.seq_len},
      {"total_batch_tokens", o.total_batch_tokens},
      {"steps", o.steps},
      {"epochs", o.epochs},
      {"lr", o.lr},
      {"warmup", o.warmup},
      {"lr_schedule", o.lr_schedule},
      {"min_lr_ratio", o.min_lr_ratio},
      {"beta1", o.adamw.beta1},
      {"beta2", o.adamw.beta2},
      {"eps", o.adamw.eps},
      {"weight_decay", o.adamw.weight_decay},
      {"grad_clip", o.adamw.grad_clip},
      {"seed", std::to_string(o.seed)},
      {"loader", o.loader},
      {"align_docs", o.align_docs},
      {"eval_every", o.eval_every},
      {"eval_batches", o.eval_batches},
      {"save_every", o.save_every},
      {"keep", o.keep},
      {"patience", o.patience},
      {"sample_prompts", o.sample_prompts},
      {"sample_tokens", o.sample_tokens},
      {"log_every", o.log_every},
      {"max_bad_steps", o.max_bad_steps},
  };
}

TrainOptions options_from_json(const nlohmann::json& j, const std::string& ctx) {
  TrainOptions o;
  try {
    o.stage = j.at("stage");
    o.data_dir = j.at("data");
    o.out_dir = j.at("out");
    o.init = j.at("init");
    o.tokenizer = j.at("tokenizer");
    o.model = model::GptConfig::from_hf_json(j.at("model"), ctx + ": model");
    o.depth = j.at("depth");
    o.batch_size = j.at("batch_size");
    o.seq_len = j.at("seq_len");
    o.total_batch_tokens = j.at("total_batch_tokens");
    o.steps = j.at("steps");
    o.epochs = j.at("epochs");
    o.lr = j.at("lr");
    o.warmup = j.at("warmup");
    o.lr_schedule = j.at("lr_schedule");
    o.min_lr_ratio = j.at("min_lr_ratio");
    o.adamw.beta1 = j.at("beta1");
    o.adamw.beta2 = j.at("beta2");
    o.adamw.eps = j.at("eps");
    o.adamw.weight_decay = j.at("weight_decay");
    o.adamw.grad_clip = j.at("grad_clip");
    o.seed = std::stoull(j.at("seed").get<std::string>());
    o.loader = j.at("loader");
    o.align_docs = j.at("align_docs");
    o.eval_every = j.at("eval_every");
    o.eval_batches = j.at("eval_batches");
    o.save_every = j.at("save_every");
    o.keep = j.at("keep");
    o.patience = j.at("patience");
    o.sample_prompts = j.at("sample_prompts").get<std::vector<std::string>>();
    o.sample_tokens = j.at("sample_tokens");
    o.log_every = j.at("log_every");
    o.max_bad_steps = j.at("max_bad_steps");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: incomplete or invalid run options: {}", ctx, e.what());
  }
  return o;
}

}  // namespace chatforge::train
