// Implementation of trainer.h: the training loop.
#include "train/trainer.h"

#include <omp.h>

#include <atomic>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dist/grad_reducer.h"
#include "dist/nccl_comm.h"
#include "infer/engine.h"
#include "model/checkpoint.h"
#include "model/resize.h"
#include "model/gpt_cuda.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "tokenizer/tokenizer.h"
#include "train/loader.h"
#include "train/run_checkpoint.h"
#include "train/saved_fields.h"
#include "train/train_option_ranges.h"
#include "train/train_options_json.h"
#include "train/train_report.h"

namespace chatforge::train {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_signal{0};

void on_signal(int sig) {
  if (g_signal.load() != 0) {  // a second Ctrl-C: stop now, without the checkpoint
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_signal.store(sig);
}

struct SignalGuard {
  struct sigaction old_int {}, old_term {};
  SignalGuard() {
    g_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

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
    const std::string n = e.path().filename().string();
    if (n.rfind("val-", 0) == 0 && n.size() > 11 && n.substr(n.size() - 4) == ".bin") {
      const std::string task = n.substr(4, n.rfind('_') - 4);
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    }
  }
  std::sort(tasks.begin(), tasks.end());
  for (const auto& t : tasks) sets.emplace_back(t, data::list_shards(dir, "val-" + t));
  return sets;
}

struct EvalResult {
  double loss = NAN, bpb = NAN;
  uint64_t tokens = 0;
};

// gpu: evaluate there (its weights are the current ones) instead of on `gpt`.
EvalResult evaluate(model::Gpt& gpt, model::GptCuda* gpu, ShardLoader& loader, int batches,
                    const tok::Tokenizer* tokenizer) {
  loader.reset();
  EvalResult r;
  double loss_sum = 0, bytes = 0;
  Batch b;
  // never more batches than the split holds (a tiny split is read once, wrapping within
  // its single batch)
  const uint64_t max_batches =
      std::min<uint64_t>(batches, std::max<uint64_t>(1, loader.rows_per_epoch() / loader.batch_rows()));
  for (uint64_t i = 0; i < max_batches; ++i) {
    loader.next(b);
    loss_sum += gpu ? gpu->forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T)
                    : gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T,
                                       {b.doc_ids(), b.positions()});
    r.tokens += b.mask_count();
    if (tokenizer != nullptr)
      for (size_t k = 0; k < b.targets.size(); ++k)
        if (b.mask[k]) bytes += static_cast<double>(tokenizer->token_bytes(b.targets[k]).size());
  }
  if (r.tokens > 0) r.loss = loss_sum / r.tokens;
  if (bytes > 0) r.bpb = loss_sum / std::log(2.0) / bytes;
  return r;
}

// Greedy continuations of the sample prompts through the inference engine (KV cache) on
// the training model's weights. A full forward per new token cost a pass over the whole
// window each time and re-sized the training activations for every length (and back for
// the next step: a zeroed allocation of hundreds of MB at the 124M shape).
std::vector<std::pair<std::string, std::string>> samples(const model::Gpt& gpt, const tok::Tokenizer& tok,
                                                         const std::vector<std::string>& prompts, int max_tokens) {
  std::vector<std::pair<std::string, std::string>> out;
  if (prompts.empty()) return out;
  infer::Engine engine(gpt, 1);
  for (const std::string& prompt : prompts) {
    infer::GenerationRequest r;
    r.prompt = tok.encode(prompt);
    if (r.prompt.empty()) r.prompt.push_back(tok.eot_id());
    r.sampling.temperature = 0;  // greedy
    r.max_new_tokens = max_tokens;
    r.stop_ids = {tok.eot_id()};
    r.context_policy = infer::ContextPolicy::kTruncateOldest;
    r.sample_vocab_size = std::min(tok.vocab_size(), gpt.config().vocab_size);
    out.emplace_back(prompt, tok.decode(engine.generate(std::move(r)).tokens));
  }
  return out;
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

// Data parallel on GPUs: sums the gradients over ranks, with NCCL on device memory when
// this build has it (nccl != nullptr), else through the host communicator (a copy each way).
void reduce_gpu_grads(dist::Comm& comm, dist::Comm* nccl, model::GptCuda& gpu) {
  if (nccl) {
    nccl->all_reduce_sum(gpu.device_grads(), gpu.num_params());
    return;
  }
  std::vector<float> host(gpu.num_params());
  gpu.download_grads(host.data());
  comm.all_reduce_sum(host.data(), host.size());
  gpu.upload_grads(host.data());
}

}  // namespace

void apply_depth(TrainOptions& o, int vocab_size) {
  // One dial, as nanochat does: width = 64 * depth, head size 64, and a learning rate
  // that shrinks with width (AdamW needs smaller steps for wider matrices).
  CF_CHECK(o.depth >= 1 && o.depth <= 48, "--depth must be in 1..48, got {}", o.depth);
  o.model.n_layer = o.depth;
  o.model.n_embd = 64 * o.depth;
  o.model.n_head = o.depth;
  o.model.vocab_size = vocab_size;
  if (o.lr <= 0) o.lr = static_cast<float>(3e-3 * std::sqrt(256.0 / o.model.n_embd));
}

void run_training(TrainOptions o, dist::Comm* comm_arg) {
  // data parallelism: one rank without a communicator
  dist::LocalComm local_comm;
  dist::Comm& comm = comm_arg != nullptr ? *comm_arg : local_comm;
  const bool resuming = !o.resume.empty();
  std::string resume_dir;
  if (resuming) {
    std::vector<std::string> skipped;
    resume_dir = find_latest_checkpoint(o.resume, &skipped);
    if (comm.rank() == 0)
      for (const std::string& d : skipped)
        std::fprintf(stderr, "skipping %s: incomplete checkpoint (no %s marker: its save or removal was cut short)\n",
                     d.c_str(), kCompleteMarker);
    const std::string state_path = resume_dir + "/trainer_state.json";
    nlohmann::json st;
    try {
      st = parse_json(read_file(state_path), state_path);
    } catch (const Error& e) {
      fail("{}; resume from an earlier step_* directory", e.what());
    }
    CF_CHECK(st.is_object(), "{}: not a JSON object; resume from an earlier step_* directory", state_path);
    CF_CHECK(st.contains("options"), "{}: missing field 'options'", state_path);
    const int steps = o.steps;  // the only option a resumed run may change
    const bool steps_given = o.steps > 0;
    const bool progress = o.progress;
    const int stop_after = o.stop_after;
    const TrainOptions runtime = o;  // data-parallel choices belong to this invocation
    o = options_from_json(st.at("options"), state_path);
    validate_train_options(o, state_path);  // a hand-edited file gets the flags' ranges too
    if (steps_given) o.steps = steps;
    o.progress = progress;
    o.stop_after = stop_after;
    o.zero = runtime.zero;
    o.bucket_mb = runtime.bucket_mb;
    o.comm_overlap = runtime.comm_overlap;
    o.device = runtime.device;
    o.dtype = runtime.dtype;
    o.recompute = runtime.recompute;
    o.out_dir = fs::path(resume_dir).parent_path().string();
  }
  validate_train_options(o);  // the flags' ranges (CLI11 checked them already; library callers too)
  // rank and world come from the launcher, never from a saved run (N ranks resume on M)
  o.rank = comm.rank();
  o.world = comm.world();
  CF_CHECK(o.zero == 0 || o.zero == 1, "--zero must be 0 or 1, got {}", o.zero);
  CF_CHECK(o.stage == "pretrain" || o.stage == "sft", "--stage must be pretrain or sft, got '{}'", o.stage);
  CF_CHECK(!o.out_dir.empty(), "--out is required");
  CF_CHECK(o.batch_size >= 1 && o.seq_len >= 1, "--batch-size and --seq-len must be positive");
  // the device first: no GPU (or a build without CUDA) is reported before any work
  const ops::Device device = ops::parse_device(o.device, o.dtype);
  if (device.cuda) ops::activate_device(device, ops::local_rank_from_env());

  // data
  const auto train_files = split_files(o.data_dir, "train", true);
  if (o.loader.empty()) o.loader = o.stage == "sft" ? "documents" : "random";
  const ShardLoader::Mode mode = o.loader == "random"       ? ShardLoader::Mode::kRandom
                                 : o.loader == "sequential" ? ShardLoader::Mode::kSequential
                                 : o.loader == "documents"  ? ShardLoader::Mode::kDocuments
                                                            : throw UsageError("--loader must be random, sequential "
                                                                               "or documents, got '" + o.loader + "'");
  ShardLoader loader(train_files, mode, o.batch_size, o.seq_len, o.seed, o.align_docs, o.rank, o.world);
  CF_CHECK(o.stage != "sft" || loader.has_mask(),
           "{}: SFT needs shards with a loss mask (made by `chatforge data chat`), these have none", o.data_dir);

  // tokenizer (optional: samples and bits per byte need it)
  const std::string tok_dir = find_tokenizer_dir(o);
  std::optional<tok::Tokenizer> tokenizer;
  if (!tok_dir.empty()) {
    tokenizer = tok::Tokenizer::load(tok_dir);
    CF_CHECK(tokenizer->fingerprint().substr(0, 16) == loader.fingerprint().substr(0, 16) || loader.fingerprint().empty(),
             "{} was tokenized with another tokenizer than {} (fingerprints differ); re-run `chatforge data tokenize` "
             "with this tokenizer", o.data_dir, tok_dir);
  }

  // model
  std::unique_ptr<model::Gpt> gpt;
  if (resuming) {
    gpt = std::make_unique<model::Gpt>(model::load_checked_config(resume_dir));
  } else if (!o.init.empty()) {
    gpt = model::load_model(o.init);
    if (loader.vocab_size() > static_cast<uint32_t>(gpt->config().vocab_size) && tokenizer &&
        extends_init_tokenizer(o.init, *tokenizer, gpt->config().vocab_size)) {
      std::fprintf(stderr, "extending the vocabulary of %s from %d to %u tokens (new embeddings start at the mean)\n",
                   o.init.c_str(), gpt->config().vocab_size, loader.vocab_size());
      gpt = model::extend_vocab(*gpt, static_cast<int>(loader.vocab_size()));
    }
    o.model = gpt->config();
  } else {
    if (o.depth > 0) apply_depth(o, static_cast<int>(loader.vocab_size()));
    if (o.model.vocab_size <= 0 || o.depth == 0) o.model.vocab_size = static_cast<int>(loader.vocab_size());
    o.model.n_ctx = std::max(o.model.n_ctx, o.seq_len);
    try {
      o.model.validate("model flags");
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    gpt = std::make_unique<model::Gpt>(o.model);
    gpt->init_weights(o.seed);
  }
  const model::GptConfig& cfg = gpt->config();
  gpt->set_recompute(o.recompute);
  CF_CHECK(loader.vocab_size() <= static_cast<uint32_t>(cfg.vocab_size),
           "{} was tokenized with a vocabulary of {} tokens but the model has {}: data made for another tokenizer",
           o.data_dir, loader.vocab_size(), cfg.vocab_size);
  CF_CHECK(o.seq_len <= cfg.n_ctx, "--seq-len {} is longer than the model's context of {} tokens", o.seq_len,
           cfg.n_ctx);
  if (o.lr <= 0) o.lr = o.stage == "sft" ? 1e-4f : 6e-4f;

  // schedule
  const long micro_tokens = static_cast<long>(o.batch_size) * o.seq_len * o.world;
  if (o.total_batch_tokens <= 0) o.total_batch_tokens = micro_tokens;
  CF_CHECK(o.total_batch_tokens % micro_tokens == 0,
           "--total-batch-tokens {} must be a multiple of batch-size x seq-len x ranks = {}", o.total_batch_tokens,
           micro_tokens);
  const int accum = static_cast<int>(o.total_batch_tokens / micro_tokens);
  if (o.epochs > 0 && !resuming) {
    const double rows = static_cast<double>(loader.rows_per_epoch()) * o.epochs;
    o.steps = std::max(1, static_cast<int>(std::ceil(rows / (static_cast<double>(o.batch_size) * o.world * accum))));
  }
  CF_CHECK(o.steps >= 1, "--steps must be at least 1");
  LrSchedule sched;
  sched.lr = o.lr;
  sched.total = o.steps;
  sched.warmup = o.warmup >= 0 ? o.warmup : std::max(0, o.steps / 50);
  sched.kind = LrSchedule::parse_kind(o.lr_schedule);
  sched.min_lr_ratio = o.min_lr_ratio;
  AdamW opt(*gpt, o.adamw);
  // ZeRO-1: this rank keeps Adam moments only for its contiguous slice of the arena
  const size_t n_params = gpt->params().size();
  const std::vector<size_t> shard = dist::shard_counts(n_params, o.world);
  size_t shard_begin = 0;
  for (int r = 0; r < o.rank; ++r) shard_begin += shard[r];
  const bool zero1 = o.zero == 1 && o.world > 1;
  CF_CHECK(!(zero1 && device.cuda), "--zero 1 is not supported with --device cuda yet (use --zero 0)");
  if (zero1) opt.shard(shard_begin, shard_begin + shard[o.rank]);
  // Full (unsharded) Adam state: what a checkpoint holds whatever the rank count.
  auto gather_full_optimizer = [&] {
    AdamW full(*gpt, o.adamw);
    full.set_step(opt.step());
    std::copy(opt.m().data(), opt.m().data() + opt.m().size(), full.m().data() + shard_begin);
    std::copy(opt.v().data(), opt.v().data() + opt.v().size(), full.v().data() + shard_begin);
    comm.all_gather(full.m().data(), shard);
    comm.all_gather(full.v().data(), shard);
    return full;
  };

  // validation
  std::vector<std::pair<std::string, std::unique_ptr<ShardLoader>>> val_loaders;
  for (auto& [name, files] : validation_sets(o.data_dir)) {
    const auto vmode = mode == ShardLoader::Mode::kDocuments ? mode : ShardLoader::Mode::kSequential;
    val_loaders.emplace_back(name, std::make_unique<ShardLoader>(files, vmode, o.batch_size, o.seq_len, 12345));
  }
  if (o.sample_prompts.empty() && tokenizer && !val_loaders.empty() && o.stage == "pretrain") {
    // default prompts: the first words of two validation documents
    Batch b;
    val_loaders.front().second->reset();
    val_loaders.front().second->next(b);
    for (int r = 0; r < std::min(2, b.B); ++r) {
      std::vector<int32_t> head(b.inputs.begin() + r * b.T, b.inputs.begin() + r * b.T + std::min(b.T, 8));
      o.sample_prompts.push_back(tokenizer->decode(head));
    }
  }

  // state
  int step = 0;
  uint64_t tokens_seen = 0;
  double best_val = INFINITY;
  int best_step = -1, bad_evals = 0, bad_streak = 0;
  if (o.rank == 0) {  // before this run writes there: temps of a killed earlier run go
    const std::vector<std::string> removed = remove_stale_run_temps(o.out_dir);
    if (!removed.empty())
      std::fprintf(stderr, "removed %zu temporary file(s) a killed earlier run left in %s (%s%s)\n", removed.size(),
                   o.out_dir.c_str(), removed.front().c_str(), removed.size() > 1 ? ", ..." : "");
  }
  TrainReport report(o.out_dir, o.rank == 0);
  if (resuming) {
    // the checkpoint holds the full Adam state; a ZeRO-1 rank keeps its slice of it
    AdamW full(*gpt, o.adamw);
    const SavedRun saved = load_training_checkpoint(resume_dir, *gpt, zero1 ? full : opt);
    if (zero1) {
      std::copy(full.m().data() + shard_begin, full.m().data() + shard_begin + opt.m().size(), opt.m().data());
      std::copy(full.v().data() + shard_begin, full.v().data() + shard_begin + opt.v().size(), opt.v().data());
      opt.set_step(full.step());
    }
    const std::string state_path = saved.dir + "/trainer_state.json";
    const SavedFields s{saved.state, state_path, ""};
    step = static_cast<int>(s.integer("step", 0, INT32_MAX));
    tokens_seen = s.u64_string("tokens");
    best_val = s.number_or_null("best_val_loss");
    if (std::isnan(best_val)) best_val = INFINITY;
    best_step = static_cast<int>(s.integer("best_step", -1, INT32_MAX));
    bad_evals = static_cast<int>(s.integer("bad_evals", 0, INT32_MAX));
    loader.restore(s.at("loader"), state_path);
    report.resume_at(step);
    if (o.rank == 0) std::fprintf(stderr, "resuming %s at step %d of %d\n", resume_dir.c_str(), step, o.steps);
  } else {
    make_dirs(o.out_dir);
    report.start_fresh();
  }
  if (o.rank == 0) write_file_atomic(o.out_dir + "/run.json", options_to_json(o).dump(2) + "\n");
  // --device cuda: the model and its Adam moments move to the GPU; the host copies are
  // refreshed (sync_host) before anything reads them: evaluation samples, checkpoints.
  std::unique_ptr<model::GptCuda> gpu;
  // The CUDA attention has no document masks yet: packed rows would attend across documents.
  CF_CHECK(!(device.cuda && loader.packed()),
           "{}: packed rows (data chat --pack) train on --device cpu only for now; rebuild the shards without --pack",
           o.data_dir);
  CF_CHECK(!(device.cuda && o.recompute), "--recompute is implemented for --device cpu only");
  if (device.cuda) {
    gpu = std::make_unique<model::GptCuda>(cfg, device.bf16);
    gpu->upload_params(gpt->params().data());
    gpu->upload_moments(opt.m().data(), opt.v().data());
  }
  std::unique_ptr<dist::Comm> nccl;  // GPU gradients all-reduced on the devices
  if (gpu && o.world > 1 && dist::nccl_built()) nccl = dist::make_nccl_comm(comm);
  auto sync_host = [&] {
    if (!gpu) return;
    gpu->download_params(gpt->params().data());
    gpu->download_moments(opt.m().data(), opt.v().data());
  };
  const uint64_t ckpt_bytes = gpt->params().bytes() * 3 + (64 << 10);  // weights, m, v + small files
  const uint64_t free_bytes = free_disk_bytes(o.out_dir);
  CF_CHECK(free_bytes >= ckpt_bytes * 2,
           "not enough free disk space in {}: {} MB free, checkpoints need about {} MB (two at a time)", o.out_dir,
           free_bytes >> 20, (ckpt_bytes * 2) >> 20);

  const double peak = o.peak_gflops > 0 ? o.peak_gflops : ops::peak_gflops(device);
  const double flops_per_token = gpt->flops_per_token(o.seq_len);
  if (o.rank == 0) {
    std::fprintf(stderr,
                 "training %s: %zu parameters (%d layers, %d heads, %d channels, vocab %d); %d steps of %ld tokens "
                 "(%d x %d x %d accumulation x %d ranks); lr %.3g %s, warmup %d; %s, %d threads%s\n",
                 o.stage.c_str(), cfg.num_parameters(), cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size, o.steps,
                 o.total_batch_tokens, o.batch_size, o.seq_len, accum, o.world, o.lr,
                 LrSchedule::kind_name(sched.kind), sched.warmup, device.str().c_str(), omp_get_max_threads(),
                 o.recompute ? ", activations recomputed in backward" : "");
  }
  if (o.world > 1 && o.rank == 0)
    std::fprintf(stderr, "data parallel: %d ranks over %s, %.3g MB buckets%s; optimizer state per rank %.2f MB (%s)\n",
                 o.world, comm.backend().c_str(), o.bucket_mb, o.comm_overlap ? " overlapped with backward" : "",
                 static_cast<double>(opt.m().bytes() + opt.v().bytes()) / (1 << 20),
                 zero1 ? fmt::format("ZeRO-1: 1/{} of {:.2f} MB", o.world,
                                     2.0 * gpt->params().bytes() / (1 << 20)).c_str()
                       : "unsharded");

  auto state_json = [&] {
    return nlohmann::json{{"step", step},
                          {"tokens", std::to_string(tokens_seen)},
                          {"best_val_loss", std::isfinite(best_val) ? nlohmann::json(best_val) : nlohmann::json()},
                          {"best_step", best_step},
                          {"bad_evals", bad_evals},
                          {"loader", loader.state()},
                          {"lr_at_step", sched.at(step)},
                          {"options", options_to_json(o)}};
  };
  auto save = [&](bool is_best) {
    sync_host();
    std::optional<AdamW> full;  // ZeRO-1: every rank sends its slice, rank 0 writes it all
    if (zero1) full.emplace(gather_full_optimizer());
    if (o.rank != 0) return std::string();
    std::string d;
    try {
      d = save_training_checkpoint(o.out_dir, step, *gpt, full ? *full : opt, state_json(), tok_dir, is_best);
    } catch (const Error& e) {
      fail("saving the checkpoint of step {} failed: {}; the previous checkpoint ({}/last) is intact", step, e.what(),
           o.out_dir);
    }
    prune_checkpoints(o.out_dir, o.keep);
    return d;
  };

  SignalGuard signals;
  ProgressBar bar("train", static_cast<uint64_t>(o.steps), "steps", o.progress && o.rank == 0);
  bar.update(step);
  std::vector<Batch> micro(accum);
  Timer run_timer;
  bool stop_early = false;
  while (step < o.steps) {
    Timer t;
    // Load the whole step's micro-batches first: the loss is normalised by the number of
    // target tokens in the full batch, which must be known before the first backward.
    // With N ranks the count is the sum over ranks (SFT masks differ per rank).
    comm.reset_comm_seconds();
    uint64_t count = 0;
    for (auto& b : micro) {
      loader.next(b);
      count += b.mask_count();
    }
    if (o.world > 1) {
      double c = static_cast<double>(count);
      comm.all_reduce_sum(&c, 1);
      count = static_cast<uint64_t>(c);
    }
    double loss_sum = 0;
    const float dloss = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
    float norm = 0;
    if (gpu) {
      gpu->zero_grad();
      for (auto& b : micro) {
        loss_sum += gpu->forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
        gpu->backward(dloss);
      }
      if (o.world > 1) {
        reduce_gpu_grads(comm, nccl.get(), *gpu);
        comm.all_reduce_sum(&loss_sum, 1);
      }
      norm = static_cast<float>(std::sqrt(gpu->grad_sum_squares()));
    } else {
    gpt->zero_grad();
    // Data parallel: each rank's gradients are summed over ranks (dloss already divides
    // by the global count, so the sum is the gradient of the global mean loss). In the
    // last micro-batch a layer's bucket starts as soon as its gradients are final.
    std::optional<dist::GradReducer> reducer;
    if (o.world > 1)
      reducer.emplace(comm, gpt->grads().data(), static_cast<size_t>(std::max(1.0, o.bucket_mb * (1 << 20) / 4)));
    const auto& tensors = gpt->layout().tensors();
    for (size_t i = 0; i < micro.size(); ++i) {
      auto& b = micro[i];
      loss_sum += gpt->forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T,
                                   {b.doc_ids(), b.positions()});
      if (reducer && o.comm_overlap && i + 1 == micro.size())
        gpt->on_layer_grads_done = [&](int l) {
          for (const auto& t : tensors)  // layer l's slice of each stacked (L, ...) tensor
            if (t.per_layer) {
              const size_t per = t.numel() / cfg.n_layer;
              reducer->ready(t.offset + l * per, per);
            }
        };
      gpt->backward(b.inputs.data(), b.targets.data(), b.mask.data(), dloss);
      gpt->on_layer_grads_done = nullptr;
    }
    if (reducer) {
      for (const auto& t : tensors)  // the rest: embeddings, final LayerNorm (and all without overlap)
        if (!t.per_layer || !o.comm_overlap) reducer->ready(t.offset, t.numel());
      reducer->finish();
      comm.all_reduce_sum(&loss_sum, 1);
    }
    // ZeRO-1: the norm of the reduced gradient from each rank's slice (squared sums added)
    if (zero1) {
      double sq = ops::sum_squares(gpt->grads().data() + shard_begin, shard[o.rank]);
      comm.all_reduce_sum(&sq, 1);
      norm = static_cast<float>(std::sqrt(sq));
    } else {
      norm = grad_norm(*gpt);
    }
    }  // cpu
    const double loss = count > 0 ? loss_sum / count : 0.0;
    const float lr = sched.at(step);
    if (!std::isfinite(loss) || !std::isfinite(norm)) {
      ++bad_streak;
      std::fprintf(stderr, "\nwarning: step %d: non-finite %s (%s); update skipped (%d in a row)\n", step + 1,
                   std::isfinite(loss) ? "gradient norm" : "loss", std::isfinite(loss) ? "inf/nan" : "inf/nan",
                   bad_streak);
      CF_CHECK(bad_streak < o.max_bad_steps,
               "stopping: {} non-finite losses or gradients in a row at step {}; the last good checkpoint is in {} "
               "(try a lower --lr)",
               bad_streak, step + 1, o.out_dir);
      if (gpu) gpu->zero_grad(); else gpt->zero_grad();
    } else if (gpu) {
      bad_streak = 0;
      opt.update(*gpu, lr, norm);
    } else {
      bad_streak = 0;
      opt.update(*gpt, lr, norm);
      if (zero1) comm.all_gather(gpt->params().data(), shard);  // every rank's updated slice to all
    }
    ++step;
    tokens_seen += static_cast<uint64_t>(o.total_batch_tokens);
    const double dt = t.seconds();
    const double tok_s = o.total_batch_tokens / dt;
    const double mfu = flops_per_token * tok_s / (peak * 1e9);
    if (step % o.log_every == 0 || step == o.steps)
      report.log_train(step, loss, lr, norm, tok_s, mfu, tokens_seen, run_timer.seconds(), o.world > 1 ? dt : -1,
                       o.world > 1 ? comm.comm_seconds() : -1);
    bar.update(static_cast<uint64_t>(step), fmt::format("loss {:.4f} lr {:.2e} {} tok/s MFU {:.0f}%", loss, lr,
                                                        format_count(tok_s), 100 * mfu));

    const bool last = step == o.steps;
    bool is_best = false;
    // rank 0 alone evaluates; its decisions (and a signal it got) reach the others below
    if (o.eval_every > 0 && (step % o.eval_every == 0 || last) && !val_loaders.empty() && o.rank == 0) {
      EvalRecord rec;
      rec.step = step;
      sync_host();  // the samples run on the host copy
      for (auto& [name, vl] : val_loaders) {
        const EvalResult r = evaluate(*gpt, gpu.get(), *vl, o.eval_batches, tokenizer ? &*tokenizer : nullptr);
        if (name == "val") {
          rec.val_loss = r.loss;
          rec.val_bpb = r.bpb;
        } else {
          rec.task_losses[name] = r.loss;
        }
      }
      if (!std::isfinite(rec.val_loss) && !rec.task_losses.empty()) {  // only per-task sets: their mean
        double s = 0;
        for (auto& [k, v] : rec.task_losses) s += v;
        rec.val_loss = s / rec.task_losses.size();
      }
      if (tokenizer)
        rec.samples = samples(*gpt, *tokenizer, o.sample_prompts, o.sample_tokens);
      if (rec.val_loss < best_val - 1e-7) {
        best_val = rec.val_loss;
        best_step = step;
        bad_evals = 0;
        is_best = true;
      } else {
        ++bad_evals;
      }
      report.log_eval(rec);
      if (o.progress && o.rank == 0)
        std::fprintf(stderr, "\nstep %d: val loss %.4f (ppl %.2f%s)%s\n", step, rec.val_loss, std::exp(rec.val_loss),
                     std::isfinite(rec.val_bpb) ? fmt::format(", {:.3f} bits/byte", rec.val_bpb).c_str() : "",
                     is_best ? " best so far" : "");
      if (o.patience > 0 && bad_evals >= o.patience) stop_early = true;
    }
    int sig = g_signal.load();
    if (o.world > 1) {
      int decision[3] = {is_best ? 1 : 0, stop_early ? 1 : 0, sig};
      comm.broadcast(decision, sizeof decision, 0);
      is_best = decision[0] != 0;
      stop_early = decision[1] != 0;
      sig = decision[2];
    }
    const bool pause = o.stop_after > 0 && step == o.stop_after && !last;
    if (is_best || last || stop_early || sig != 0 || pause || (o.save_every > 0 && step % o.save_every == 0)) {
      const std::string d = save(is_best);
      report.write_html();
      if (sig != 0 || pause) {
        bar.finish(pause ? "paused" : "interrupted");
        if (o.rank == 0)
        std::fprintf(stderr, "%s at step %d: checkpoint saved to %s\nresume with: chatforge train --resume %s\n",
                     pause ? "stopped (--stop-after)" : sig == SIGINT ? "interrupted" : "terminated", step, d.c_str(),
                     o.out_dir.c_str());
        return;
      }
    }
    if (stop_early) {
      bar.finish("early stop");
      if (o.rank == 0)
      std::fprintf(stderr, "early stopping at step %d: no validation improvement in %d evaluations; best step %d "
                   "(val loss %.4f) is in %s/best\n", step, o.patience, best_step, best_val, o.out_dir.c_str());
      return;
    }
  }
  bar.finish(fmt::format("final loss {:.4f}", report.last_train_loss()));
  report.write_html();
  if (o.rank == 0)
  std::fprintf(stderr, "done: %d steps, %s tokens in %s; checkpoints in %s (last%s); report %s/report.html\n", step,
               format_count(static_cast<double>(tokens_seen)).c_str(), format_duration(run_timer.seconds()).c_str(),
               o.out_dir.c_str(), best_step >= 0 ? ", best" : "", o.out_dir.c_str());
}

}  // namespace chatforge::train
