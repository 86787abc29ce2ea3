// The demo pipeline (see demo_pipeline.h). Each stage is a child `chatforge` process so
// the demo runs exactly the commands the docs teach; OUT/commands.sh replays them.
#include "demo/demo_pipeline.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/rng.h"
#include "core/timer.h"
#include "demo/demo_data.h"
#include "demo/demo_marker.h"
#include "demo/demo_report.h"
#include "eval/report_html.h"
#include "eval/text_files.h"
#include "model/gpt.h"
#include "ops/backend.h"
#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"
#include "ops/device.h"
#include "ops/ops.h"

extern char** environ;

namespace chatforge::demo {
namespace {

using nlohmann::json;

// The demo model: 4 layers, 256 channels, 256 positions, as long as the rows it trains on
// (positions beyond the training rows would learn nothing). 256 holds a conversation of
// five or six questions and answers with the system prompt (128 ran out at the fourth).
// The tokenizer may have up to kVocab ids; the demo's prose yields fewer (about 2,400).
constexpr int kLayers = 4, kHeads = 4, kEmbd = 256, kCtx = 256, kVocab = 4096;
constexpr int kPretrainBatch = 8, kPretrainSeq = 256;
constexpr int kSftBatch = 8, kSftSeq = 256;
// Share of the training time that goes to pretraining; fine-tuning gets the rest (its
// validation loss was still falling at the end of a run, pretraining's had levelled off).
constexpr double kPretrainShare = 0.2;

std::string shell_quote(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("-_./=:,+@%").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `self_exe ARGS...` as a child (stdin from `input_file` when given, else ours) and
// returns its exit code (128 + signal when killed).
int run_child(const std::string& self_exe, const std::string& name, const std::vector<std::string>& args,
              const std::string& input_file) {
  std::vector<std::string> argv_s = {self_exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!input_file.empty()) posix_spawn_file_actions_addopen(&fa, 0, input_file.c_str(), O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self_exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  CF_CHECK(rc == 0, "stage '{}': cannot start {}: {}", name, self_exe, std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) CF_CHECK(errno == EINTR, "stage '{}': waitpid failed", name);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string command_line(const std::vector<std::string>& args) {
  std::string cmd = "chatforge";
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  return cmd;
}

// What --serve and --chat run on the finished demo in OUT.
// The web page's example questions: phrasings the demo's model was trained on, in both
// languages (knowledge_base.cpp: price, returns, warranty, shipping time).
const std::vector<std::string> kServeExamples = {"How much does the AeroBrew X2 cost?", "What is your return policy?",
                                                 "AeroBrew X2保修几年？", "多久能到货？"};

std::vector<std::string> serve_args(const DemoOptions& opt) {
  const std::string& o = opt.out;
  std::vector<std::string> args = {"serve", "--model", o + "/runs/sft/last", "--model-name", "nimbus",
                                   "--host", opt.host, "--port", std::to_string(opt.port),
                                   "--db", o + "/feedback.db", "--system", std::string(system_prompt())};
  for (const auto& e : kServeExamples) args.insert(args.end(), {"--example", e});
  return args;
}
std::vector<std::string> chat_args(const DemoOptions& opt) { return {"chat", "--config", opt.out + "/chat.toml"}; }

struct StageRecord {
  std::string name, command, output;  // output: the artefact a user looks at
  double seconds = 0;
};

class Runner {
 public:
  Runner(const DemoOptions& opt, int n_stages) : opt_(opt), n_stages_(n_stages) {
    script_ = "#!/bin/sh\n# The commands `chatforge demo` ran, in order; edit the paths to use your own data.\nset -e\n";
  }

  // Runs `chatforge ARGS...` (stdin from `input_file` when given) and records it.
  void run(const std::string& name, const std::vector<std::string>& args, const std::string& output,
           const std::string& input_file = "") {
    std::string cmd = command_line(args);
    if (!input_file.empty()) cmd += " < " + shell_quote(input_file);
    begin(name, cmd);
    Timer t;
    const int code = run_child(opt_.self_exe, name, args, input_file);
    CF_CHECK(code == 0, "stage '{}' failed (exit {}); its command: {}", name, code, cmd);
    end(name, cmd, output, t.seconds());
  }

  // A stage done inside this process (data generation, the report).
  void begin(const std::string& name, const std::string& what) {
    ++index_;
    std::fprintf(stderr, "\n\033[1m==> [%d/%d] %s\033[0m  (%.0fs elapsed)\n    $ %s\n", index_, n_stages_, name.c_str(),
                 clock_.seconds(), what.c_str());
    std::fflush(stderr);
  }
  void end(const std::string& name, const std::string& cmd, const std::string& output, double seconds) {
    stages_.push_back({name, cmd, output, seconds});
    if (cmd.starts_with("chatforge")) script_ += cmd + "\n";
    write_file_atomic(opt_.out + "/commands.sh", script_);
  }

  double elapsed() const { return clock_.seconds(); }
  const std::vector<StageRecord>& stages() const { return stages_; }

 private:
  const DemoOptions& opt_;
  int n_stages_ = 0, index_ = 0;
  Timer clock_;
  std::string script_;
  std::vector<StageRecord> stages_;
};

// The demo model's architecture: GPT-2, or a Llama-family block with 2 key/value heads.
model::ArchOptions demo_arch(const DemoOptions& opt) {
  model::ArchOptions a;
  a.arch = opt.arch;
  if (opt.arch != "gpt2") a.n_kv_head = 2;
  return a;
}

// Seconds of one optimizer step of the demo model at (B, T), measured here on random
// tokens (the best of eight steps after two warm-up ones: the first steps fault in memory
// and, on AMX, set up the tiles; a best of four read 0.12-0.19 s for one 0.127 s step), so
// step counts fit the budget.
double measure_step_seconds(const model::ArchOptions& arch, const std::string& dtype, int B, int T, int vocab) {
  model::GptConfig sizes;
  sizes.n_layer = kLayers;
  sizes.n_head = kHeads;
  sizes.n_embd = kEmbd;
  sizes.vocab_size = vocab;
  sizes.n_ctx = kCtx;
  model::Gpt gpt(model::new_model_config(sizes, arch), ops::make_backend(ops::parse_device("cpu", dtype)));
  gpt.init_weights(1);
  Rng rng(7);
  std::vector<int32_t> inp(static_cast<size_t>(B) * T), tgt(inp.size());
  for (auto& x : inp) x = static_cast<int32_t>(rng.below(vocab));
  for (auto& x : tgt) x = static_cast<int32_t>(rng.below(vocab));
  double best = 1e30;
  for (int i = 0; i < 10; ++i) {
    Timer t;
    gpt.zero_grad();
    gpt.forward_loss(inp.data(), tgt.data(), nullptr, B, T);
    gpt.backward(1.0f / static_cast<float>(inp.size()));
    if (i > 1) best = std::min(best, t.seconds());
  }
  // AdamW over all parameters, the loader and logging add a little more.
  return best * 1.15;
}

// The number of ids a trained tokenizer.json holds (its vocabulary and added tokens).
int tokenizer_vocab_size(const std::string& path) {
  const json j = read_json_or_empty(path);
  int n = 0;
  if (j.contains("model") && j["model"].contains("vocab"))
    for (const auto& [tok, id] : j["model"]["vocab"].items())
      if (id.is_number_integer()) n = std::max(n, id.get<int>() + 1);
  if (j.contains("added_tokens"))
    for (const auto& t : j["added_tokens"]) n = std::max(n, t.value("id", -1) + 1);
  return n > 0 ? n : kVocab;
}

double last_val_loss(const std::string& metrics_jsonl) {
  double v = NAN;
  if (!file_exists(metrics_jsonl)) return v;
  const std::string text = read_file(metrics_jsonl);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    try {
      const json j = parse_json(std::string_view(text).substr(pos, nl - pos), metrics_jsonl);
      if (j.value("type", "") == "eval" && j["val_loss"].is_number()) v = j["val_loss"].get<double>();
    } catch (const std::exception&) {
    }
    pos = nl + 1;
  }
  return v;
}

// Seconds between training steps `from` and `to` by the trainer's own clock (elapsed_s of
// its metrics.jsonl); throws when the log lacks either.
double train_seconds_between(const std::string& metrics_jsonl, int from, int to) {
  double t_from = NAN, t_to = NAN;
  for (const auto& [line, j] : eval::read_jsonl(metrics_jsonl))
    if (j.value("type", "") == "train" && j.contains("step") && j.contains("elapsed_s")) {
      if (j["step"] == from) t_from = j["elapsed_s"].get<double>();
      if (j["step"] == to) t_to = j["elapsed_s"].get<double>();
    }
  CF_CHECK(!std::isnan(t_from) && !std::isnan(t_to), "{}: no steps {} and {} logged", metrics_jsonl, from, to);
  return t_to - t_from;
}

// The on-topic items of the held-out sets answered with the refusal, in percent.
double on_topic_refused(const std::vector<const EvalScores*>& sets) {
  size_t n = 0, refused = 0;
  for (const auto* s : sets)
    for (const auto& it : s->items) {
      ++n;
      refused += it.refused;
    }
  return n == 0 ? NAN : 100.0 * static_cast<double>(refused) / static_cast<double>(n);
}

// A few answers of an evaluation set, per language, marked right or wrong.
std::vector<std::string> sample_lines(const EvalScores& s, size_t per_group) {
  std::vector<std::string> lines;
  std::map<std::string, size_t> shown;
  for (const auto& it : s.items) {
    if (shown[it.lang]++ >= per_group) continue;
    if (!it.prior_question.empty()) lines.push_back(fmt::format("        (after: {})", it.prior_question));
    lines.push_back(fmt::format("{} user:      {}", it.right ? "[right]" : "[wrong]", it.question));
    lines.push_back(fmt::format("        assistant: {}", it.output));
  }
  return lines;
}

// "en 90.4%  zh 92.3%  (all 91.3%)"
std::string accuracy_line(const EvalScores& s) {
  std::string line;
  for (const auto& [g, v] : s.groups) line += fmt::format("{} {}  ", g, percent(v));
  return line + fmt::format("(all {})", percent(s.all));
}

std::vector<std::vector<std::string>> stage_rows(const Runner& runner) {
  using eval::html_escape;
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : runner.stages()) {
    const std::string link = s.output.ends_with(".html")
                                 ? fmt::format("<a href=\"{}\">{}</a>", html_escape(s.output), html_escape(s.output))
                                 : html_escape(s.output);
    rows.push_back({html_escape(s.name), fmt::format("{:.1f}s", s.seconds), link,
                    "<code>" + html_escape(s.command) + "</code>"});
  }
  return rows;
}

}  // namespace

namespace {

// --serve/--chat on a directory that holds a finished demo made with these options: serve
// or chat with it instead of training again. True when it did.
bool reuse_finished_demo(const DemoOptions& opt) {
  if (!(opt.serve || opt.chat) || opt.fresh) return false;
  const ReuseDecision d = check_finished_demo(opt);
  if (d.reuse) {
    // Nothing is written to OUT here (commands.sh keeps the run's commands).
    const auto args = opt.serve ? serve_args(opt) : chat_args(opt);
    std::printf("reusing the %s; add --fresh to train it again\n$ %s\n", d.reason.c_str(),
                command_line(args).c_str());
    std::fflush(stdout);
    const int code = run_child(opt.self_exe, opt.serve ? "serve" : "chat", args, "");
    CF_CHECK(code == 0, "stage '{}' failed (exit {}); its command: {}", opt.serve ? "serve" : "chat", code,
             command_line(args));
    return true;
  }
  if (file_exists(demo_marker_path(opt.out)))
    std::fprintf(stderr, "not reusing %s: %s; running the demo again\n", opt.out.c_str(), d.reason.c_str());
  return false;
}

// The closing summary: samples, accuracy per language on both held-out sets against the
// targets, refusals, losses, where things are.
void print_demo_summary(const std::string& o, double minutes, const std::vector<std::string>& samples,
                        const EvalScores& heldout, const EvalScores& freeform, const EvalScores& fresh,
                        const EvalScores& refusals, double refused_on_topic) {
  std::printf("\nchatforge demo finished in %.1f minutes.\n\n", minutes);
  for (const auto& s : samples) std::printf("  %s\n", s.c_str());
  std::printf("\nheld-out questions answered with the right fact (target %.0f%% in each language):\n",
              kTargetAccuracy);
  std::printf("  template phrasings:  %s\n", accuracy_line(heldout).c_str());
  std::printf("  free-form questions: %s\n", accuracy_line(freeform).c_str());
  std::printf("  fresh questions:     %s\n", accuracy_line(fresh).c_str());
  std::printf("on-topic questions answered with the refusal: %s (target at most %.0f%%)\n",
              percent(refused_on_topic).c_str(), kTargetOnTopicRefused);
  std::printf("off-topic requests politely refused: %s\n", percent(refusals.all).c_str());
  std::printf("pretraining val loss %.3f, fine-tuning val loss %.3f\n", last_val_loss(o + "/runs/pretrain/metrics.jsonl"),
              last_val_loss(o + "/runs/sft/metrics.jsonl"));
  std::printf("\nreport:   %s/report.html\ncommands: %s/commands.sh\nchat:     chatforge chat --config %s/chat.toml\n",
              o.c_str(), o.c_str(), o.c_str());
  std::fflush(stdout);
}

}  // namespace

namespace {

std::vector<std::string> with_progress(const DemoOptions& opt, std::vector<std::string> args) {
  if (!opt.progress) args.push_back("--no-progress");
  return args;
}

// Stage 1: the generated knowledge base, dialogues and evaluation sets.
DemoDataSummary generate_data(const DemoOptions& opt, Runner& run) {
  const std::string& o = opt.out;
  // 1. Data.
  run.begin("generate the demo data", "(built in) Nimbus Home knowledge base -> " + o + "/data");
  Timer t;
  DemoDataOptions dopt;
  dopt.langs = opt.langs;
  dopt.seed = opt.seed;
  const DemoDataSummary data = write_demo_data(o + "/data", dopt);
  std::fprintf(stderr, "    %s\n", describe(data).c_str());
  run.end("generate the demo data", "", o + "/data", t.seconds());
  return data;
}

// Stages 2-4: clean the prose, train the tokenizer, tokenize. Returns the vocabulary size.
int prepare_text(const DemoOptions& opt, Runner& run) {
  const std::string& o = opt.out;
  // 2-4. Clean, tokenizer, tokenize.
  std::vector<std::string> clean = {"data", "clean", "--input", o + "/data/raw/docs.jsonl"};
  for (const auto& c : opt.corpus) clean.push_back(c);
  for (const std::string& a : std::vector<std::string>{"--txt-split", "paragraph", "--out", o + "/clean", "--sensitive-words", o + "/data/raw/sensitive_words.txt",
                               "--val-fraction", "0.03", "--seed", std::to_string(opt.seed)})
    clean.push_back(a);
  run.run("clean the prose", with_progress(opt, clean), "clean/report.html");
  run.run("train a tokenizer",
          {"tokenizer", "train", "--input", o + "/clean/train.jsonl", "--vocab-size", std::to_string(kVocab),
           "--pattern", "cjk", "--special-tokens", "<|im_start|>", "<|im_end|>", "--out", o + "/tokenizer"},
          "tokenizer/tokenizer.json");
  const int vocab = tokenizer_vocab_size(o + "/tokenizer/tokenizer.json");
  run.run("tokenize the prose",
          with_progress(opt, {"data", "tokenize", "--tokenizer", o + "/tokenizer", "--input", o + "/clean/train.jsonl",
                         o + "/clean/val.jsonl", "--out", o + "/shards/pretrain"}),
          "shards/pretrain/meta.json");
  return vocab;
}

struct TrainingPlan {
  int pre_steps = 0, sft_steps = 0;
  double peak_gflops = 0;  // the MFU denominator training uses: fp32 FMA or bf16 peak
  std::string peak_what;   // e.g. "fp32 FMA peak (avx512, 2 threads)"
};

// The peak that training's MFU is measured against, for the demo's dtype: the fp32 FMA
// peak (ops/cpu/fma_peak.h), or the bf16 peak of the kernel bf16 training uses.
std::pair<double, std::string> training_peak(const std::string& dtype) {
  if (dtype == "bf16")
    return {ops::peak_gflops(ops::parse_device("cpu", dtype)),
            fmt::format("bf16 peak ({} kernel)", ops::bf16_kernel_name(ops::gemm_bf16_kernel()))};
  const ops::FmaPeak p = ops::measure_fma_peak();
  return {p.gflops, fmt::format("fp32 FMA peak ({}, {} threads)", ops::simd_level_name(p.level), p.threads)};
}

// Stages 5-8: pretraining, the chat data, timed fine-tuning steps, fine-tuning, sized to the
// time budget.
TrainingPlan train_model(const DemoOptions& opt, Runner& run, int vocab, size_t eval_items) {
  const std::string& o = opt.out;
  // Budget: what is left after the fixed stages goes to training, kPretrainShare of it
  // pretraining and the rest fine-tuning (answers come from fine-tuning; pretraining
  // teaches the facts' words and its validation loss levels off within a few hundred steps).
  const double step_pre = measure_step_seconds(demo_arch(opt), opt.dtype, kPretrainBatch, kPretrainSeq, vocab);
  const double step_sft = kSftBatch == kPretrainBatch && kSftSeq == kPretrainSeq
                              ? step_pre  // the same shape: one measurement, not two noisy ones
                              : measure_step_seconds(demo_arch(opt), opt.dtype, kSftBatch, kSftSeq, vocab);
  const double fixed_after = 20 + 0.03 * static_cast<double>(eval_items);  // chat data, evals, report
  const double train_budget = std::max(20.0, opt.minutes * 60 - run.elapsed() - fixed_after - 15);
  const int pre_steps = std::max(20, static_cast<int>(kPretrainShare * train_budget / step_pre));
  const int sft_plan = std::max(40, static_cast<int>((1 - kPretrainShare) * train_budget / step_sft));
  std::fprintf(stderr, "\n    budget: %.0fs of training left -> %d pretraining steps (%.2fs each), about %d fine-tuning "
               "steps (%.2fs each)\n", train_budget, pre_steps, step_pre, sft_plan, step_sft);
  // The MFU denominator: the peak training measures itself (the fp32 FMA peak on these
  // threads, or the bf16 kernel's); printed here and in the report. (An sgemm rate measured
  // here before depended on the matrix size and BLAS kernels and printed MFUs of 140-180%.)
  const auto [peak_gflops, peak_what] = training_peak(opt.dtype);
  std::fprintf(stderr, "    %s training; %s %.0f GFLOP/s (the MFU denominator)\n", opt.dtype.c_str(), peak_what.c_str(),
               peak_gflops);

  // 5. Pretrain.
  std::vector<std::string> pretrain = {
      "train", "--stage", "pretrain", "--data", o + "/shards/pretrain", "--out", o + "/runs/pretrain",
      "--n-layer", std::to_string(kLayers), "--n-head", std::to_string(kHeads), "--n-embd", std::to_string(kEmbd),
      "--n-ctx", std::to_string(kCtx), "--seq-len", std::to_string(kPretrainSeq), "--batch-size",
      std::to_string(kPretrainBatch), "--steps", std::to_string(pre_steps), "--lr", "2e-3", "--warmup",
      std::to_string(pre_steps / 20 + 1), "--eval-every", std::to_string(std::max(10, pre_steps / 4)),
      "--eval-batches", "4", "--save-every", std::to_string(pre_steps), "--seed", std::to_string(opt.seed),
      "--dtype", opt.dtype, "--sample-prompt", "The AeroBrew X2", "--sample-prompt", "AeroBrew X2的",
      "--overwrite"};  // the demo's own run directory: a rerun starts over
  if (opt.arch != "gpt2")  // after --n-ctx N: the Llama family's flags
    pretrain.insert(pretrain.begin() + 15, {"--arch", opt.arch, "--n-kv-head", std::to_string(demo_arch(opt).n_kv_head)});
  run.run("pretrain", with_progress(opt, pretrain), "runs/pretrain/report.html");

  // 6-7. Chat data and fine-tuning. Noise on the user turns (tokens deleted, replaced or
  // swapped with a neighbour) makes the model answer from the words that name the topic
  // rather than from the phrasing around them.
  run.run("build the chat data",
          with_progress(opt, {"data", "chat", "--tokenizer", o + "/tokenizer", "--mixture", o + "/data/chat/mixture.yaml",
                         "--out", o + "/shards/sft", "--max-len", std::to_string(kSftSeq + 1), "--truncate",
                         "keep-last-turns", "--pack", "--val-fraction", "0.03", "--delete-rate", "0.08", "--substitute-rate",
                         "0.05", "--shuffle-rate", "0.05", "--seed",
                         std::to_string(opt.seed)}),
          "shards/sft/meta.json");
  // Fine-tuning gets whatever is left, sized from its own seconds per step: a short run on
  // the real data, timed by the trainer's clock from step 10 to 40 (start-up left out).
  // Steps timed on random tokens, or pretraining's, do not tell: packed rows, their loss
  // mask and per-task validation made a bf16 fine-tuning step 1.13 of a pretraining one,
  // an fp32 one 0.93. The evaluations after it take about 0.01 s per item.
  const auto sft_args = [&](int steps, const std::string& out, int eval_every) {
    return with_progress(opt, {"train", "--stage", "sft", "--init", o + "/runs/pretrain/last", "--data",
                               o + "/shards/sft", "--out", out, "--seq-len", std::to_string(kSftSeq), "--batch-size",
                               std::to_string(kSftBatch), "--steps", std::to_string(steps), "--lr", "1e-3", "--warmup",
                               std::to_string(steps / 20 + 1), "--eval-every", std::to_string(eval_every),
                               "--eval-batches", "4", "--save-every", std::to_string(steps), "--seed",
                               std::to_string(opt.seed), "--dtype", opt.dtype, "--overwrite"});
  };
  constexpr int kTimedSteps = 40;
  run.run("time fine-tuning steps", sft_args(kTimedSteps, o + "/runs/sft-timing", 1000),  // no evaluation
          "runs/sft-timing/metrics.jsonl");
  const double step_real = train_seconds_between(o + "/runs/sft-timing/metrics.jsonl", 10, kTimedSteps) / 30;
  std::filesystem::remove_all(o + "/runs/sft-timing");
  const double evals_after = 8 + 0.01 * static_cast<double>(eval_items);
  const double sft_budget = opt.minutes * 60 - run.elapsed() - evals_after - 15;
  // x1.05: its evaluations (a fifth of the way each) and the checkpoint at the end
  const int sft_steps = std::max(40, static_cast<int>(sft_budget / (step_real * 1.05)));
  const int eval_every = std::max(10, sft_steps / 5);
  std::fprintf(stderr, "\n    fine-tuning: %.0fs left -> %d steps (%.3fs each, timed)\n", sft_budget, sft_steps,
               step_real);
  run.run("fine-tune (SFT)", sft_args(sft_steps, o + "/runs/sft", eval_every), "runs/sft/report.html");
  return {pre_steps, sft_steps, peak_gflops, peak_what};
}

// Stages 9-13: perplexity and the four answer sets.
void evaluate(const DemoOptions& opt, Runner& run) {
  const std::string& o = opt.out;
  // 9-13. Evaluation.
  run.run("perplexity of held-out prose",
          {"eval", "perplexity", "--model", o + "/runs/pretrain/last", "--data", o + "/clean/val.jsonl", "--out",
           o + "/eval/perplexity"},
          "eval/perplexity/report.html");
  auto answer = [&](const std::string& name, const std::string& set) {
    run.run(name,
            {"eval", "generate", "--model", o + "/runs/sft/last", "--data", o + "/data/eval/" + set + ".jsonl",
             "--group-field", "lang", "--tokenize", "zh", "--max-tokens", "48", "--batch-size", "16", "--out",
             o + "/eval/" + set},
            "eval/" + set + "/report.html");
  };
  answer("answer held-out questions (template phrasings)", "heldout");
  answer("answer held-out questions (free-form)", "freeform");
  answer("answer held-out questions (fresh)", "fresh");
  answer("refuse off-topic requests", "refusals");

}

struct DemoScores {
  EvalScores heldout, freeform, fresh, refusals;
  double refused_on_topic = 0;
  std::vector<std::string> samples;
};

// Stage 14: report.html from the evaluations' results.
DemoScores write_report(const DemoOptions& opt, Runner& run, const DemoDataSummary& data, int vocab,
                        const TrainingPlan& plan) {
  const std::string& o = opt.out;
  // 14. Report.
  DemoScores sc;
  sc.heldout = read_eval_scores(o + "/eval/heldout/results.json", o + "/data/eval/heldout.jsonl");
  sc.freeform = read_eval_scores(o + "/eval/freeform/results.json", o + "/data/eval/freeform.jsonl");
  sc.fresh = read_eval_scores(o + "/eval/fresh/results.json", o + "/data/eval/fresh.jsonl");
  sc.refusals = read_eval_scores(o + "/eval/refusals/results.json", o + "/data/eval/refusals.jsonl");
  sc.refused_on_topic = on_topic_refused({&sc.heldout, &sc.freeform, &sc.fresh});
  sc.samples = sample_lines(sc.heldout, 2);
  for (auto& l : sample_lines(sc.freeform, 2)) sc.samples.push_back(std::move(l));
  const double pre_loss = last_val_loss(o + "/runs/pretrain/metrics.jsonl");
  const double sft_loss = last_val_loss(o + "/runs/sft/metrics.jsonl");
  run.begin("report", o + "/report.html");
  DemoReport rep;
  rep.title = "chatforge demo: a bilingual customer-service assistant";
  rep.summary = {fmt::format("Finished in {:.1f} minutes (budget {:.0f}). Every stage below is a chatforge command; "
                             "commands.sh replays them.",
                             run.elapsed() / 60, opt.minutes)};
  rep.heldout = sc.heldout;
  rep.freeform = sc.freeform;
  rep.fresh = sc.fresh;
  rep.refusals = sc.refusals;
  rep.on_topic_refused = sc.refused_on_topic;
  rep.stages = stage_rows(run);
  rep.facts = {
      {"model", fmt::format("{}{} layers, {} heads, {} channels, context {} tokens",
                            opt.arch == "gpt2" ? "" : opt.arch + " (2 key/value heads): ", kLayers, kHeads, kEmbd, kCtx)},
      {"tokenizer vocabulary", fmt::format("{} ids (--vocab-size {} is the most it may have)", vocab, kVocab)},
      {"pretraining", fmt::format("{} steps of {} x {} tokens, validation loss {:.3f}", plan.pre_steps, kPretrainBatch,
                                  kPretrainSeq, pre_loss)},
      {"fine-tuning", fmt::format("{} steps of {} x {} tokens, validation loss {:.3f}", plan.sft_steps, kSftBatch, kSftSeq,
                                  sft_loss)},
      {"training precision", opt.dtype == "bf16" ? "bf16 GEMM inputs, fp32 accumulation, fp32 master weights and "
                                                   "optimizer (--dtype bf16)"
                                                 : "fp32 (--dtype fp32)"},
      {"MFU denominator", fmt::format("{:.0f} GFLOP/s measured, the {}", plan.peak_gflops, plan.peak_what)},
      {"generated data",
       fmt::format("{} prose documents ({} planted noise or duplicates, {} with personal data, {} with sensitive "
                   "words), {} dialogues, {} knowledge Q&A pairs, {} malformed chat records",
                   data.prose_docs, data.planted_noise_docs, data.planted_pii, data.planted_sensitive, data.dialogues,
                   data.kb_qa, data.planted_bad_records)},
      {"held-out items", fmt::format("{} template, {} free-form, {} fresh, {} off-topic", data.eval_items,
                                     data.freeform_items, data.fresh_items, data.refusal_items)}};
  write_file_atomic(o + "/report.html", demo_report_html(rep));
  run.end("report", "", "report.html", 0);
  return sc;
}

}  // namespace

std::string resolved_dtype(const DemoOptions& opt) {
  if (opt.dtype != "auto") return opt.dtype;
  return ops::gemm_bf16_native() ? "bf16" : "fp32";
}

void run_demo(const DemoOptions& asked) {
  DemoOptions opt = asked;
  opt.dtype = resolved_dtype(asked);
  CF_CHECK(opt.dtype == "fp32" || opt.dtype == "bf16", "--dtype {}: expected auto, fp32 or bf16", opt.dtype);
  CF_CHECK(opt.minutes >= 1, "--minutes must be at least 1");
  CF_CHECK(!(opt.serve && opt.chat), "--serve and --chat: choose one");
  if (reuse_finished_demo(opt)) return;
  make_output_dir(opt.out);
  remove_demo_marker(opt.out);  // written again only when this run finishes
  const std::string o = opt.out;
  Runner run(opt, 14 + (opt.serve || opt.chat ? 1 : 0));
  const DemoDataSummary data = generate_data(opt, run);
  const int vocab = prepare_text(opt, run);
  const size_t eval_items = data.eval_items + data.freeform_items + data.fresh_items + data.refusal_items;
  const TrainingPlan plan = train_model(opt, run, vocab, eval_items);
  evaluate(opt, run);
  const DemoScores sc = write_report(opt, run, data, vocab, plan);

  // A config file for `chatforge chat --config`: the model, greedy decoding and the
  // system prompt it was fine-tuned with.
  // Its paths are relative to the file (`--config` resolves them against its directory).
  write_file_atomic(o + "/chat.toml", fmt::format("model = \"runs/sft/last\"\ntemperature = 0\n"
                                                  "context-policy = \"truncate-oldest\"\nsystem = \"{}\"\n",
                                                  std::string(system_prompt())));
  // Last: the marker that says this directory holds a finished demo (demo_marker.h).
  write_demo_marker(opt, run.elapsed() / 60);
  print_demo_summary(o, run.elapsed() / 60, sc.samples, sc.heldout, sc.freeform, sc.fresh, sc.refusals,
                     sc.refused_on_topic);

  if (opt.serve) run.run("serve", serve_args(opt), fmt::format("http://{}:{}/", opt.host, opt.port));
  if (opt.chat) run.run("chat", chat_args(opt), "");
}

}  // namespace chatforge::demo
