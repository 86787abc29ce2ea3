// `chatforge train`: pretraining and supervised fine-tuning runs (see docs/train.md).
#include <map>
#include <memory>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "dist/comm.h"
#include "ops/device.h"
#include "train/train_option_ranges.h"
#include "train/trainer.h"

namespace chatforge::cli {
namespace {

// LoRA (see docs/train.md "LoRA adapters")
void add_lora_options(CLI::App& cmd, train::TrainOptions& o) {
  auto* lg = cmd.add_option_group("LoRA", "train low-rank adapters over the frozen --init model (PEFT format)");
  lg->add_option("--lora-rank", o.lora_rank, "adapter rank r; > 0 turns LoRA on (usual: 8-64; 16 is a good start)")
      ->capture_default_str();
  lg->add_option("--lora-alpha", o.lora_alpha, "scale = alpha / r (default: 2 x rank, e.g. 32 at r 16)");
  lg->add_option("--lora-dropout", o.lora_dropout, "dropout on the adapters' input while training")
      ->capture_default_str();
  lg->add_option("--lora-targets", o.lora_targets,
                 "comma-separated PEFT target_modules (default: every attention and MLP projection: GPT-2 "
                 "c_attn,c_proj,c_fc; Llama q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)");
  lg->add_option("--base-dtype", o.base_dtype,
                 "the frozen base's matrices in f32, bf16 or int8 (a scale per row): less memory (CPU only; "
                 "default: f32, on --resume the run's)")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"fp32", "f32"}}))  // --dtype's spelling
      ->check(CLI::IsMember({"f32", "bf16", "int8"}));
}

// preference stages (see docs/train.md "Preference tuning")
void add_preference_options(CLI::App& cmd, train::TrainOptions& o) {
  auto* pg = cmd.add_option_group("Preference", "--stage dpo|kto: the loss and the frozen reference model");
  pg->add_option("--beta", o.pref.beta, "strength of the pull towards the reference (DPO/KTO beta; IPO tau)")
      ->capture_default_str();
  pg->add_option("--pref-loss", o.pref.loss, "dpo: sigmoid (DPO) or ipo; kto: kto (default: the stage's)")
      ->check(CLI::IsMember({"sigmoid", "ipo", "kto"}));
  pg->add_option("--label-smoothing", o.pref.label_smoothing,
                 "sigmoid DPO: assumed share of flipped labels (cDPO), in [0, 0.5)")
      ->capture_default_str();
  pg->add_option("--desirable-weight", o.pref.desirable_weight, "kto: weight of the liked answers' loss")
      ->capture_default_str();
  pg->add_option("--undesirable-weight", o.pref.undesirable_weight, "kto: weight of the disliked answers' loss")
      ->capture_default_str();
  pg->add_option("--ref", o.ref,
                 "reference model folder (default: --init; with --lora-rank, the base with the adapters off)")
      ->type_name(kDir);
  pg->add_option("--ref-cache", o.ref_cache,
                 "compute the reference's log-probabilities once, before training, and keep them with the data "
                 "(DATA/ref_logps/): auto (when that costs fewer reference forwards, or a cache exists), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
}

void setup_train(CLI::App& cmd) {
  auto o = std::make_shared<train::TrainOptions>();
  auto no_progress = std::make_shared<bool>(false);
  cmd.add_option("--stage", o->stage,
                 "pretrain (causal LM), sft (assistant-only loss), dpo (preference pairs) or kto (rated answers; "
                 "dpo/kto data from `chatforge data prefs`)")
      ->check(CLI::IsMember({"pretrain", "sft", "dpo", "kto"}))
      ->capture_default_str();
  cmd.add_option("--data", o->data_dir,
                 "directory of token shards (train_*.bin, val_*.bin); required unless --resume (default: the run's)")
      ->type_name(kDir);
  cmd.add_option("--out", o->out_dir,
                 "run directory: checkpoints, metrics.jsonl, report.html; required unless --resume (default: the "
                 "run's)")
      ->type_name(kDir);
  cmd.add_option("--init", o->init,
                 "start from this checkpoint (chatforge or Hugging Face folder: GPT-2, Llama, Mistral, Qwen2, Qwen3; default: none, a new model)")
      ->type_name(kDir);
  cmd.add_option("--resume", o->resume,
                 "continue the run in this directory (or step_* checkpoint) exactly (default: none, a new run)")
      ->type_name(kDir);
  cmd.add_option("--tokenizer", o->tokenizer, "tokenizer directory (default: found with the data or --init)")
      ->type_name(kPath);
  auto* g = cmd.add_option_group("model", "shape of a new model (ignored with --init/--resume)");
  g->add_option("--n-layer", o->model.n_layer, "transformer blocks")->capture_default_str();
  g->add_option("--n-head", o->model.n_head, "attention heads")->capture_default_str();
  g->add_option("--n-embd", o->model.n_embd, "channels")->capture_default_str();
  g->add_option("--n-ctx", o->model.n_ctx, "context length (at least --seq-len)")->capture_default_str();
  g->add_option("--vocab-size", o->model.vocab_size, "vocabulary (default: the data's)");
  add_arch_options(*g, o->arch);
  g->add_option("--depth", o->depth,
                "one dial: n_layer = depth, n_embd = 64*depth, head size 64, lr from width (default: none, the "
                "flags above)");
  cmd.add_option("--batch-size", o->batch_size, "rows per micro-batch (B)")->capture_default_str();
  cmd.add_option("--seq-len", o->seq_len, "tokens per row (T)")->capture_default_str();
  cmd.add_option("--total-batch-tokens", o->total_batch_tokens,
                 "tokens per optimizer step; gradient accumulation = this / (B*T*ranks) (default: B*T*ranks)");
  auto* steps = cmd.add_option("--steps", o->steps, "optimizer steps")->capture_default_str();
  cmd.add_option("--epochs", o->epochs, "derive --steps from passes over the training data (default: none, use --steps)");
  cmd.add_option("--lr", o->lr, "peak learning rate (default: 6e-4 pretrain, 1e-4 sft, or from --depth)");
  cmd.add_option("--warmup", o->warmup, "warmup steps (default: 2% of the steps)");
  cmd.add_option("--lr-schedule", o->lr_schedule, "cosine, linear or constant decay after warmup")
      ->check(CLI::IsMember({"cosine", "linear", "constant"}))
      ->capture_default_str();
  cmd.add_option("--min-lr-ratio", o->min_lr_ratio, "final lr as a fraction of the peak")->capture_default_str();
  cmd.add_option("--weight-decay", o->adamw.weight_decay, "AdamW decay on matmul weights")->capture_default_str();
  cmd.add_option("--beta1", o->adamw.beta1, "AdamW beta1")->capture_default_str();
  cmd.add_option("--beta2", o->adamw.beta2, "AdamW beta2")->capture_default_str();
  cmd.add_option("--grad-clip", o->adamw.grad_clip, "global gradient-norm clip (0: off)")->capture_default_str();
  cmd.add_option("--seed", o->seed, "seed of the initialisation and the data order")->capture_default_str();
  cmd.add_option("--loader", o->loader,
                 "random or sequential windows, or whole documents (default: random for pretrain, documents for sft)");
  cmd.add_flag("--align-docs", o->align_docs, "random windows start right after an end-of-text token");
  cmd.add_option("--eval-every", o->eval_every, "evaluate every N steps (0: never)")->capture_default_str();
  cmd.add_option("--eval-batches", o->eval_batches, "validation batches per evaluation")->capture_default_str();
  cmd.add_option("--save-every", o->save_every, "checkpoint every N steps")->capture_default_str();
  cmd.add_option("--keep", o->keep, "checkpoints kept besides last and best")->capture_default_str();
  cmd.add_option("--patience", o->patience, "stop after N evaluations without improvement (0: never)")
      ->capture_default_str();
  cmd.add_option("--sample-prompt", o->sample_prompts,
                 "prompt to continue at each evaluation (repeatable; default: pretrain, the first words of two "
                 "validation documents; sft, none)");
  cmd.add_option("--sample-tokens", o->sample_tokens, "tokens per sample")->capture_default_str();
  cmd.add_option("--log-every", o->log_every, "write a metrics line every N steps")->capture_default_str();
  cmd.add_option("--max-bad-steps", o->max_bad_steps, "consecutive non-finite losses before stopping")
      ->capture_default_str();
  cmd.add_option("--peak-gflops", o->peak_gflops,
                 "peak GFLOP/s for MFU (default: the CPU's fp32 FMA peak, measured at start; on CUDA the GPU's bf16 "
                 "peak)");
  cmd.add_flag("--overwrite", o->overwrite,
               "start over in an --out that holds an earlier run: delete its checkpoints (step_*, last, best), "
               "metrics.jsonl, report.html and run.json first (without it, such an --out is an error)");
  cmd.add_option("--stop-after", o->stop_after,
                 "save and stop after this step, as if interrupted (resume later; default: none)");
  cmd.add_flag("--no-progress", *no_progress, "no progress bar");
  cmd.add_option("--device", o->device, "cpu, cuda or cuda:N (see docs/cuda.md)")->capture_default_str();
  cmd.add_option("--dtype", o->dtype, "fp32, or bf16: bf16 GEMM inputs with fp32 accumulation and fp32 master weights (cuda; the CPU with AVX512-BF16, emulated elsewhere)")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"f32", "fp32"}}))  // --base-dtype's spelling
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  // An option with an optional value (not a flag), so `--recompute mlp` parses as `--recompute=mlp`;
  // alone it takes default_str, "all" (the help says the default when absent, none).
  cmd.add_option("--recompute", o->recompute,
                 "what backward recomputes instead of keeping: --recompute (= all) keeps only each layer's input and "
                 "reruns the layer (least memory, ~1/3 more compute); --recompute mlp reruns only the MLP's first "
                 "matmul (half of GPT-2's activations, ~1/9 more compute); none (the default)")
      ->expected(0, 1)
      ->default_str("all")
      ->check(CLI::IsMember({"none", "mlp", "all"}))
      ->option_text("[none|mlp|all]");
  add_lora_options(cmd, *o);
  add_preference_options(cmd, *o);
  // data parallelism (under mpirun/srun; see docs/distributed.md)
  auto comm_timeout = std::make_shared<double>(300);
  auto no_overlap = std::make_shared<bool>(false);
  cmd.add_option("--zero", o->zero, "1: ZeRO-1, shard the AdamW moments and update across ranks")
      ->capture_default_str();
  cmd.add_option("--bucket-mb", o->bucket_mb, "gradient all-reduce bucket size in MB")->capture_default_str();
  cmd.add_flag("--no-comm-overlap", *no_overlap, "all-reduce gradients after backward instead of during it");
  cmd.add_option("--comm-timeout", *comm_timeout,
                 "seconds a rank waits in one collective before it stops the job (a peer died)")
      ->capture_default_str();
  add_config_option(cmd);
  // every numeric flag's range, from the table that also checks a resumed run's values
  for (const train::TrainOptionRange& r : train::train_option_ranges())
    if (r.flag != nullptr) set_ranges(cmd, {{r.flag, r.range.str().c_str()}});
  set_ranges(cmd, {{"--comm-timeout", "(0, 1000000]"}});
  cmd.callback([o, no_progress, steps, comm_timeout, no_overlap] {
    o->progress = !*no_progress;
    o->comm_overlap = !*no_overlap;
    if (o->resume.empty()) {
      if (o->data_dir.empty()) usage_fail("--data is required (or --resume)");
      if (o->out_dir.empty()) usage_fail("--out is required (or --resume)");
    } else if (steps->count() == 0) {
      o->steps = 0;  // keep the resumed run's own step count
    }
    ops::parse_device(o->device, o->dtype);  // a bad spelling is a usage error (exit 2)
    // one rank, or one of the ranks mpirun/srun started (MPI is touched only then)
    std::unique_ptr<dist::Comm> comm = dist::make_comm(*comm_timeout);
    try {
      train::run_training(*o, comm.get());
    } catch (const std::exception& e) {
      // with several ranks, stop them all now (they would wait for this one until the
      // timeout); with one rank this returns and main prints the error as usual
      comm->abort_job(e.what());
      throw;
    }
  });
}

}  // namespace
CF_REGISTER_COMMAND({"train", "pretrain or fine-tune a GPT on token shards", setup_train, 30});
}  // namespace chatforge::cli
