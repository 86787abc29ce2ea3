// The training loop behind `chatforge train`: pretraining (causal LM on token shards) and
// SFT (conversations with an assistant-only loss mask), with gradient accumulation, LR
// schedule, clipping, periodic evaluation (loss, perplexity, bits per byte, per-task
// loss, sample generations), early stopping, atomic checkpoints with full state for
// bit-exact resume, SIGINT/SIGTERM handling, NaN/Inf protection, metrics.jsonl and an
// HTML report with SVG curves.
#pragma once
#include <string>
#include <vector>

#include "dist/comm.h"
#include "model/config.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace chatforge::train {

struct TrainOptions {
  std::string stage = "pretrain";  // pretrain | sft
  std::string data_dir;
  std::string out_dir;
  std::string init;       // checkpoint to start from (chatforge or Hugging Face GPT-2)
  std::string resume;     // run or step directory to continue
  std::string tokenizer;  // tokenizer dir (default: found next to the data or the init checkpoint)
  // model (new runs without --init)
  model::GptConfig model;
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
  int rank = 0, world = 1;  // set from the communicator (not saved: a run resumes on any rank count)
  // data parallelism (runtime choices, not part of the run: a resume may change them)
  int zero = 0;              // 1: ZeRO-1, Adam moments and the update sharded across ranks
  double bucket_mb = 4;      // gradient all-reduce bucket size
  bool comm_overlap = true;  // start bucket all-reduces during the last backward
  // where the math runs (runtime choices too: a run may resume on another device)
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string dtype = "fp32";  // fp32 | bf16 (cuda only: bf16 GEMM inputs, fp32 master weights)
  bool recompute = false;      // cpu: keep layer inputs only, rerun each layer in backward
};

// Runs (or resumes) training. Returns normally on completion, early stop or signal
// (after saving); throws chatforge::Error on failure with the last checkpoint intact.
// comm: the data-parallel group (nullptr: one rank); every rank calls this with the same
// options, rank 0 alone logs, evaluates and writes checkpoints.
void run_training(TrainOptions opt, dist::Comm* comm = nullptr);

// Derives a model shape and learning rate from a depth dial (see docs/train.md).
void apply_depth(TrainOptions& opt, int vocab_size);

}  // namespace chatforge::train
