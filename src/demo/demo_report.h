// What the demo reports about its assistant: the scores read back from `eval generate`'s
// results.json for each evaluation set (fact accuracy per language, every item right or
// wrong, on-topic questions answered with the refusal), the targets they are held to,
// and the demo's report.html that puts them next to every stage.
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace chatforge::demo {

// What the demo aims at: on each held-out set and in each language at least
// kTargetAccuracy percent right, and at most kTargetOnTopicRefused percent of the on-topic
// questions answered with the refusal.
inline constexpr double kTargetAccuracy = 85.0;
inline constexpr double kTargetOnTopicRefused = 5.0;

struct EvalItemResult {
  std::string id, lang;
  std::string prior_question;  // a follow-up's earlier user turn ("" when there is none)
  std::string question, output;
  bool right = false;    // states every key fact of its answer
  bool refused = false;  // the output carries the refusal's key phrase
};

struct EvalScores {
  double all = NAN;                                   // fact accuracy, percent
  std::vector<std::pair<std::string, double>> groups;  // per language
  std::vector<EvalItemResult> items;
  bool read = false;  // results.json was there and parsed
  double group(const std::string& name) const;        // NaN when absent
  double refused_percent() const;                     // share of items with `refused`
};

// Reads `results` (an `eval generate` results.json) and, for the questions as asked, the
// evaluation file `data` it scored (JSONL with id and messages). Missing or unreadable
// files give an EvalScores with read == false and NaN scores, so a report still writes.
EvalScores read_eval_scores(const std::string& results, const std::string& data);
// A stage's JSON output, or an empty object when the file is missing or unreadable (the
// report shows what there is; a stage that failed has already stopped the demo).
nlohmann::json read_json_or_empty(const std::string& path);

// Percent for people: "87.5%", or "n/a" for NaN.
std::string percent(double v);

struct DemoReport {
  std::string title;
  std::vector<std::string> summary;  // lines of the top paragraph (escaped)
  EvalScores heldout, freeform, fresh, refusals;
  double on_topic_refused = NAN;     // over the three on-topic held-out sets together
  std::vector<std::vector<std::string>> stages;  // stage, time, look-at (HTML), command (HTML)
  std::vector<std::pair<std::string, std::string>> facts;  // the run's numbers (escaped)
};

// The whole report.html: targets with met/missed, the scores, the stages, the run's
// numbers, then every held-out item of every set with a right/wrong column.
std::string demo_report_html(const DemoReport& r);

}  // namespace chatforge::demo
