// `chatforge eval perplexity | generate | choice`: the flags of the evaluations that run a
// model, and the writing of their outputs. The evaluations themselves are library calls
// (eval/perplexity_eval.h, generation_eval.h, choice_eval.h): this file loads the model,
// calls one, prints its summary and writes results.json and report.html to --out.
#include "cli/eval_model_tasks.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "eval/choice_eval.h"
#include "eval/eval_output.h"
#include "eval/generation_eval.h"
#include "eval/perplexity_eval.h"
#include "serve/feedback_store.h"

namespace chatforge::cli {

using namespace chatforge::eval;

AnswerOptions answer_options(const GenerationOptions& g, int batch) {
  AnswerOptions o;
  o.sampling = g.sampling;
  o.max_tokens = g.max_tokens;
  o.stop = g.stop;
  o.context_policy = g.policy();
  o.batch = batch;
  return o;
}

namespace {

struct CommonEvalArgs {
  std::string data, group_field, out;
  std::vector<std::string> expect_groups;
  int bootstrap = 1000;
  uint64_t bootstrap_seed = 1234;
  bool json = false;
  std::string feedback_db;  // chatforge serve's SQLite store: its approval statistics join the results
};

void add_common_eval_options(CLI::App* sub, CommonEvalArgs& a, bool groups) {
  sub->add_option("--data", a.data, "evaluation data (see `chatforge eval <task> --help` and docs/eval.md)")
      ->type_name(kPath)
      ->required();
  sub->add_option("--out", a.out, "directory for results.json and report.html (created)")->type_name(kDir)->required();
  if (groups) {
    sub->add_option("--group-field", a.group_field,
                    "JSONL field with each item's group: every metric per group (default: none, no groups)");
    sub->add_option("--expect-groups", a.expect_groups, "groups that must be present (comma-separated; default: none)")
        ->delimiter(',');
  }
  sub->add_option("--bootstrap", a.bootstrap, "bootstrap resamples for the 95% intervals")->capture_default_str();
  sub->add_option("--bootstrap-seed", a.bootstrap_seed, "seed of the bootstrap resampling")->capture_default_str();
  set_ranges(*sub, {{"--bootstrap", kBootstrapRange}, {"--bootstrap-seed", kSeedRange}});
  sub->add_flag("--json", a.json, "print results.json to stdout as well");
  sub->add_option("--db,--feedback-db", a.feedback_db,
                  "add the user-feedback statistics of a `chatforge serve --db` store (approval per model and day; "
                  "default: none)")
      ->type_name(kFile);
}

BootstrapOptions bootstrap_options(const CommonEvalArgs& a) {
  BootstrapOptions bo;
  bo.resamples = a.bootstrap;
  bo.seed = a.bootstrap_seed;
  return bo;
}

// Prints the summary, adds the feedback statistics when asked, writes both files.
void write_outputs(const CommonEvalArgs& a, EvalOutput out) {
  std::fwrite(out.summary.data(), 1, out.summary.size(), stdout);
  if (!a.feedback_db.empty()) {
    CF_CHECK(file_exists(a.feedback_db), "--db {}: no such file (the database `chatforge serve --db` writes)",
             a.feedback_db);
    serve::FeedbackStore store(a.feedback_db);
    add_user_feedback(store.stats(), a.feedback_db, out.results, out.report);
  }
  make_output_dir(a.out);
  const std::string text = results_text(out.results);
  write_file_atomic(a.out + "/results.json", text);
  write_file_atomic(a.out + "/report.html", out.report.html());
  if (a.json) std::printf("%s", text.c_str());
  std::fprintf(stderr, "wrote %s/results.json and %s/report.html\n", a.out.c_str(), a.out.c_str());
}

struct PerplexityArgs {
  GenerationOptions gen;  // model, tokenizer, threads
  CommonEvalArgs common;
  PerplexityEvalOptions eval;
};

void run_perplexity(PerplexityArgs& a) {
  const LoadedModel lm = load_model_and_tokenizer(a.gen);
  a.eval.data = a.common.data;
  a.eval.model_name = a.gen.model_dir;
  write_outputs(a.common, run_perplexity_eval(lm, a.eval));
}

struct GenerateEvalArgs {
  GenerationOptions gen;
  CommonEvalArgs common;
  GenerationEvalOptions eval;
  int batch = 8;
};

void run_generate(GenerateEvalArgs& a) {
  const LoadedModel lm = load_model_and_tokenizer(a.gen);
  a.gen.validate(lm.tokenizer->vocab_size());
  GenerationEvalOptions& o = a.eval;
  o.data = a.common.data;
  o.model_name = a.gen.model_dir;
  o.group_field = a.common.group_field;
  o.expect_groups = a.common.expect_groups;
  o.answers = answer_options(a.gen, a.batch);
  o.bootstrap = bootstrap_options(a.common);
  write_outputs(a.common, run_generation_eval(lm, o));
}

struct ChoiceEvalArgs {
  GenerationOptions gen;  // model, tokenizer, threads
  CommonEvalArgs common;
  bool chat = false;
};

void run_choice(ChoiceEvalArgs& a) {
  const LoadedModel lm = load_model_and_tokenizer(a.gen);
  ChoiceEvalOptions o;
  o.data = a.common.data;
  o.model_name = a.gen.model_dir;
  o.group_field = a.common.group_field;
  o.expect_groups = a.common.expect_groups;
  o.chat = a.chat;
  o.bootstrap = bootstrap_options(a.common);
  write_outputs(a.common, run_choice_eval(lm, o));
}

void add_model_options(CLI::App* sub, GenerationOptions& g) {
  sub->add_option("--model", g.model_dir, "checkpoint directory (config.json, model.safetensors)")
      ->type_name(kDir)
      ->required();
  sub->add_option("--tokenizer", g.tokenizer, "tokenizer directory or tokenizer.json (default: the model's)")
      ->type_name(kPath);
  add_threads_option(*sub, g.threads);
}

}  // namespace

void setup_eval_perplexity(CLI::App& eval) {
  auto a = std::make_shared<PerplexityArgs>();
  CLI::App* sub = eval.add_subcommand(
      "perplexity", "loss, perplexity and bits per byte on held-out text (.txt, .jsonl) or token shards (dir, .bin)");
  add_model_options(sub, a->gen);
  add_common_eval_options(sub, a->common, false);
  sub->add_option("--text-field", a->eval.text_field, ".jsonl: field holding each document")->capture_default_str();
  sub->add_option("--split", a->eval.split, "token shards: which split (SPLIT_*.bin)")->capture_default_str();
  sub->add_option("--window", a->eval.window, "tokens of context per forward pass (default: the model's context)");
  sub->add_option("--stride", a->eval.stride, "tokens scored per window (default: window/2)");
  set_ranges(*sub, {{"--window", "[1, 2^20]"}, {"--stride", "[1, 2^20]"}});
  add_config_option(*sub);
  sub->callback([a] { run_perplexity(*a); });
}

void setup_eval_generate(CLI::App& eval) {
  auto a = std::make_shared<GenerateEvalArgs>();
  a->gen.sampling.temperature = 0;  // greedy unless asked
  a->gen.max_tokens = 64;
  CLI::App* sub = eval.add_subcommand(
      "generate", "answer JSONL prompts with a model and score BLEU, ROUGE, exact match and F1 (per group)");
  add_generation_options(*sub, a->gen);
  add_common_eval_options(sub, a->common, true);
  sub->add_option("--reference-field", a->eval.reference_field,
                  "field with the reference(s) (default: references, reference, answers, answer, target, output, or "
                  "the final assistant turn of messages)");
  sub->add_flag("--chat", a->eval.chat, "render plain prompts as a user turn of the chat template");
  sub->add_option("--tokenize", a->eval.bleu_tokenize, "BLEU tokenizer: 13a, zh, char or none")->capture_default_str();
  sub->add_option("--batch-size,--batch", a->batch, "sequences generated together per forward pass")
      ->capture_default_str();
  set_ranges(*sub, {{"--batch-size", "[1, 256]"}});
  sub->add_option("--counterfactual", a->eval.counterfactual,
                  "TSV of term pairs (he<TAB>she): swap them in the prompts and report how answers change (default: "
                  "none)")
      ->type_name(kFile);
  add_config_option(*sub);
  sub->callback([a] { run_generate(*a); });
}

void setup_eval_choice(CLI::App& eval) {
  auto a = std::make_shared<ChoiceEvalArgs>();
  CLI::App* sub = eval.add_subcommand(
      "choice", "multiple-choice accuracy: options ranked by the model's log-likelihood (per token and total)");
  add_model_options(sub, a->gen);
  add_common_eval_options(sub, a->common, true);
  sub->add_flag("--chat", a->chat, "render prompts as a user turn of the chat template (options are the answer)");
  add_config_option(*sub);
  sub->callback([a] { run_choice(*a); });
}

}  // namespace chatforge::cli
