// Implementation of trainer.h: step, evaluate, save, and run_training's loop over them
// (the constructor, which opens a run, is trainer_open.cpp).
#include "train/trainer.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/timer.h"
#include "infer/engine.h"
#include "train/run_checkpoint.h"
#include "train/train_options_json.h"

namespace chatforge::train {

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

struct EvalResult {
  double loss = NAN, bpb = NAN;
  uint64_t tokens = 0;
};

EvalResult evaluate_split(model::Gpt& gpt, ShardLoader& loader, int batches,
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
    loss_sum += gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T,
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

StepStats Trainer::step() {
  // Load the whole step's micro-batches first: the loss is normalised by the number of
  // target tokens in the full batch, which must be known before the first backward.
  Timer t;
  for (auto& b : micro_) loader_->next(b);
  const float lr = sched_.at(step_);
  if (lora_) lora_->set_training(true);  // adapter dropout in training steps only
  if (objective_) objective_->reset_metrics();
  const StepStats st = stepper_->run(micro_, lr);
  if (lora_) lora_->set_training(false);
  if (!st.applied) {
    ++bad_streak_;
    std::fprintf(stderr, "\nwarning: step %d: non-finite %s (inf/nan); update skipped (%d in a row)\n", step_ + 1,
                 std::isfinite(st.loss) ? "gradient norm" : "loss", bad_streak_);
    CF_CHECK(bad_streak_ < o_.max_bad_steps,
             "stopping: {} non-finite losses or gradients in a row at step {}; the last good checkpoint is in {} "
             "(try a lower --lr)",
             bad_streak_, step_ + 1, o_.out_dir);
  } else {
    bad_streak_ = 0;
  }
  ++step_;
  tokens_seen_ += static_cast<uint64_t>(o_.total_batch_tokens);
  const double dt = t.seconds();
  const double tok_s = o_.total_batch_tokens / dt;
  // Against the measured FMA peak (ops::peak_gflops) no step can pass 100%; above it the
  // peak given with --peak-gflops is too low, so MFU is unknown (NaN, printed n/a), never
  // a figure above 100%.
  const double mfu_measured = flops_per_token_ * tok_s / (peak_gflops_ * 1e9);
  const double mfu = mfu_measured <= 1.0 ? mfu_measured : std::nan("");
  if (step_ % o_.log_every == 0 || step_ == o_.steps)
    report_->log_train(step_, st.loss, lr, st.grad_norm, tok_s, mfu, tokens_seen_, run_timer_.seconds(),
                       o_.world > 1 ? dt : -1, o_.world > 1 ? st.comm_seconds : -1);
  last_tok_s_ = tok_s;
  last_mfu_ = mfu;
  last_lr_ = lr;
  return st;
}

bool Trainer::eval_due() const {
  return o_.eval_every > 0 && (step_ % o_.eval_every == 0 || step_ == o_.steps) && !val_loaders_.empty();
}

EvalRecord Trainer::evaluate(bool* is_best) {
  EvalRecord rec;
  rec.step = step_;
  *is_best = false;
  for (auto& [name, vl] : val_loaders_) {
    if (objective_) {  // the preference loss and its metrics on the held-out examples
      objective_->reset_metrics();
      vl->reset();
      Batch b;
      const uint64_t n = eval_batch_count(*vl);
      for (uint64_t i = 0; i < n; ++i) {
        vl->next(b);
        objective_->forward(*gpt_, b);
      }
      for (const auto& [k, v] : objective_->metrics().means(o_.stage)) {
        if (k == "loss" && name == "val") rec.val_loss = v;
        else if (k == "loss") rec.task_losses[name] = v;
        else rec.metrics[name == "val" ? k : name + "/" + k] = v;
      }
      continue;
    }
    const EvalResult r = evaluate_split(*gpt_, *vl, o_.eval_batches, tokenizer_.get());
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
  if (tokenizer_) rec.samples = samples(*gpt_, *tokenizer_, o_.sample_prompts, o_.sample_tokens);
  if (rec.val_loss < best_val_ - 1e-7) {
    best_val_ = rec.val_loss;
    best_step_ = step_;
    bad_evals_ = 0;
    *is_best = true;
  } else {
    ++bad_evals_;
  }
  report_->log_eval(rec);
  return rec;
}

nlohmann::json Trainer::state_json() const {
  nlohmann::json j{{"step", step_},
                        {"tokens", std::to_string(tokens_seen_)},
                        {"best_val_loss", std::isfinite(best_val_) ? nlohmann::json(best_val_) : nlohmann::json()},
                        {"best_step", best_step_},
                        {"bad_evals", bad_evals_},
                        {"loader", loader_->state()},
                        {"lr_at_step", sched_.at(step_)},
                        {"options", options_to_json(o_)}};
  if (lora_) {
    j["lora_base"] = base_id_;
    j["lora_dropout_counter"] = std::to_string(lora_->dropout_counter());
  }
  return j;
}

std::string Trainer::save(bool is_best) {
  gpt_->pull_params();  // on a device: the host copies the checkpoint is written from
  if (lora_) lora_->pull_params();
  AdamW full = stepper_->gather_optimizer();  // ZeRO-1: every rank sends its slice
  if (o_.rank != 0) return "";
  std::string d;
  try {
    d = save_training_checkpoint(o_.out_dir, step_, *gpt_, full, state_json(), tok_dir_, is_best);
  } catch (const Error& e) {
    fail("saving the checkpoint of step {} failed: {}; the previous checkpoint ({}/last) is intact", step_, e.what(),
         o_.out_dir);
  }
  prune_checkpoints(o_.out_dir, o_.keep);
  return d;
}

void Trainer::write_report() const { report_->write_html(); }
double Trainer::last_train_loss() const { return report_->last_train_loss(); }
double Trainer::elapsed_seconds() const { return run_timer_.seconds(); }

void run_training(TrainOptions options, dist::Comm* comm) {
  Trainer t(std::move(options), comm);
  const TrainOptions& o = t.options();
  dist::LocalComm local;
  dist::Comm& group = comm != nullptr ? *comm : local;
  SignalGuard signals;
  ProgressBar bar("train", static_cast<uint64_t>(o.steps), "steps", o.progress && o.rank == 0);
  bar.update(t.steps_done());
  bool stop_early = false;
  while (!t.done()) {
    const StepStats st = t.step();
    bar.update(static_cast<uint64_t>(t.steps_done()),
               fmt::format("loss {:.4f} lr {:.2e} {} tok/s MFU {}", st.loss, t.last_lr(),
                           format_count(t.last_tok_s()),
                           std::isnan(t.last_mfu()) ? std::string("n/a") : fmt::format("{:.0f}%", 100 * t.last_mfu())));
    const int step = t.steps_done();
    const bool last = t.done();
    bool is_best = false;
    // rank 0 alone evaluates; its decisions (and a signal it got) reach the others below
    if (t.eval_due() && o.rank == 0) {
      const EvalRecord rec = t.evaluate(&is_best);
      if (o.progress)
        std::fprintf(stderr, "\nstep %d: val loss %.4f (ppl %.2f%s)%s\n", step, rec.val_loss, std::exp(rec.val_loss),
                     std::isfinite(rec.val_bpb) ? fmt::format(", {:.3f} bits/byte", rec.val_bpb).c_str() : "",
                     is_best ? " best so far" : "");
      stop_early = t.patience_exhausted();
    }
    int sig = g_signal.load();
    if (o.world > 1) {
      int decision[3] = {is_best ? 1 : 0, stop_early ? 1 : 0, sig};
      group.broadcast(decision, sizeof decision, 0);
      is_best = decision[0] != 0;
      stop_early = decision[1] != 0;
      sig = decision[2];
    }
    const bool pause = o.stop_after > 0 && step == o.stop_after && !last;
    if (is_best || last || stop_early || sig != 0 || pause || (o.save_every > 0 && step % o.save_every == 0)) {
      const std::string d = t.save(is_best);
      t.write_report();
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
                     "(val loss %.4f) is in %s/best\n", step, o.patience, t.best_step(), t.best_val_loss(),
                     o.out_dir.c_str());
      return;
    }
  }
  bar.finish(fmt::format("final loss {:.4f}", t.last_train_loss()));
  t.write_report();
  if (o.rank == 0)
    std::fprintf(stderr, "done: %d steps, %s tokens in %s; checkpoints in %s (last%s); report %s/report.html\n",
                 t.steps_done(), format_count(static_cast<double>(t.tokens_seen())).c_str(),
                 format_duration(t.elapsed_seconds()).c_str(), o.out_dir.c_str(), t.best_step() >= 0 ? ", best" : "",
                 o.out_dir.c_str());
}

}  // namespace chatforge::train
