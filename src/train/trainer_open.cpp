// Trainer's constructor (trainer.h): everything a run needs before its first step, in the
// order a failure should be reported: options, device, data, tokenizer, model, schedule,
// optimizer, validation sets, the saved state of a resumed run.
#include <omp.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "model/checkpoint.h"
#include "model/lora_io.h"
#include "model/resize.h"
#include "ops/backend.h"
#include "ops/device.h"
#include "train/run_checkpoint.h"
#include "train/saved_fields.h"
#include "train/train_option_ranges.h"
#include "train/train_options_json.h"
#include "train/trainer.h"

namespace chatforge::train {

namespace fs = std::filesystem;

namespace {

// Finds the tokenizer that belongs to this run: the flag, the data directory, its
// meta.json "tokenizer" entry, or the --init checkpoint. Empty when there is none.
std::string find_tokenizer_dir(const TrainOptions& o) {
  if (!o.tokenizer.empty()) {
    CF_CHECK(file_exists(o.tokenizer + "/tokenizer.json") || file_exists(o.tokenizer),
             "--tokenizer {}: no tokenizer.json there", o.tokenizer);
    return o.tokenizer;
  }
  if (file_exists(o.data_dir + "/tokenizer.json")) return o.data_dir;
  const std::string meta = o.data_dir + "/meta.json";
  if (file_exists(meta)) {
    try {
      const auto j = try_parse_json(read_file(meta), nullptr).value_or(nlohmann::json());
      if (j.contains("tokenizer") && j["tokenizer"].is_string()) {
        const std::string t = j["tokenizer"].get<std::string>();
        if (file_exists(t + "/tokenizer.json")) return t;
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  if (!o.init.empty() && file_exists(o.init + "/tokenizer.json")) return o.init;
  return "";
}

// Validation sets: "val" and one per task ("val-<task>_*.bin" from a task mixture).
std::vector<std::pair<std::string, std::vector<std::string>>> validation_sets(const std::string& dir) {
  std::vector<std::pair<std::string, std::vector<std::string>>> sets;
  auto main_val = data::list_shards(dir, "val");
  if (!main_val.empty()) sets.emplace_back("val", main_val);
  std::vector<std::string> tasks;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string split = data::shard_split_of(e.path().filename().string());
    if (split.rfind("val-", 0) == 0 && split.size() > 4 &&
        std::find(tasks.begin(), tasks.end(), split.substr(4)) == tasks.end())
      tasks.push_back(split.substr(4));
  }
  std::sort(tasks.begin(), tasks.end());
  for (const auto& t : tasks) sets.emplace_back(t, data::list_shards(dir, "val-" + t));
  return sets;
}

// True when `tok` is the --init checkpoint's tokenizer with tokens appended: its first
// `old_vocab` tokens are byte-for-byte the same as the checkpoint's own tokenizer's.
bool extends_init_tokenizer(const std::string& init, const tok::Tokenizer& tok, int old_vocab) {
  tok::Tokenizer base;
  try {
    base = tok::Tokenizer::load(init);
  } catch (const Error&) {
    return false;  // no tokenizer with the checkpoint: nothing to prove the prefix with
  }
  if (base.vocab_size() != old_vocab || tok.vocab_size() < old_vocab) return false;
  for (int32_t i = 0; i < old_vocab; ++i)
    if (base.token_bytes(i) != tok.token_bytes(i)) return false;
  return true;
}

ShardLoader::Mode loader_mode(const std::string& name) {
  if (name == "random") return ShardLoader::Mode::kRandom;
  if (name == "sequential") return ShardLoader::Mode::kSequential;
  if (name == "documents") return ShardLoader::Mode::kDocuments;
  usage_fail("--loader must be random, sequential or documents, got '{}'", name);
}

}  // namespace

Trainer::Trainer(TrainOptions options, dist::Comm* comm)
    : o_(std::move(options)), comm_(comm != nullptr ? *comm : local_comm_), best_val_(INFINITY) {
  resolve_resume();
  claim_out_dir();
  // the device first: no GPU (or a build without CUDA) is reported before any work
  device_ = ops::parse_device(o_.device, o_.dtype);
  if (device_.cuda) ops::activate_device(device_, ops::local_rank_from_env());
  open_data();
  open_model();
  open_schedule();
  open_validation();
  restore_or_start();
  if (preference()) open_reference_cache();
  print_plan();
}

Trainer::~Trainer() = default;

// --resume: the options come from the checkpoint (the flags may change only --steps and
// the runtime choices of this invocation: devices, data-parallel settings, recompute).
void Trainer::resolve_resume() {
  resuming_ = !o_.resume.empty();
  if (resuming_ && o_.overwrite) usage_fail("--overwrite starts a new run; it does not go with --resume");
  if (resuming_) {
    std::vector<std::string> skipped;
    resume_dir_ = find_latest_checkpoint(o_.resume, &skipped);
    if (comm_.rank() == 0)
      for (const std::string& d : skipped)
        std::fprintf(stderr, "skipping %s: incomplete checkpoint (no %s marker: its save or removal was cut short)\n",
                     d.c_str(), kCompleteMarker);
    const std::string state_path = resume_dir_ + "/trainer_state.json";
    nlohmann::json st;
    try {
      st = parse_json(read_file(state_path), state_path);
    } catch (const Error& e) {
      fail("{}; resume from an earlier step_* directory", e.what());
    }
    CF_CHECK(st.is_object(), "{}: not a JSON object; resume from an earlier step_* directory", state_path);
    CF_CHECK(st.contains("options"), "{}: missing field 'options'", state_path);
    const TrainOptions runtime = o_;  // this invocation's choices
    o_ = options_from_json(st.at("options"), state_path);
    validate_train_options(o_, state_path);  // a hand-edited file gets the flags' ranges too
    if (runtime.steps > 0) o_.steps = runtime.steps;  // the only run option a resume may change
    o_.progress = runtime.progress;
    o_.stop_after = runtime.stop_after;
    o_.zero = runtime.zero;
    o_.bucket_mb = runtime.bucket_mb;
    o_.comm_overlap = runtime.comm_overlap;
    o_.device = runtime.device;
    o_.dtype = runtime.dtype;
    o_.recompute = runtime.recompute;
    o_.out_dir = fs::path(resume_dir_).parent_path().string();
    if (!runtime.base_dtype.empty() && runtime.base_dtype != o_.base_dtype)
      usage_fail("--base-dtype {}: this run trains over a {} base ({}); a resume keeps the run's", runtime.base_dtype,
                 o_.base_dtype, state_path);
  }
  if (o_.base_dtype.empty()) o_.base_dtype = "f32";
  ops::WeightFormat base_format{};
  if (!ops::parse_weight_format(o_.base_dtype.c_str(), &base_format) || base_format == ops::WeightFormat::kF16)
    usage_fail("--base-dtype must be f32, bf16 or int8, got '{}'", o_.base_dtype);
  if (o_.base_dtype != "f32" && o_.lora_rank <= 0)
    usage_fail("--base-dtype {} needs --lora-rank: only a frozen base is held in reduced precision", o_.base_dtype);
  if (o_.base_dtype != "f32" && ops::parse_device(o_.device, o_.dtype).cuda)
    usage_fail("--base-dtype {}: only the CPU trains over a reduced base; use --device cpu or --base-dtype f32",
               o_.base_dtype);
  validate_train_options(o_);  // the flags' ranges (CLI11 checked them already; library callers too)
  // rank and world come from the launcher, never from a saved run (N ranks resume on M)
  o_.rank = comm_.rank();
  o_.world = comm_.world();
  CF_CHECK(o_.zero == 0 || o_.zero == 1, "--zero must be 0 or 1, got {}", o_.zero);
  CF_CHECK(o_.stage == "pretrain" || o_.stage == "sft" || preference(),
           "--stage must be pretrain, sft, dpo or kto, got '{}'", o_.stage);
  if (preference()) {
    if (o_.pref.loss.empty()) o_.pref.loss = o_.stage == "kto" ? "kto" : "sigmoid";
    check_preference_config(o_.stage, o_.pref);
    if (o_.init.empty()) throw UsageError("--stage " + o_.stage + " needs --init: the model to tune (and, without --ref, the reference)");
  }
  CF_CHECK(!o_.out_dir.empty(), "--out is required");
  CF_CHECK(o_.batch_size >= 1 && o_.seq_len >= 1, "--batch-size and --seq-len must be positive");
}

// A new run's --out: an earlier run there is an error (this run's checkpoints would mix
// with its, pruning and --resume would take its higher steps, and metrics.jsonl would be
// cut), unless --overwrite deletes it first.
void Trainer::claim_out_dir() {
  if (resuming_) return;
  const std::vector<std::string> earlier = earlier_run_files(o_.out_dir);
  if (earlier.empty()) return;
  if (!o_.overwrite) {
    std::string names;
    for (size_t i = 0; i < std::min<size_t>(earlier.size(), 4); ++i) names += (i ? ", " : "") + earlier[i];
    if (earlier.size() > 4) names += fmt::format(", ... ({} in all)", earlier.size());
    usage_fail("--out {} already holds a training run ({}); continue it with --resume {}, start over with "
               "--overwrite (deletes those), or pick another --out", o_.out_dir, names, o_.out_dir);
  }
  for (const std::string* p : {&o_.init, &o_.ref, &o_.data_dir})
    for (const std::string& name : earlier)
      if (!p->empty() && path_within(*p, o_.out_dir + "/" + name))
        usage_fail("{} lies in {}/{}, which --overwrite would delete; move it out first or pick another --out", *p,
                   o_.out_dir, name);
  if (o_.rank != 0) return;
  const size_t steps = static_cast<size_t>(remove_earlier_run(o_.out_dir));
  std::fprintf(stderr, "--overwrite: deleted the earlier run in %s (%zu checkpoint(s) and %zu run file(s))\n",
               o_.out_dir.c_str(), steps, earlier.size() - steps);
}

// The training shards, and the tokenizer (optional: samples and bits per byte need it).
void Trainer::open_data() {
  const auto train_files = split_files(o_.data_dir, "train", true);
  if (o_.loader.empty()) o_.loader = o_.stage == "pretrain" ? "random" : "documents";
  if (preference()) open_preference();
  loader_ = std::make_unique<ShardLoader>(train_files, loader_mode(o_.loader), o_.batch_size, o_.seq_len, o_.seed,
                                          o_.align_docs, o_.rank, o_.world);
  CF_CHECK(o_.stage != "sft" || loader_->has_mask(),
           "{}: SFT needs shards with a loss mask (made by `chatforge data chat`), these have none", o_.data_dir);
  tok_dir_ = find_tokenizer_dir(o_);
  if (!tok_dir_.empty()) {
    tokenizer_ = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(tok_dir_));
    CF_CHECK(tokenizer_->fingerprint().substr(0, 16) == loader_->fingerprint().substr(0, 16) ||
                 loader_->fingerprint().empty(),
             "{} was tokenized with another tokenizer than {} (fingerprints differ); re-run `chatforge data tokenize` "
             "with this tokenizer", o_.data_dir, tok_dir_);
  }
}

// The model: the resumed checkpoint's shape (weights come later), --init's weights
// (growing its vocabulary when the tokenizer extends the checkpoint's), or a new one from
// the flags; then onto the device.
void Trainer::open_model() {
  if (o_.lora_rank > 0) {  // the frozen base: --init, also when resuming (checkpoints hold the adapter only)
    if (o_.init.empty()) throw UsageError("--lora-rank needs --init: the base model the adapters train on");
    ops::WeightFormat base = ops::WeightFormat::kF32;  // --base-dtype: each matrix rounded as it is read
    ops::parse_weight_format(o_.base_dtype.c_str(), &base);
    gpt_ = model::load_model(o_.init, nullptr, base);
    o_.model = gpt_->config();
  } else if (resuming_) {
    gpt_ = std::make_unique<model::Gpt>(model::load_checked_config(resume_dir_));
  } else if (!o_.init.empty()) {
    gpt_ = model::load_model(o_.init);
    if (loader_->vocab_size() > static_cast<uint32_t>(gpt_->config().vocab_size) && tokenizer_ &&
        extends_init_tokenizer(o_.init, *tokenizer_, gpt_->config().vocab_size)) {
      std::fprintf(stderr, "extending the vocabulary of %s from %d to %u tokens (new embeddings start at the mean)\n",
                   o_.init.c_str(), gpt_->config().vocab_size, loader_->vocab_size());
      gpt_ = model::extend_vocab(*gpt_, static_cast<int>(loader_->vocab_size()));
    }
    o_.model = gpt_->config();
  } else {
    if (o_.depth > 0) apply_depth(o_, static_cast<int>(loader_->vocab_size()));
    if (o_.model.vocab_size <= 0 || o_.depth == 0) o_.model.vocab_size = static_cast<int>(loader_->vocab_size());
    o_.model.n_ctx = std::max(o_.model.n_ctx, o_.seq_len);
    try {
      o_.model = model::new_model_config(o_.model, o_.arch);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    gpt_ = std::make_unique<model::Gpt>(o_.model);
    gpt_->init_weights(o_.seed);
  }
  gpt_ = model::to_backend(std::move(gpt_), ops::make_backend(device_));  // the CPU's: no copy
  const model::GptConfig& cfg = gpt_->config();
  gpt_->set_recompute(model::parse_recompute(o_.recompute));
  if (o_.lora_rank > 0) open_lora();
  if (preference()) {  // the frozen reference: --ref, else --init (with LoRA: the base, adapters detached)
    const std::string ref = !o_.ref.empty() ? o_.ref : (o_.lora_rank > 0 ? std::string() : o_.init);
    if (!ref.empty()) {
      ref_ = model::to_backend(model::load_model(ref), gpt_->shared_backend());
      CF_CHECK(ref_->config().vocab_size == cfg.vocab_size, "--ref {}: vocabulary of {} tokens, the model has {}", ref,
               ref_->config().vocab_size, cfg.vocab_size);
    }
    objective_ = std::make_unique<PreferenceObjective>(o_.stage, o_.pref, ref_.get());
  }
  CF_CHECK(loader_->vocab_size() <= static_cast<uint32_t>(cfg.vocab_size),
           "{} was tokenized with a vocabulary of {} tokens but the model has {}: data made for another tokenizer",
           o_.data_dir, loader_->vocab_size(), cfg.vocab_size);
  CF_CHECK(o_.seq_len <= cfg.n_ctx, "--seq-len {} is longer than the model's context of {} tokens", o_.seq_len,
           cfg.n_ctx);
}

// Batch accumulation, steps (from --epochs), the learning-rate schedule, the optimizer
// and the step (ZeRO-1 shards the optimizer there).
void Trainer::open_schedule() {
  if (o_.lr <= 0) o_.lr = preference() ? 5e-6f : o_.stage == "sft" ? 1e-4f : 6e-4f;
  const long micro_tokens = static_cast<long>(o_.batch_size) * o_.seq_len * o_.world;
  if (o_.total_batch_tokens <= 0) o_.total_batch_tokens = micro_tokens;
  CF_CHECK(o_.total_batch_tokens % micro_tokens == 0,
           "--total-batch-tokens {} must be a multiple of batch-size x seq-len x ranks = {}", o_.total_batch_tokens,
           micro_tokens);
  accum_ = static_cast<int>(o_.total_batch_tokens / micro_tokens);
  micro_.resize(accum_);
  if (o_.epochs > 0 && !resuming_) {
    const double rows = static_cast<double>(loader_->rows_per_epoch()) * o_.epochs;
    o_.steps = std::max(1, static_cast<int>(std::ceil(rows / (static_cast<double>(o_.batch_size) * o_.world * accum_))));
  }
  CF_CHECK(o_.steps >= 1, "--steps must be at least 1");
  sched_.lr = o_.lr;
  sched_.total = o_.steps;
  sched_.warmup = o_.warmup >= 0 ? o_.warmup : std::max(0, o_.steps / 50);
  sched_.kind = LrSchedule::parse_kind(o_.lr_schedule);
  sched_.min_lr_ratio = o_.min_lr_ratio;
  opt_ = lora_ ? std::make_unique<AdamW>(*lora_, o_.adamw) : std::make_unique<AdamW>(*gpt_, o_.adamw);
  StepOptions so;
  so.zero1 = o_.zero == 1;
  so.bucket_mb = o_.bucket_mb;
  so.comm_overlap = o_.comm_overlap;
  stepper_ = std::make_unique<TrainStep>(*gpt_, *opt_, &comm_, so);
  stepper_->set_objective(objective_.get());
  peak_gflops_ = o_.peak_gflops > 0 ? o_.peak_gflops : ops::peak_gflops(device_);
  flops_per_token_ = gpt_->flops_per_token(o_.seq_len);
  if (lora_) flops_per_token_ *= 4.0 / 6.0;  // no weight gradients: forward plus the input gradients
}

void Trainer::open_validation() {
  const ShardLoader::Mode mode = loader_mode(o_.loader);
  for (auto& [name, files] : validation_sets(o_.data_dir)) {
    const auto vmode = mode == ShardLoader::Mode::kDocuments ? mode : ShardLoader::Mode::kSequential;
    val_loaders_.emplace_back(name, std::make_unique<ShardLoader>(files, vmode, o_.batch_size, o_.seq_len, 12345));
  }
  if (o_.sample_prompts.empty() && tokenizer_ && !val_loaders_.empty() && o_.stage == "pretrain") {
    // default prompts: the first words of two validation documents
    Batch b;
    val_loaders_.front().second->reset();
    val_loaders_.front().second->next(b);
    for (int r = 0; r < std::min(2, b.B); ++r) {
      std::vector<int32_t> head(b.inputs.begin() + r * b.T, b.inputs.begin() + r * b.T + std::min(b.T, 8));
      o_.sample_prompts.push_back(tokenizer_->decode(head));
    }
  }
}

// A resumed run's weights, Adam moments and position; a new run's output directory.
void Trainer::restore_or_start() {
  if (o_.rank == 0) {  // before this run writes there: temps of a killed earlier run go
    const std::vector<std::string> removed = remove_stale_run_temps(o_.out_dir);
    if (!removed.empty())
      std::fprintf(stderr, "removed %zu temporary file(s) a killed earlier run left in %s (%s%s)\n", removed.size(),
                   o_.out_dir.c_str(), removed.front().c_str(), removed.size() > 1 ? ", ..." : "");
  }
  report_ = std::make_unique<TrainReport>(o_.out_dir, o_.rank == 0);
  if (resuming_) {
    // the checkpoint holds the full Adam state; a ZeRO-1 rank keeps its slice of it
    AdamW full = lora_ ? AdamW(*lora_, o_.adamw) : AdamW(*gpt_, o_.adamw);
    const SavedRun saved = load_training_checkpoint(resume_dir_, *gpt_, full);
    stepper_->scatter_optimizer(full);
    const std::string state_path = saved.dir + "/trainer_state.json";
    const SavedFields s{saved.state, state_path, ""};
    step_ = static_cast<int>(s.integer("step", 0, INT32_MAX));
    tokens_seen_ = s.u64_string("tokens");
    best_val_ = s.number_or_null("best_val_loss");
    if (std::isnan(best_val_)) best_val_ = INFINITY;
    best_step_ = static_cast<int>(s.integer("best_step", -1, INT32_MAX));
    bad_evals_ = static_cast<int>(s.integer("bad_evals", 0, INT32_MAX));
    loader_->restore(s.at("loader"), state_path);
    if (lora_) {
      CF_CHECK(saved.state.value("lora_base", std::string()) == base_id_,
               "{}: the base model {} is not the one this LoRA run started on (its identity differs); adapters "
               "resume only on the same base", state_path, o_.init);
      lora_->set_dropout_counter(s.u64_string("lora_dropout_counter"));
    }
    report_->resume_at(step_);
    if (o_.rank == 0) std::fprintf(stderr, "resuming %s at step %d of %d\n", resume_dir_.c_str(), step_, o_.steps);
  } else {
    make_dirs(o_.out_dir);
    report_->start_fresh();
  }
  if (o_.rank == 0) write_file_atomic(o_.out_dir + "/run.json", options_to_json(o_).dump(2) + "\n");
  gpt_->push_params();  // on a device: the weights just loaded go over
  const uint64_t trained = lora_ ? lora_->params().bytes() : gpt_->params().bytes();
  const uint64_t ckpt_bytes = trained * 3 + (64 << 10);  // weights, m, v + small files
  const uint64_t free_bytes = free_disk_bytes(o_.out_dir);
  CF_CHECK(free_bytes >= ckpt_bytes * 2,
           "not enough free disk space in {}: {} MB free, checkpoints need about {} MB (two at a time)", o_.out_dir,
           free_bytes >> 20, (ckpt_bytes * 2) >> 20);
}

// Preference stages: the data must be `data prefs` shards of the stage's kind whose
// longest row fits --seq-len (a cut row would score a truncated answer).
void Trainer::open_preference() {
  const std::string meta_path = o_.data_dir + "/preference.json";
  CF_CHECK(file_exists(meta_path), "{}: --stage {} needs preference shards made by `chatforge data prefs` (no {})",
           o_.data_dir, o_.stage, meta_path);
  const nlohmann::json meta = parse_json(read_file(meta_path), meta_path);
  const std::string kind = meta.value("kind", std::string());
  CF_CHECK(kind == o_.stage, "{}: data made with --kind {}, not for --stage {}", meta_path, kind, o_.stage);
  const long longest = meta.value("longest_row", 0L);
  CF_CHECK(longest <= o_.seq_len, "{}: the longest example row has {} tokens, more than --seq-len {}; raise --seq-len "
           "(or rebuild with a smaller --max-len)", meta_path, longest, o_.seq_len);
  CF_CHECK(o_.loader == "documents", "--stage {} reads whole examples: --loader must be documents", o_.stage);
}

// LoRA: the base frozen (no gradient memory), adapters attached and initialised (a resume
// reads them from the checkpoint afterwards), the base's identity for the checkpoints.
void Trainer::open_lora() {
  model::LoraConfig lc;
  lc.rank = o_.lora_rank;
  lc.alpha = o_.lora_alpha > 0 ? o_.lora_alpha : 2.0f * o_.lora_rank;
  lc.dropout = o_.lora_dropout;
  lc.targets = model::split_targets(o_.lora_targets);
  gpt_->freeze_base();
  gpt_->set_chunked_loss(true);  // no (B, T, V) logits: the head and loss run over blocks of rows
  try {
    lora_ = std::make_unique<model::Lora>(gpt_->config(), lc, gpt_->shared_backend());
  } catch (const Error& e) {
    throw UsageError(fmt::format("--lora-targets: {}", e.what()));
  }
  lora_->set_dropout_seed(o_.seed ^ 0x4c6f5241ULL);
  lora_->set_dropout_lanes(comm_.rank(), comm_.world());  // data parallel: masks as one rank accumulating
  lora_->init_weights(o_.seed);
  gpt_->set_lora(lora_.get());
  base_id_ = model::lora_base_identity(*gpt_);
}

void Trainer::print_plan() const {
  if (o_.rank != 0) return;
  if (lora_)
    std::fprintf(stderr, "LoRA: rank %d, alpha %g, dropout %g on %s: %zu trainable parameters (%.2f%% of %zu), base %s frozen in %s\n",
                 lora_->config().rank, lora_->config().alpha, lora_->config().dropout,
                 fmt::format("{}", fmt::join(lora_->target_names(), ",")).c_str(), lora_->params().size(),
                 100.0 * lora_->params().size() / gpt_->config().num_parameters(), gpt_->config().num_parameters(),
                 o_.init.c_str(), ops::weight_format_name(gpt_->base_format()));
  const model::GptConfig& cfg = gpt_->config();
  std::fprintf(stderr,
               "training %s: %zu parameters (%d layers, %d heads, %d channels, vocab %d%s); %d steps of %ld tokens "
               "(%d x %d x %d accumulation x %d ranks); lr %.3g %s, warmup %d; %s, %d threads%s\n",
               o_.stage.c_str(), cfg.num_parameters(), cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size,
               cfg.llama() ? fmt::format(", {}: {} key/value heads", cfg.model_type, cfg.kv_heads()).c_str() : "",
               o_.steps,
               o_.total_batch_tokens, o_.batch_size, o_.seq_len, accum_, o_.world, o_.lr,
               LrSchedule::kind_name(sched_.kind), sched_.warmup, device_.str().c_str(), omp_get_max_threads(),
               o_.recompute == "all"   ? ", activations recomputed in backward"
               : o_.recompute == "mlp" ? ", MLP hidden recomputed in backward"
                                       : "");
  if (o_.world > 1)
    std::fprintf(stderr, "data parallel: %d ranks over %s, %.3g MB buckets%s; optimizer state per rank %.2f MB (%s)\n",
                 o_.world, comm_.backend().c_str(), o_.bucket_mb, o_.comm_overlap ? " overlapped with backward" : "",
                 static_cast<double>(opt_->m().bytes() + opt_->v().bytes()) / (1 << 20),
                 stepper_->zero1() ? fmt::format("ZeRO-1: 1/{} of {:.2f} MB", o_.world,
                                                 2.0 * gpt_->params().bytes() / (1 << 20)).c_str()
                                   : "unsharded");
}

}  // namespace chatforge::train
