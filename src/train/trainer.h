// The training loop behind `chatforge train`: pretraining (causal LM on token shards),
// SFT (conversations with an assistant-only loss mask) and the preference stages DPO/IPO
// and KTO (train/preference_step.h, on `data prefs` shards, against a frozen reference), with gradient accumulation, LR
// schedule, clipping, periodic evaluation (loss, perplexity, bits per byte, per-task
// loss, sample generations), early stopping, atomic checkpoints with full state for
// bit-exact resume, SIGINT/SIGTERM handling, NaN/Inf protection, metrics.jsonl and an
// HTML report with SVG curves.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/timer.h"
#include "dist/comm.h"
#include "model/gpt.h"
#include "model/lora.h"
#include "tokenizer/tokenizer.h"
#include "model/config.h"
#include "train/adamw.h"
#include "train/loader.h"
#include "train/lr_schedule.h"
#include "train/preference_loss.h"
#include "train/preference_step.h"
#include "train/reference_cache.h"
#include "train/train_report.h"
#include "train/train_step.h"

namespace chatforge::train {

struct TrainOptions {
  std::string stage = "pretrain";  // pretrain | sft | dpo | kto
  std::string data_dir;
  std::string out_dir;
  std::string init;       // checkpoint to start from (chatforge or Hugging Face folder)
  std::string resume;     // run or step directory to continue
  std::string tokenizer;  // tokenizer dir (default: found next to the data or the init checkpoint)
  // model (new runs without --init)
  model::GptConfig model;     // a new model's sizes (then its whole configuration)
  model::ArchOptions arch;    // a new model's architecture
  int depth = 0;          // > 0: derive the model and learning rate from one dial
  // batch
  int batch_size = 8;     // rows per micro-batch (B)
  int seq_len = 256;      // T
  long total_batch_tokens = 0;  // 0: one micro-batch per step
  // schedule
  int steps = 1000;
  double epochs = 0;      // > 0: steps derived from the data size
  float lr = 0;           // 0: a default for the stage (or from --depth)
  int warmup = -1;        // -1: 2% of the steps
  std::string lr_schedule = "cosine";
  float min_lr_ratio = 0.1f;
  AdamWConfig adamw;
  uint64_t seed = 1337;
  std::string loader = "";  // random | sequential | documents (default by stage)
  bool align_docs = false;
  // evaluation, checkpoints, logging
  int eval_every = 100;
  int eval_batches = 8;
  int save_every = 500;
  int keep = 2;
  int patience = 0;       // 0: no early stopping
  std::vector<std::string> sample_prompts;
  int sample_tokens = 32;
  int log_every = 1;
  int max_bad_steps = 5;  // consecutive non-finite losses before stopping
  double peak_gflops = 0; // 0: measure the sgemm peak at start
  bool progress = true;
  int stop_after = 0;     // > 0: save and stop after this step, as if interrupted (resume later)
  bool overwrite = false; // a new run deletes an earlier run's files in out_dir (without: an error)
  int rank = 0, world = 1;  // set from the communicator (not saved: a run resumes on any rank count)
  // data parallelism (runtime choices, not part of the run: a resume may change them)
  int zero = 0;              // 1: ZeRO-1, Adam moments and the update sharded across ranks
  double bucket_mb = 4;      // gradient all-reduce bucket size
  bool comm_overlap = true;  // start bucket all-reduces during the last backward
  // where the math runs (runtime choices too: a run may resume on another device)
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string dtype = "fp32";  // fp32 | bf16 (cuda only: bf16 GEMM inputs, fp32 master weights)
  std::string recompute = "none";  // none | mlp | all (model::Recompute): what backward redoes
  // LoRA (model/lora.h): > 0 trains adapters of this rank over the frozen --init model
  // instead of the whole model; checkpoints hold the adapter (PEFT format) and its moments.
  int lora_rank = 0;
  float lora_alpha = 0;          // 0: 2 * rank
  float lora_dropout = 0.05f;
  std::string lora_targets;      // comma-separated PEFT target_modules; empty: every projection
  // The frozen base's matrices in f32, bf16 or int8 (QLoRA's idea; CPU only). Empty: f32 for
  // a new run; on --resume the run's own (another value than the run's is a usage error).
  std::string base_dtype;
  // preference stages (dpo | kto; train/preference_loss.h): the loss and the frozen
  // reference (empty: --init; with LoRA and no --ref, the base with the adapters detached)
  PreferenceLossConfig pref;
  std::string ref;
  // the reference's log-probabilities computed once in a pass before training and kept
  // with the data (train/reference_cache.h): on | off | auto (when it costs fewer
  // reference forwards than the run would do, or a cache for this reference exists)
  std::string ref_cache = "auto";
};

// A training run as a library object: open (the constructor), step, evaluate, save.
// run_training below is a short loop over them; tests and tools may drive it themselves.
// Every rank of a data-parallel group constructs one with the same options and calls
// step() and save() together; rank 0 alone evaluates and writes.
class Trainer {
 public:
  // Opens a run: a new one (random init, or --init from a checkpoint), or a resumed one
  // (--resume: the newest complete checkpoint, its options, weights, Adam moments, data
  // cursor and RNG). Validates the options, opens the data and tokenizer, puts the model
  // and optimizer on the device (ZeRO-1 slices under --zero 1), the validation sets and
  // the report. Throws Error (UsageError for bad flags) before any work when anything is
  // wrong.
  explicit Trainer(TrainOptions options, dist::Comm* comm = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  const TrainOptions& options() const { return o_; }
  int steps_done() const { return step_; }
  bool done() const { return step_ >= o_.steps; }
  model::Gpt& model() { return *gpt_; }
  model::Lora* lora() { return lora_.get(); }  // null unless --lora-rank
  uint64_t tokens_seen() const { return tokens_seen_; }
  int best_step() const { return best_step_; }
  double best_val_loss() const { return best_val_; }

  // One optimizer step on the next micro-batches (gradient accumulation, all ranks),
  // logged to metrics.jsonl. A non-finite loss or gradient skips the update (a warning);
  // max_bad_steps of them in a row is an Error (the last checkpoint is intact).
  StepStats step();
  // Rank 0: loss (and bits per byte) on every validation set and the sample generations;
  // updates the best step and the patience count, logs to metrics.jsonl. Sets *is_best.
  EvalRecord evaluate(bool* is_best);
  bool eval_due() const;         // after this step, by --eval-every (and at the last step)
  bool patience_exhausted() const { return o_.patience > 0 && bad_evals_ >= o_.patience; }
  // Writes OUT/step_N (and last/best links) of the current step; every rank calls it
  // (ZeRO-1 gathers the moments). Returns the directory on rank 0, "" elsewhere.
  std::string save(bool is_best);
  void write_report() const;
  double last_train_loss() const;
  double elapsed_seconds() const;
  // Of the last step(): its learning rate, throughput and model-FLOPs utilisation.
  float last_lr() const { return last_lr_; }
  double last_tok_s() const { return last_tok_s_; }
  double last_mfu() const { return last_mfu_; }

 private:
  void resolve_resume();
  void claim_out_dir();
  void open_data();
  void open_model();
  void open_schedule();
  void open_validation();
  void restore_or_start();
  void print_plan() const;
  nlohmann::json state_json() const;

  TrainOptions o_;
  dist::LocalComm local_comm_;
  dist::Comm& comm_;
  bool resuming_ = false;
  std::string resume_dir_, tok_dir_;
  ops::Device device_;
  std::unique_ptr<ShardLoader> loader_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  std::unique_ptr<model::Gpt> gpt_;
  std::unique_ptr<model::Lora> lora_;  // --lora-rank: what trains (gpt_ is its frozen base)
  std::unique_ptr<model::Gpt> ref_;    // dpo/kto: the frozen reference (null with LoRA and no --ref)
  std::unique_ptr<PreferenceObjective> objective_;  // dpo/kto
  bool preference() const { return o_.stage == "dpo" || o_.stage == "kto"; }
  void open_preference();
  std::unique_ptr<ReferenceCache> ref_cache_;  // dpo/kto with the reference cache
  void open_reference_cache();
  void fill_reference_cache(ReferenceCache& cache, const std::vector<std::pair<ShardLoader*, uint64_t>>& val);
  uint64_t reference_rows_per_step_left() const;
  uint64_t eval_batch_count(const ShardLoader& vl) const;  // the batches an evaluation reads
  std::string base_id_;                // --lora-rank: the base's identity (lora_base_identity)
  void open_lora();
  int accum_ = 1;
  LrSchedule sched_;
  std::unique_ptr<AdamW> opt_;
  std::unique_ptr<TrainStep> stepper_;
  std::vector<std::pair<std::string, std::unique_ptr<ShardLoader>>> val_loaders_;
  std::unique_ptr<TrainReport> report_;
  std::vector<Batch> micro_;
  int step_ = 0, best_step_ = -1, bad_evals_ = 0, bad_streak_ = 0;
  uint64_t tokens_seen_ = 0;
  double best_val_ = 0;
  double peak_gflops_ = 0, flops_per_token_ = 0, last_tok_s_ = 0, last_mfu_ = 0;
  float last_lr_ = 0;
  Timer run_timer_;
};

// Runs (or resumes) training: a Trainer stepped to the end, evaluating, checkpointing,
// early-stopping and saving on SIGINT/SIGTERM. Returns normally on completion, early stop
// or signal (after saving); throws chatforge::Error on failure with the last checkpoint
// intact. comm: the data-parallel group (nullptr: one rank).
void run_training(TrainOptions opt, dist::Comm* comm = nullptr);

// Derives a model shape and learning rate from a depth dial (see docs/train.md).
void apply_depth(TrainOptions& opt, int vocab_size);

}  // namespace chatforge::train
