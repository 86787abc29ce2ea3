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
#include "eval/report_html.h"
#include "model/gpt.h"
#include "ops/ops.h"

extern char** environ;

namespace chatforge::demo {
namespace {

using nlohmann::json;

// The demo model: 4 layers, 256 channels, a 4096-token vocabulary, 128 positions, as
// long as the rows it trains on (positions beyond the training rows would learn nothing).
constexpr int kLayers = 4, kHeads = 4, kEmbd = 256, kCtx = 128, kVocab = 4096;
constexpr int kPretrainBatch = 16, kPretrainSeq = 128;
constexpr int kSftBatch = 16, kSftSeq = 128;

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
std::vector<std::string> serve_args(const DemoOptions& opt) {
  const std::string& o = opt.out;
  return {"serve", "--model", o + "/runs/sft/last", "--host", opt.host, "--port", std::to_string(opt.port),
          "--db", o + "/feedback.db", "--system", std::string(system_prompt())};
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

// Seconds of one optimizer step of the demo model at (B, T), measured here on random
// tokens (the best of four steps after a warm-up one), so step counts fit the budget.
double measure_step_seconds(int B, int T) {
  model::GptConfig cfg;
  cfg.n_layer = kLayers;
  cfg.n_head = kHeads;
  cfg.n_embd = kEmbd;
  cfg.vocab_size = kVocab;
  cfg.n_ctx = kCtx;
  model::Gpt gpt(cfg);
  gpt.init_weights(1);
  Rng rng(7);
  std::vector<int32_t> inp(static_cast<size_t>(B) * T), tgt(inp.size());
  for (auto& x : inp) x = static_cast<int32_t>(rng.below(kVocab));
  for (auto& x : tgt) x = static_cast<int32_t>(rng.below(kVocab));
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    Timer t;
    gpt.zero_grad();
    gpt.forward_loss(inp.data(), tgt.data(), nullptr, B, T);
    gpt.backward(1.0f / static_cast<float>(inp.size()));
    if (i > 0) best = std::min(best, t.seconds());
  }
  // AdamW over all parameters, the loader and logging add a little more.
  return best * 1.15;
}

json read_json_or_empty(const std::string& path) {
  if (!file_exists(path)) return json::object();
  try {
    return parse_json(read_file(path), path);
  } catch (const std::exception&) {
    return json::object();
  }
}

// fact_accuracy overall and per group from an `eval generate` results.json.
struct Accuracy {
  double all = NAN;
  std::vector<std::pair<std::string, double>> groups;
};
Accuracy read_accuracy(const std::string& results) {
  const json j = read_json_or_empty(results);
  Accuracy a;
  if (j.contains("metrics") && j["metrics"].contains("fact_accuracy"))
    a.all = j["metrics"]["fact_accuracy"].value("value", NAN);
  if (j.contains("per_group") && j["per_group"].contains("fact_accuracy"))
    for (const auto& [name, v] : j["per_group"]["fact_accuracy"]["groups"].items())
      a.groups.emplace_back(name, v.value("value", NAN));
  return a;
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

std::string percent(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.1f}%", v); }

void write_report(const DemoOptions& opt, const Runner& runner, const DemoDataSummary& data, const Accuracy& acc,
                  const Accuracy& refusals, const std::vector<std::string>& samples) {
  using eval::html_escape;
  eval::HtmlReport r("chatforge demo: a bilingual customer-service assistant");
  r.paragraph(fmt::format("Finished in {:.1f} minutes (budget {:.0f}). Every stage below is a chatforge command; "
                          "commands.sh replays them.",
                          runner.elapsed() / 60, opt.minutes));
  r.heading("Held-out questions answered with the right fact");
  std::vector<eval::Bar> bars;
  bars.push_back({"all", acc.all, {}, {}});
  for (const auto& [g, v] : acc.groups) bars.push_back({g, v, {}, {}});
  r.bar_chart("fact accuracy (%)", bars);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [g, v] : acc.groups) rows.push_back({g, percent(v)});
  rows.push_back({"all", percent(acc.all)});
  rows.push_back({"off-topic requests refused", percent(refusals.all)});
  r.table({"questions", "right fact"}, rows);
  r.heading("Stages");
  rows.clear();
  for (const auto& s : runner.stages()) {
    const std::string link = s.output.ends_with(".html")
                                 ? fmt::format("<a href=\"{}\">{}</a>", html_escape(s.output), html_escape(s.output))
                                 : html_escape(s.output);
    rows.push_back({html_escape(s.name), fmt::format("{:.1f}s", s.seconds), link,
                    "<code>" + html_escape(s.command) + "</code>"});
  }
  // The table helper escapes its cells; this one carries links, so it is built here.
  std::string t = "<table><tr><th>stage</th><th>time</th><th>look at</th><th>command</th></tr>";
  for (const auto& row : rows) {
    t += "<tr>";
    for (const auto& c : row) t += "<td>" + c + "</td>";
    t += "</tr>";
  }
  r.raw(t + "</table>");
  r.heading("Data");
  r.table({"generated", "count"},
          {{"prose documents", std::to_string(data.prose_docs)},
           {"planted noise and duplicate documents", std::to_string(data.planted_noise_docs)},
           {"documents with personal data", std::to_string(data.planted_pii)},
           {"documents with sensitive words", std::to_string(data.planted_sensitive)},
           {"dialogues", std::to_string(data.dialogues)},
           {"knowledge Q&A pairs", std::to_string(data.kb_qa)},
           {"malformed chat records", std::to_string(data.planted_bad_records)},
           {"held-out questions", std::to_string(data.eval_items)}});
  r.heading("Sample answers");
  std::string pre = "<pre>";
  for (const auto& s : samples) pre += html_escape(s) + "\n";
  r.raw(pre + "</pre>");
  write_file_atomic(opt.out + "/report.html", r.html());
}

// A few held-out answers from results.json, marked right or wrong.
std::vector<std::string> sample_lines(const std::string& results, size_t per_group) {
  const json j = read_json_or_empty(results);
  std::vector<std::string> lines;
  std::map<std::string, size_t> shown;
  if (!j.contains("outputs")) return lines;
  for (const auto& o : j["outputs"]) {
    const std::string g = o.value("group", "");
    if (shown[g]++ >= per_group) continue;
    std::string q = o.value("prompt", "");
    if (const size_t cut = q.rfind("\n\n"); cut != std::string::npos) q = q.substr(cut + 2);  // drop the system prompt
    lines.push_back(fmt::format("{} user:      {}", o.value("facts_match", false) ? "[right]" : "[wrong]", q));
    lines.push_back(fmt::format("        assistant: {}", o.value("output", "")));
  }
  return lines;
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

// The closing summary: samples, accuracy per language, refusals, losses, where things are.
void print_demo_summary(const std::string& o, double minutes, const std::vector<std::string>& samples,
                        const Accuracy& acc, const Accuracy& refusals) {
  std::printf("\nchatforge demo finished in %.1f minutes.\n\n", minutes);
  for (const auto& s : samples) std::printf("  %s\n", s.c_str());
  std::printf("\nheld-out questions answered with the right fact:");
  for (const auto& [g, v] : acc.groups) std::printf("  %s %s", g.c_str(), percent(v).c_str());
  std::printf("  (all %s)\noff-topic requests politely refused: %s\n", percent(acc.all).c_str(),
              percent(refusals.all).c_str());
  std::printf("pretraining val loss %.3f, fine-tuning val loss %.3f\n", last_val_loss(o + "/runs/pretrain/metrics.jsonl"),
              last_val_loss(o + "/runs/sft/metrics.jsonl"));
  std::printf("\nreport:   %s/report.html\ncommands: %s/commands.sh\nchat:     chatforge chat --config %s/chat.toml\n",
              o.c_str(), o.c_str(), o.c_str());
  std::fflush(stdout);

}

}  // namespace

void run_demo(const DemoOptions& opt) {
  CF_CHECK(opt.minutes >= 1, "--minutes must be at least 1");
  CF_CHECK(!(opt.serve && opt.chat), "--serve and --chat: choose one");
  if (reuse_finished_demo(opt)) return;
  make_output_dir(opt.out);
  remove_demo_marker(opt.out);  // written again only when this run finishes
  const std::string o = opt.out;
  const int n_stages = 11 + (opt.serve || opt.chat ? 1 : 0);
  Runner run(opt, n_stages);
  auto with_progress = [&](std::vector<std::string> args) {
    if (!opt.progress) args.push_back("--no-progress");
    return args;
  };

  // 1. Data.
  run.begin("generate the demo data", "(built in) Nimbus Home knowledge base -> " + o + "/data");
  Timer t;
  DemoDataOptions dopt;
  dopt.langs = opt.langs;
  dopt.seed = opt.seed;
  const DemoDataSummary data = write_demo_data(o + "/data", dopt);
  std::fprintf(stderr, "    %llu prose documents, %llu dialogues, %llu knowledge Q&A pairs, %llu held-out questions\n",
               static_cast<unsigned long long>(data.prose_docs), static_cast<unsigned long long>(data.dialogues),
               static_cast<unsigned long long>(data.kb_qa), static_cast<unsigned long long>(data.eval_items));
  run.end("generate the demo data", "", o + "/data", t.seconds());

  // 2-4. Clean, tokenizer, tokenize.
  std::vector<std::string> clean = {"data", "clean", "--input", o + "/data/raw/docs.jsonl"};
  for (const auto& c : opt.corpus) clean.push_back(c);
  for (const std::string& a : std::vector<std::string>{"--txt-split", "paragraph", "--out", o + "/clean", "--sensitive-words", o + "/data/raw/sensitive_words.txt",
                               "--val-fraction", "0.03", "--seed", std::to_string(opt.seed)})
    clean.push_back(a);
  run.run("clean the prose", with_progress(clean), "clean/report.html");
  run.run("train a tokenizer",
          {"tokenizer", "train", "--input", o + "/clean/train.jsonl", "--vocab-size", std::to_string(kVocab),
           "--pattern", "cjk", "--special-tokens", "<|im_start|>", "<|im_end|>", "--out", o + "/tokenizer"},
          "tokenizer/tokenizer.json");
  run.run("tokenize the prose",
          with_progress({"data", "tokenize", "--tokenizer", o + "/tokenizer", "--input", o + "/clean/train.jsonl",
                         o + "/clean/val.jsonl", "--out", o + "/shards/pretrain"}),
          "shards/pretrain/meta.json");

  // Budget: what is left after the fixed stages goes to training, 25% pretraining and
  // 75% fine-tuning (answers come from fine-tuning; pretraining teaches the facts' words
  // and its validation loss levels off within a few hundred steps).
  const double step_pre = measure_step_seconds(kPretrainBatch, kPretrainSeq);
  const double step_sft = kSftBatch == kPretrainBatch && kSftSeq == kPretrainSeq
                              ? step_pre  // the same shape: one measurement, not two noisy ones
                              : measure_step_seconds(kSftBatch, kSftSeq);
  const double fixed_after = 25 + 0.5 * data.eval_items / 10.0;  // chat data, evals, samples, report
  const double train_budget = std::max(20.0, opt.minutes * 60 - run.elapsed() - fixed_after - 15);
  const int pre_steps = std::max(20, static_cast<int>(0.25 * train_budget / step_pre));
  const int sft_plan = std::max(40, static_cast<int>(0.75 * train_budget / step_sft));
  std::fprintf(stderr, "\n    budget: %.0fs of training left -> %d pretraining steps (%.2fs each), about %d fine-tuning "
               "steps (%.2fs each)\n", train_budget, pre_steps, step_pre, sft_plan, step_sft);
  const double peak = ops::measure_sgemm_gflops(512, 2);

  // 5. Pretrain.
  const double pretrain_start = run.elapsed();
  run.run("pretrain",
          with_progress({"train", "--stage", "pretrain", "--data", o + "/shards/pretrain", "--out", o + "/runs/pretrain",
                         "--n-layer", std::to_string(kLayers), "--n-head", std::to_string(kHeads), "--n-embd",
                         std::to_string(kEmbd), "--n-ctx", std::to_string(kCtx), "--seq-len",
                         std::to_string(kPretrainSeq), "--batch-size", std::to_string(kPretrainBatch), "--steps",
                         std::to_string(pre_steps), "--lr", "2e-3", "--warmup", std::to_string(pre_steps / 20 + 1),
                         "--eval-every", std::to_string(std::max(10, pre_steps / 4)), "--eval-batches", "4",
                         "--save-every", std::to_string(pre_steps), "--seed", std::to_string(opt.seed),
                         "--peak-gflops", fmt::format("{:.1f}", peak), "--sample-prompt", "The AeroBrew X2",
                         "--sample-prompt", "AeroBrew X2的"}),
          "runs/pretrain/report.html");

  // 6-7. Chat data and fine-tuning.
  run.run("build the chat data",
          with_progress({"data", "chat", "--tokenizer", o + "/tokenizer", "--mixture", o + "/data/chat/mixture.yaml",
                         "--out", o + "/shards/sft", "--max-len", std::to_string(kSftSeq + 1), "--truncate",
                         "keep-last-turns", "--pack", "--val-fraction", "0.03", "--delete-rate", "0.05", "--seed",
                         std::to_string(opt.seed)}),
          "shards/sft/meta.json");
  // Fine-tuning gets whatever is left, sized again from the pretraining's own seconds per
  // step (the same batch shape; its evaluations and checkpoint included). The step timed on
  // random tokens above read ~15% slower than training then ran (0.29 vs 0.25 s here),
  // which had left about 2 minutes of the 13-minute default unused.
  const double step_real = (run.elapsed() - pretrain_start) / pre_steps;
  constexpr double kSftShape = static_cast<double>(kSftBatch) * kSftSeq / (kPretrainBatch * kPretrainSeq);
  const double evals_after = 10 + 0.5 * data.eval_items / 10.0;
  const double sft_budget = opt.minutes * 60 - run.elapsed() - evals_after - 15;
  const int sft_steps = std::max(40, static_cast<int>(sft_budget / (step_real * kSftShape * 1.03)));
  std::fprintf(stderr, "\n    fine-tuning: %.0fs left -> %d steps (pretraining ran %.2fs a step)\n", sft_budget,
               sft_steps, step_real);
  run.run("fine-tune (SFT)",
          with_progress({"train", "--stage", "sft", "--init", o + "/runs/pretrain/last", "--data", o + "/shards/sft",
                         "--out", o + "/runs/sft", "--seq-len", std::to_string(kSftSeq), "--batch-size",
                         std::to_string(kSftBatch), "--steps", std::to_string(sft_steps), "--lr", "1e-3", "--warmup",
                         std::to_string(sft_steps / 20 + 1), "--eval-every", std::to_string(std::max(10, sft_steps / 5)),
                         "--eval-batches", "4", "--save-every", std::to_string(sft_steps), "--seed",
                         std::to_string(opt.seed), "--peak-gflops", fmt::format("{:.1f}", peak)}),
          "runs/sft/report.html");

  // 8-10. Evaluation.
  run.run("perplexity of held-out prose",
          {"eval", "perplexity", "--model", o + "/runs/pretrain/last", "--data", o + "/clean/val.jsonl", "--out",
           o + "/eval/perplexity"},
          "eval/perplexity/report.html");
  run.run("answer held-out questions",
          {"eval", "generate", "--model", o + "/runs/sft/last", "--data", o + "/data/eval/heldout.jsonl",
           "--group-field", "lang", "--tokenize", "zh", "--max-tokens", "48", "--batch-size", "16", "--out",
           o + "/eval/heldout"},
          "eval/heldout/report.html");
  run.run("refuse off-topic requests",
          {"eval", "generate", "--model", o + "/runs/sft/last", "--data", o + "/data/eval/refusals.jsonl",
           "--group-field", "lang", "--tokenize", "zh", "--max-tokens", "48", "--batch-size", "16", "--out",
           o + "/eval/refusals"},
          "eval/refusals/report.html");

  // 11. Report.
  const Accuracy acc = read_accuracy(o + "/eval/heldout/results.json");
  const Accuracy refusals = read_accuracy(o + "/eval/refusals/results.json");
  const auto samples = sample_lines(o + "/eval/heldout/results.json", 3);
  run.begin("report", o + "/report.html");
  write_report(opt, run, data, acc, refusals, samples);
  run.end("report", "", "report.html", 0);

  // A config file for `chatforge chat --config`: the model, greedy decoding and the
  // system prompt it was fine-tuned with.
  // Its paths are relative to the file (`--config` resolves them against its directory).
  write_file_atomic(o + "/chat.toml", fmt::format("model = \"runs/sft/last\"\ntemperature = 0\n"
                                                  "context-policy = \"truncate-oldest\"\nsystem = \"{}\"\n",
                                                  std::string(system_prompt())));
  // Last: the marker that says this directory holds a finished demo (demo_marker.h).
  write_demo_marker(opt, run.elapsed() / 60);
  print_demo_summary(o, run.elapsed() / 60, samples, acc, refusals);

  if (opt.serve) run.run("serve", serve_args(opt), fmt::format("http://{}:{}/", opt.host, opt.port));
  if (opt.chat) run.run("chat", chat_args(opt), "");
}

}  // namespace chatforge::demo
