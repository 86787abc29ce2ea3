// The demo's scores and report.html (see demo_report.h).
#include "demo/demo_report.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"
#include "core/json_util.h"
#include "demo/knowledge_base.h"
#include "eval/qa_metrics.h"
#include "eval/report_html.h"

namespace chatforge::demo {
namespace {

using nlohmann::json;
using eval::html_escape;

// id -> (earlier user turn or "", last user turn) from an evaluation JSONL file.
std::map<std::string, std::pair<std::string, std::string>> questions_by_id(const std::string& data) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  if (!file_exists(data)) return out;
  std::istringstream in(read_file(data));
  for (std::string line; std::getline(in, line);) {
    try {
      const json j = json::parse(line);
      std::vector<std::string> users;
      for (const auto& m : j.at("messages"))
        if (m.value("role", "") == "user") users.push_back(m.value("content", ""));
      if (users.empty()) continue;
      out[j.value("id", "")] = {users.size() > 1 ? users[users.size() - 2] : "", users.back()};
    } catch (const std::exception&) {
    }
  }
  return out;
}

bool is_refusal(const std::string& output, const std::string& lang) {
  const std::vector<std::string> fact = {std::string(refusal_fact(lang == "zh" ? Lang::kZh : Lang::kEn))};
  return eval::facts_match(output, fact) > 0;
}

std::string mark(bool ok) { return ok ? "met" : "missed"; }

}  // namespace

double EvalScores::group(const std::string& name) const {
  for (const auto& [g, v] : groups)
    if (g == name) return v;
  return NAN;
}

double EvalScores::refused_percent() const {
  if (items.empty()) return NAN;
  size_t n = 0;
  for (const auto& it : items) n += it.refused;
  return 100.0 * static_cast<double>(n) / static_cast<double>(items.size());
}

json read_json_or_empty(const std::string& path) {
  if (!file_exists(path)) return json::object();
  try {
    return parse_json(read_file(path), path);
  } catch (const std::exception&) {
    return json::object();
  }
}

EvalScores read_eval_scores(const std::string& results, const std::string& data) {
  const json j = read_json_or_empty(results);
  EvalScores s;
  if (!j.contains("metrics") || !j["metrics"].contains("fact_accuracy")) return s;
  s.read = true;
  s.all = j["metrics"]["fact_accuracy"].value("value", NAN);
  if (j.contains("per_group") && j["per_group"].contains("fact_accuracy"))
    for (const auto& [name, v] : j["per_group"]["fact_accuracy"]["groups"].items())
      s.groups.emplace_back(name, v.value("value", NAN));
  const auto questions = questions_by_id(data);
  if (j.contains("outputs"))
    for (const auto& o : j["outputs"]) {
      EvalItemResult it;
      it.id = o.value("id", "");
      it.lang = o.value("group", "");
      it.output = o.value("output", "");
      it.right = o.value("facts_match", false);
      it.refused = is_refusal(it.output, it.lang);
      if (const auto q = questions.find(it.id); q != questions.end()) {
        it.prior_question = q->second.first;
        it.question = q->second.second;
      } else {
        it.question = o.value("prompt", "");
      }
      s.items.push_back(std::move(it));
    }
  return s;
}

std::string percent(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.1f}%", v); }

std::string demo_report_html(const DemoReport& r) {
  eval::HtmlReport h(r.title);
  for (const auto& line : r.summary) h.paragraph(line);

  // Targets first: what the demo aims at and whether this run met it.
  h.heading("Targets");
  struct OnTopicSet {
    const EvalScores* scores;
    std::string name, file;
  };
  const std::vector<OnTopicSet> on_topic = {{&r.heldout, "template", "heldout"},
                                            {&r.freeform, "free-form", "freeform"},
                                            {&r.fresh, "fresh", "fresh"}};
  std::vector<std::vector<std::string>> rows;
  for (const auto& [set, short_name, file] : on_topic) {
    const std::string name = short_name + " held-out";
    for (const auto& [g, v] : set->groups)
      rows.push_back({fmt::format("{} questions, {}: right fact", name, g), fmt::format("at least {:.0f}%", kTargetAccuracy),
                      percent(v), std::isnan(v) ? "n/a" : mark(v >= kTargetAccuracy)});
  }
  rows.push_back({"on-topic questions answered with the refusal (the three on-topic sets)",
                  fmt::format("at most {:.0f}%", kTargetOnTopicRefused), percent(r.on_topic_refused),
                  std::isnan(r.on_topic_refused) ? "n/a" : mark(r.on_topic_refused <= kTargetOnTopicRefused)});
  rows.push_back({"off-topic requests politely refused", "(no fixed target)", percent(r.refusals.all), ""});
  h.table({"measure", "target", "this run", ""}, rows);

  h.heading("Held-out questions answered with the right fact");
  std::vector<eval::Bar> bars;
  for (const auto& [set, name, file] : on_topic)
    for (const auto& [g, v] : set->groups) bars.push_back({name + " " + g, std::isnan(v) ? 0 : v, {}, {}});
  h.bar_chart("fact accuracy (%)", bars);
  rows.clear();
  for (const auto& [set, name, file] : on_topic) {
    std::vector<std::string> row = {fmt::format("{} questions (eval/{}.jsonl)", name, file),
                                    std::to_string(set->items.size())};
    for (const char* g : {"en", "zh"}) row.push_back(percent(set->group(g)));
    row.push_back(percent(set->all));
    row.push_back(percent(set->refused_percent()));
    rows.push_back(row);
  }
  h.table({"set", "items", "en", "zh", "all", "answered with the refusal"}, rows);

  h.heading("Stages");
  // The table helper escapes its cells; these carry links, so it is built here.
  std::string t = "<table><tr><th>stage</th><th>time</th><th>look at</th><th>command</th></tr>";
  for (const auto& row : r.stages) {
    t += "<tr>";
    for (const auto& c : row) t += "<td>" + c + "</td>";
    t += "</tr>";
  }
  h.raw(t + "</table>");

  h.heading("This run");
  rows.clear();
  for (const auto& [k, v] : r.facts) rows.push_back({k, v});
  h.table({"", ""}, rows);

  // Every item, so a reader sees which questions the assistant gets wrong and how.
  std::vector<std::pair<const EvalScores*, std::string>> every;
  for (const auto& [set, name, file] : on_topic) every.push_back({set, "Every " + name + " held-out question"});
  every.push_back({&r.refusals, "Every held-out off-topic request"});
  for (const auto& [set, heading] : every) {
    h.heading(heading);
    std::string tab = "<table><tr><th>id</th><th>question</th><th>answer</th><th>right</th></tr>";
    for (const auto& it : set->items) {
      std::string q = html_escape(it.question);
      if (!it.prior_question.empty())
        q = "<span style='color:#777'>(after: " + html_escape(it.prior_question) + ")</span><br>" + q;
      const std::string verdict = it.right ? "<b style='color:#1a7f37'>right</b>"
                                           : (it.refused ? "<b style='color:#b35900'>wrong (refused)</b>"
                                                         : "<b style='color:#c62828'>wrong</b>");
      tab += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(it.id), q,
                         html_escape(it.output), verdict);
    }
    h.raw(tab + "</table>");
  }
  return h.html();
}

}  // namespace chatforge::demo
