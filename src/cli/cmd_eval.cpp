// `chatforge eval <task>`: evaluation tasks. Each task is one setup function in kTasks
// below; perplexity/generate/choice (which need the generation engine) slot in the same
// way. Now: human-kit (blinded side-by-side sheet from two answer files) and human-score
// (unblind ratings: win/tie/loss with intervals, inter-rater agreement).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/error.h"
#include "core/file_io.h"
#include "eval/human_kit.h"
#include "eval/report_html.h"

namespace chatforge::cli {
namespace {

using namespace chatforge::eval;

std::string stem_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

void setup_human_kit(CLI::App& eval) {
  struct Args {
    std::string data, answers_a, answers_b, out, name_a, name_b, title = "Which answer is better?";
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = eval.add_subcommand("human-kit", "write a blinded, shuffled side-by-side rating sheet for two systems");
  sub->add_option("--data", a->data, "JSONL with 'prompt' (or 'messages') and optional 'id'")->required();
  sub->add_option("--answers-a", a->answers_a, "JSONL answers of system A, aligned with --data ('answer' field)")
      ->required();
  sub->add_option("--answers-b", a->answers_b, "JSONL answers of system B, aligned with --data")->required();
  sub->add_option("--out", a->out, "kit directory: sheet.html, sheet.csv (for raters), key.json (keep hidden)")
      ->required();
  sub->add_option("--name-a", a->name_a, "name of system A in the key and results (default: file name)");
  sub->add_option("--name-b", a->name_b, "name of system B (default: file name)");
  sub->add_option("--title", a->title, "heading of the rating sheet")->capture_default_str();
  sub->add_option("--seed", a->seed, "seed of the shuffle and of the left/right order")->capture_default_str();
  add_config_option(*sub);
  sub->callback([a] {
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
  sub->add_option("--kit", a->kit, "kit directory written by `chatforge eval human-kit`")->required();
  sub->add_option("--ratings", a->ratings, "ratings CSV(s): rater,item_id,preference (1, 2 or tie)")->required();
  sub->add_flag("--json", a->json, "print results as JSON");
  sub->add_option("--out", a->out, "also write the results JSON to this file");
  sub->add_option("--html", a->html, "also write an HTML report to this file");
  sub->add_option("--bootstrap", a->bootstrap, "bootstrap resamples (items are resampled)")
      ->capture_default_str()
      ->check(CLI::Range(10, 1000000));
  sub->add_option("--seed", a->seed, "seed of the bootstrap")->capture_default_str();
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

// Tasks of `chatforge eval`, in --help order. Add perplexity/generate/choice here.
const std::vector<void (*)(CLI::App&)> kTasks = {setup_human_kit, setup_human_score};

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1);
  for (auto task : kTasks) task(cmd);
}

}  // namespace
CF_REGISTER_COMMAND({"eval", "evaluate models: human-eval kits (human-kit, human-score)", setup, 70});
}  // namespace chatforge::cli
