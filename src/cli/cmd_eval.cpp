// `chatforge eval <task>`: evaluation tasks, one setup function each in kTasks below.
// perplexity, generate and choice run a model (eval_model_tasks.cpp); human-kit writes a
// blinded side-by-side sheet from two answer files or two models; human-score unblinds
// ratings (win/tie/loss with intervals, inter-rater agreement).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/eval_model_tasks.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/json_util.h"
#include "core/file_io.h"
#include "eval/human_kit.h"
#include "eval/report_html.h"
#include "eval/text_files.h"

namespace chatforge::cli {
namespace {

using namespace chatforge::eval;

std::string stem_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

// A model directory's name for a kit: its own name, or for a training run's checkpoint
// links and steps ("runs/sft/last", "runs/sft/step_0000400") the run's name before it
// ("sft-last", "sft-step_0000400"), so two runs' `last` checkpoints keep apart.
std::string model_name_of(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string base = stem_of(dir);
  if (base != "last" && base != "best" && base.rfind("step_", 0) != 0) return base;
  const size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return base;
  return stem_of(dir.substr(0, slash)) + "-" + base;
}

// Prompts of a human-kit data file ("prompt", or the turns of "messages" before a final
// assistant turn), with ids as load_kit_items gives them.
std::vector<std::pair<std::string, PromptSpec>> read_kit_prompts(const std::string& path, bool chat_tokens) {
  std::vector<std::pair<std::string, PromptSpec>> out;
  for (const auto& rec : read_jsonl(path)) {
    const auto& v = rec.value;
    PromptSpec p;
    CF_CHECK(v.is_object(), "{}:{}: expected a JSON object", path, rec.line);
    if (v.contains("prompt") && v["prompt"].is_string()) {
      p.text = v["prompt"].get<std::string>();
    } else if (v.contains("messages") && v["messages"].is_array() && !v["messages"].empty()) {
      const auto& msgs = v["messages"];
      size_t end = msgs.size();
      if (end > 1 && msgs.back().is_object() &&
          json_field_or(msgs.back(), "role", "", fmt::format("{}:{}: messages[{}]", path, rec.line, end - 1)) ==
              "assistant")
        --end;
      for (size_t i = 0; i < end; ++i) {
        CF_CHECK(msgs[i].is_object() && msgs[i].contains("content") && msgs[i]["content"].is_string(),
                 "{}:{}: messages[{}] needs a string 'content'", path, rec.line, i);
        const std::string content = msgs[i]["content"].get<std::string>();
        const std::string where = fmt::format("{}:{}: messages[{}]", path, rec.line, i);
        p.messages.emplace_back(json_field_or(msgs[i], "role", "user", where), content);
        if (!p.text.empty()) p.text += "\n\n";
        p.text += content;
      }
      p.chat = chat_tokens;
    }
    CF_CHECK(!p.text.empty(), "{}:{}: no 'prompt' or 'messages'", path, rec.line);
    out.emplace_back(std::to_string(rec.line), std::move(p));
  }
  CF_CHECK(!out.empty(), "{}: no items", path);
  return out;
}

// Answers of one model to every kit prompt, written as an answers JSONL ("answer" per line).
void write_model_answers(const std::string& model_dir, const GenerationOptions& base, const std::string& data,
                         bool chat, int batch, const std::string& path) {
  GenerationOptions g = base;
  g.model_dir = model_dir;
  LoadedModel lm = load_model_and_tokenizer(g);
  g.validate(lm.tokenizer->vocab_size());
  const bool chat_tokens = lm.chat != nullptr;
  if (chat && !chat_tokens) usage_fail("--chat: {} has no chat template", model_dir);
  std::vector<std::vector<int32_t>> prompts;
  for (auto& [id, p] : read_kit_prompts(data, chat_tokens)) {
    p.chat = p.chat || chat;
    prompts.push_back(encode_prompt(*lm.tokenizer, lm.chat.get(), p));
    CF_CHECK(!prompts.back().empty(), "{}: item {}: the prompt encodes to no tokens", data, id);
  }
  AnswerOptions ao = answer_options(g, batch);
  ao.label = stem_of(model_dir);
  const auto answers = generate_answers(lm, ao, prompts);
  std::string text;
  for (const auto& a : answers) text += nlohmann::json{{"answer", a.text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  write_file_atomic(path, text);
}

void setup_human_kit(CLI::App& eval) {
  struct Args {
    std::string data, answers_a, answers_b, out, name_a, name_b, title = "Which answer is better?";
    std::vector<std::string> models;
    GenerationOptions gen;
    bool chat = false;
    int batch = 8;
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  a->gen.sampling.temperature = 0;
  a->gen.max_tokens = 128;
  CLI::App* sub = eval.add_subcommand("human-kit", "write a blinded, shuffled side-by-side rating sheet for two systems");
  sub->add_option("--data", a->data, "JSONL with 'prompt' (or 'messages') and optional 'id'")
      ->type_name(kFile)
      ->required();
  sub->add_option("--answers-a", a->answers_a,
                  "JSONL answers of system A, aligned with --data ('answer' field; default: none, use --model)")
      ->type_name(kFile);
  sub->add_option("--answers-b", a->answers_b, "JSONL answers of system B, aligned with --data (default: none)")
      ->type_name(kFile);
  sub->add_option("--model", a->models,
                  "instead of answer files: two model directories (A then B) that answer --data (default: none)")
      ->type_name(kDir);
  sub->add_flag("--chat", a->chat, "--model: render plain prompts as a user turn of the chat template");
  sub->add_option("--max-tokens", a->gen.max_tokens, "--model: maximum new tokens per answer")->capture_default_str();
  sub->add_option("--temperature", a->gen.sampling.temperature, "--model: sampling temperature; 0 = greedy")
      ->capture_default_str();
  sub->add_option("--top-p", a->gen.sampling.top_p, "--model: nucleus sampling mass")->capture_default_str();
  sub->add_option("--sampling-seed", a->gen.sampling.seed, "seed of the sampling (--model)")->capture_default_str();
  sub->add_option("--batch-size,--batch", a->batch, "--model: sequences generated together")->capture_default_str();
  add_threads_option(*sub, a->gen.threads);
  add_weights_dtype_option(*sub, a->gen.weights_dtype);
  add_lora_option(*sub, a->gen.lora);
  sub->add_option("--out", a->out, "kit directory: sheet.html, sheet.csv (for raters), key.json (keep hidden)")
      ->type_name(kDir)
      ->required();
  sub->add_option("--name-a", a->name_a, "name of system A in the key and results (default: its file's name)");
  sub->add_option("--name-b", a->name_b, "name of system B (default: its file's name)");
  sub->add_option("--title", a->title, "heading of the rating sheet")->capture_default_str();
  sub->add_option("--seed", a->seed, "seed of the shuffle and of the left/right order")->capture_default_str();
  add_sampling_ranges(*sub);
  set_ranges(*sub, {{"--max-tokens", "[0, 2^20]"}, {"--batch-size", "[1, 256]"}});  // --seed: add_sampling_ranges
  add_config_option(*sub);
  sub->callback([a] {
    if (!a->models.empty()) {
      if (a->models.size() != 2) usage_fail("--model: give exactly two model directories (--model A --model B)");
      if (!a->answers_a.empty() || !a->answers_b.empty())
        usage_fail("give either --model A --model B or --answers-a/--answers-b, not both");
      make_output_dir(a->out);
      a->answers_a = a->out + "/answers_" + model_name_of(a->models[0]) + "_a.jsonl";
      a->answers_b = a->out + "/answers_" + model_name_of(a->models[1]) + "_b.jsonl";
      if (a->name_a.empty()) a->name_a = model_name_of(a->models[0]);
      if (a->name_b.empty()) a->name_b = model_name_of(a->models[1]);
      write_model_answers(a->models[0], a->gen, a->data, a->chat, a->batch, a->answers_a);
      write_model_answers(a->models[1], a->gen, a->data, a->chat, a->batch, a->answers_b);
    } else if (a->answers_a.empty() || a->answers_b.empty()) {
      usage_fail("give --answers-a FILE --answers-b FILE, or --model DIR_A --model DIR_B");
    }
    KitOptions o;
    o.seed = a->seed;
    o.name_a = a->name_a.empty() ? stem_of(a->answers_a) : a->name_a;
    o.name_b = a->name_b.empty() ? stem_of(a->answers_b) : a->name_b;
    if (o.name_a == o.name_b) o.name_a += " (A)", o.name_b += " (B)";
    o.title = a->title;
    const auto items = load_kit_items(a->data, a->answers_a, a->answers_b);
    write_human_kit(items, a->out, o);
    std::printf("wrote %zu items to %s: sheet.html and sheet.csv for raters, key.json (keep it from raters)\n",
                items.size(), a->out.c_str());
  });
}

std::string fmt_opt(const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : "n/a"; }

void setup_human_score(CLI::App& eval) {
  struct Args {
    std::string kit, out, html;
    std::vector<std::string> ratings;
    bool json = false;
    int bootstrap = 2000;
    uint64_t seed = 1234;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = eval.add_subcommand("human-score", "unblind ratings of a human-kit: win/tie/loss and agreement");
  sub->add_option("--kit", a->kit, "kit directory written by `chatforge eval human-kit`")->type_name(kDir)->required();
  sub->add_option("--ratings", a->ratings, "ratings CSV(s): rater,item_id,preference (1, 2 or tie)")
      ->type_name(kFile)
      ->required();
  sub->add_flag("--json", a->json, "print results as JSON");
  sub->add_option("--out", a->out, "also write the results JSON to this file (default: none)")->type_name(kFile);
  sub->add_option("--html", a->html, "also write an HTML report to this file (default: none)")->type_name(kFile);
  sub->add_option("--bootstrap", a->bootstrap, "bootstrap resamples (items are resampled)")->capture_default_str();
  sub->add_option("--bootstrap-seed,--seed", a->seed, "seed of the bootstrap resampling")->capture_default_str();
  set_ranges(*sub, {{"--bootstrap", kBootstrapRange}, {"--bootstrap-seed", kSeedRange}});
  add_config_option(*sub);
  sub->callback([a] {
    const KitKey key = read_kit_key(a->kit);
    BootstrapOptions bo;
    bo.resamples = a->bootstrap;
    bo.seed = a->seed;
    const HumanScore s = score_human_ratings(key, a->ratings, bo);
    auto rate = [](const RateWithCi& r) { return nlohmann::json{{"rate", r.rate}, {"ci95", {r.ci.lo, r.ci.hi}}}; };
    auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    const nlohmann::json j = {
        {"model_a", s.name_a},
        {"model_b", s.name_b},
        {"ratings", s.ratings},
        {"items_rated", s.items_rated},
        {"items_in_kit", s.items_in_kit},
        {"blank_skipped", s.blank_skipped},
        {"raters", s.raters},
        {"counts", {{"a_wins", s.a_wins}, {"ties", s.ties}, {"b_wins", s.b_wins}}},
        {"a_win", rate(s.a_win)},
        {"tie", rate(s.tie)},
        {"b_win", rate(s.b_win)},
        {"agreement",
         {{"krippendorff_alpha", opt(s.krippendorff_alpha)},
          {"fleiss_kappa", opt(s.fleiss_kappa)},
          {"cohen_kappa", opt(s.cohen_kappa)}}}};
    if (!a->out.empty()) write_file_atomic(a->out, j.dump(2) + "\n");
    if (a->json) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("%s vs %s: %zu ratings of %zu/%zu items by %zu rater(s)\n", s.name_a.c_str(), s.name_b.c_str(),
                  s.ratings, s.items_rated, s.items_in_kit, s.raters.size());
      std::printf("  %-10s %6.1f%%  95%% CI [%.1f%%, %.1f%%]\n", (s.name_a + " wins").c_str(), 100 * s.a_win.rate,
                  100 * s.a_win.ci.lo, 100 * s.a_win.ci.hi);
      std::printf("  %-10s %6.1f%%  95%% CI [%.1f%%, %.1f%%]\n", "ties", 100 * s.tie.rate, 100 * s.tie.ci.lo,
                  100 * s.tie.ci.hi);
      std::printf("  %-10s %6.1f%%  95%% CI [%.1f%%, %.1f%%]\n", (s.name_b + " wins").c_str(), 100 * s.b_win.rate,
                  100 * s.b_win.ci.lo, 100 * s.b_win.ci.hi);
      std::printf("  agreement: Krippendorff alpha %s, Fleiss kappa %s, Cohen kappa %s\n",
                  fmt_opt(s.krippendorff_alpha).c_str(), fmt_opt(s.fleiss_kappa).c_str(), fmt_opt(s.cohen_kappa).c_str());
    }
    if (!a->html.empty()) {
      HtmlReport rep(fmt::format("Human evaluation: {} vs {}", s.name_a, s.name_b));
      rep.paragraph(fmt::format("{} ratings of {} of {} items by {} rater(s); intervals from resampling items.",
                                s.ratings, s.items_rated, s.items_in_kit, s.raters.size()));
      rep.table({"outcome", "count", "rate", "95% CI"},
                {{s.name_a + " wins", std::to_string(s.a_wins), fmt::format("{:.1f}%", 100 * s.a_win.rate),
                  fmt::format("[{:.1f}%, {:.1f}%]", 100 * s.a_win.ci.lo, 100 * s.a_win.ci.hi)},
                 {"tie", std::to_string(s.ties), fmt::format("{:.1f}%", 100 * s.tie.rate),
                  fmt::format("[{:.1f}%, {:.1f}%]", 100 * s.tie.ci.lo, 100 * s.tie.ci.hi)},
                 {s.name_b + " wins", std::to_string(s.b_wins), fmt::format("{:.1f}%", 100 * s.b_win.rate),
                  fmt::format("[{:.1f}%, {:.1f}%]", 100 * s.b_win.ci.lo, 100 * s.b_win.ci.hi)}});
      rep.bar_chart("Outcome rates (%)", {{s.name_a + " wins", 100 * s.a_win.rate, 100 * s.a_win.ci.lo, 100 * s.a_win.ci.hi},
                                          {"tie", 100 * s.tie.rate, 100 * s.tie.ci.lo, 100 * s.tie.ci.hi},
                                          {s.name_b + " wins", 100 * s.b_win.rate, 100 * s.b_win.ci.lo, 100 * s.b_win.ci.hi}});
      rep.table({"agreement", "value"}, {{"Krippendorff's alpha (nominal)", fmt_opt(s.krippendorff_alpha)},
                                         {"Fleiss' kappa", fmt_opt(s.fleiss_kappa)},
                                         {"Cohen's kappa (2 raters)", fmt_opt(s.cohen_kappa)}});
      write_file_atomic(a->html, rep.html());
    }
  });
}

// Tasks of `chatforge eval`, in --help order.
const std::vector<void (*)(CLI::App&)> kTasks = {setup_eval_perplexity, setup_eval_generate, setup_eval_choice,
                                                  setup_human_kit, setup_human_score};

void setup_eval(CLI::App& cmd) {
  cmd.require_subcommand(1);
  for (auto task : kTasks) task(cmd);
}

}  // namespace
CF_REGISTER_COMMAND({"eval", "evaluate models: perplexity, generate (BLEU/ROUGE/EM/F1), choice, human-eval kits", setup_eval, 70});
}  // namespace chatforge::cli
