// Implementation of train_option_ranges.h.
#include "train/train_option_ranges.h"

#include "core/error.h"

namespace chatforge::train {

const std::vector<TrainOptionRange>& train_option_ranges() {
#define CF_RANGE(flag, key, spec, expr) \
  TrainOptionRange { flag, key, NumRange(spec), [](const TrainOptions& o) { return static_cast<double>(expr); } }
  static const std::vector<TrainOptionRange> table = {
      // model shape (new runs); GptConfig::validate checks the same bounds and n_embd % n_head
      CF_RANGE("--n-layer", nullptr, model::config_range::kNLayer, o.model.n_layer),
      CF_RANGE("--n-head", nullptr, model::config_range::kNHead, o.model.n_head),
      CF_RANGE("--n-embd", nullptr, model::config_range::kNEmbd, o.model.n_embd),
      CF_RANGE("--n-ctx", nullptr, model::config_range::kNPositions, o.model.n_ctx),
      CF_RANGE("--vocab-size", nullptr, "[0, 2^24]", o.model.vocab_size),  // 0: the data's
      CF_RANGE("--depth", "depth", "[0, 48]", o.depth),                     // 0: off
      // batch and schedule
      CF_RANGE("--batch-size", "batch_size", "[1, 65536]", o.batch_size),
      CF_RANGE("--seq-len", "seq_len", "[1, 2^20]", o.seq_len),
      CF_RANGE("--total-batch-tokens", "total_batch_tokens", "[0, 2^40]", o.total_batch_tokens),  // 0: one micro-batch
      CF_RANGE("--steps", "steps", "[0, 2^31-1]", o.steps),  // 0 only on --resume: the run's own
      CF_RANGE("--epochs", "epochs", "[0, 1000000]", o.epochs),
      CF_RANGE("--lr", "lr", "[0, 1]", o.lr),  // 0: the stage's default
      CF_RANGE("--warmup", "warmup", "[-1, 2^31-1]", o.warmup),  // -1: 2% of the steps
      CF_RANGE("--min-lr-ratio", "min_lr_ratio", "[0, 1]", o.min_lr_ratio),
      CF_RANGE("--beta1", "beta1", "[0, 1)", o.adamw.beta1),
      CF_RANGE("--beta2", "beta2", "[0, 1)", o.adamw.beta2),
      CF_RANGE(nullptr, "eps", "(0, 1]", o.adamw.eps),
      CF_RANGE("--weight-decay", "weight_decay", "[0, 1]", o.adamw.weight_decay),
      CF_RANGE("--grad-clip", "grad_clip", "[0, inf)", o.adamw.grad_clip),  // 0: off
      CF_RANGE("--seed", nullptr, "[0, 2^64-1]", o.seed),
      // LoRA
      CF_RANGE("--lora-rank", nullptr, "[0, 65536]", o.lora_rank),  // 0: full fine-tuning
      CF_RANGE("--lora-alpha", nullptr, "[0, 1e6]", o.lora_alpha),   // 0: 2 * rank
      CF_RANGE("--lora-dropout", nullptr, "[0, 1)", o.lora_dropout),
      // preference stages (check_preference_config repeats these with the stage's rules)
      CF_RANGE("--beta", nullptr, "(0, 1000]", o.pref.beta),
      CF_RANGE("--label-smoothing", nullptr, "[0, 0.5)", o.pref.label_smoothing),
      CF_RANGE("--desirable-weight", nullptr, "(0, 1e6]", o.pref.desirable_weight),
      CF_RANGE("--undesirable-weight", nullptr, "(0, 1e6]", o.pref.undesirable_weight),
      // evaluation, checkpoints, logging
      CF_RANGE("--eval-every", "eval_every", "[0, 2^31-1]", o.eval_every),  // 0: never
      CF_RANGE("--eval-batches", "eval_batches", "[1, 2^31-1]", o.eval_batches),
      CF_RANGE("--save-every", "save_every", "[0, 2^31-1]", o.save_every),  // 0: at the end only
      CF_RANGE("--keep", "keep", "[0, 2^31-1]", o.keep),
      CF_RANGE("--patience", "patience", "[0, 2^31-1]", o.patience),  // 0: no early stopping
      CF_RANGE("--sample-tokens", "sample_tokens", "[0, 2^20]", o.sample_tokens),
      CF_RANGE("--log-every", "log_every", "[1, 2^31-1]", o.log_every),
      CF_RANGE("--max-bad-steps", "max_bad_steps", "[1, 2^31-1]", o.max_bad_steps),
      CF_RANGE("--peak-gflops", nullptr, "[0, inf)", o.peak_gflops),  // 0: measured
      CF_RANGE("--stop-after", nullptr, "[0, 2^31-1]", o.stop_after),  // 0: off
      // data parallelism (runtime choices, not saved)
      CF_RANGE("--zero", nullptr, "[0, 1]", o.zero),
      CF_RANGE("--bucket-mb", nullptr, "(0, 65536]", o.bucket_mb),
  };
#undef CF_RANGE
  return table;
}

void validate_train_options(const TrainOptions& o, const std::string& saved_file) {
  for (const TrainOptionRange& r : train_option_ranges()) {
    const double v = r.get(o);
    if (r.range.contains(v)) continue;
    if (saved_file.empty() || r.key == nullptr) {
      r.range.check(r.flag != nullptr ? r.flag : r.key, v);  // throws UsageError
    } else {
      fail("{}: field 'options.{}' must be a finite number in {}, got {}", saved_file, r.key, r.range.str(), v);
    }
  }
}

}  // namespace chatforge::train
