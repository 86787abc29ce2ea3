// Implementation of eval_output.h.
#include "eval/eval_output.h"

#include <fmt/format.h>

#include <cstdarg>
#include <cstdio>
#include <span>

#include "core/error.h"

namespace chatforge::eval {

std::string cformat(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, again);
  va_end(again);
  return out;
}

Groups make_groups(const std::string& data, const std::string& group_field,
                   const std::vector<std::string>& expect_groups, const std::vector<std::string>& labels) {
  if (group_field.empty()) {
    if (!expect_groups.empty()) usage_fail("--expect-groups needs --group-field");
    return {};
  }
  try {
    return group_items(labels, expect_groups);
  } catch (const Error& e) {
    fail("{}: {}", data, e.what());
  }
}

std::vector<GroupMetric> finish_metrics(std::vector<CorpusMetric>& metrics, size_t n_items, const Groups& g,
                                        const BootstrapOptions& bo) {
  add_confidence_intervals(metrics, n_items, bo);
  return g.names.empty() ? std::vector<GroupMetric>{} : group_metrics(metrics, g, bo);
}

CorpusMetric mean_metric(const std::string& name, std::shared_ptr<const std::vector<double>> values) {
  CorpusMetric m;
  m.name = name;
  m.statistic = [values](std::span<const size_t> idx) {
    double s = 0;
    for (size_t i : idx) s += (*values)[i];
    return idx.empty() ? 0.0 : s / idx.size();
  };
  std::vector<size_t> all(values->size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  m.value = m.statistic(all);
  return m;
}

std::string format_metrics(const std::vector<CorpusMetric>& metrics, const std::vector<GroupMetric>& groups) {
  std::string out;
  for (const auto& m : metrics) {
    out += cformat("%-20s %8.2f  95%% CI [%.2f, %.2f]\n", m.name.c_str(), m.value, m.ci.lo, m.ci.hi);
  }
  for (const auto& g : groups) {
    if (g.groups.size() < 2) continue;
    out += cformat("%-20s largest gap %s - %s = %.2f  95%% CI [%.2f, %.2f]%s\n", g.metric.c_str(),
                   g.gap.high_group.c_str(), g.gap.low_group.c_str(), g.gap.gap, g.gap.ci.lo, g.gap.ci.hi,
                   g.gap.too_few_items ? "  (too few items to judge)" : (g.gap.significant() ? "  (significant)" : ""));
  }
  return out;
}

namespace {

void add_group_sections(HtmlReport& rep, const std::vector<GroupMetric>& groups) {
  rep.heading("Per group");
  rep.paragraph("Largest gap = best group minus worst group; its interval comes from resampling both groups. "
                "An interval that excludes 0 marks a difference unlikely to be chance.");
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : groups) {
    if (g.groups.size() < 2) continue;
    rows.push_back({g.metric, g.gap.high_group + " - " + g.gap.low_group, fmt::format("{:.2f}", g.gap.gap),
                    fmt::format("[{:.2f}, {:.2f}]", g.gap.ci.lo, g.gap.ci.hi),
                    g.gap.too_few_items ? "too few items" : (g.gap.significant() ? "yes" : "no")});
  }
  rep.table({"metric", "largest gap", "value", "95% CI", "significant"}, rows);
  rows.clear();
  for (const auto& g : groups)
    for (const auto& v : g.groups)
      rows.push_back({g.metric, v.group, std::to_string(v.count), fmt::format("{:.2f}", v.value),
                      fmt::format("[{:.2f}, {:.2f}]", v.ci.lo, v.ci.hi)});
  rep.table({"metric", "group", "n", "value", "95% CI"}, rows);
  for (const auto& g : groups) {
    std::vector<Bar> bars;
    for (const auto& v : g.groups) bars.push_back({v.group, v.value, v.ci.lo, v.ci.hi});
    rep.bar_chart(g.metric + " by group", bars);
  }
}

}  // namespace

void add_metric_sections(HtmlReport& rep, const std::vector<CorpusMetric>& metrics,
                         const std::vector<GroupMetric>& groups) {
  rep.heading("Overall");
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : metrics)
    rows.push_back({m.name, fmt::format("{:.2f}", m.value), fmt::format("[{:.2f}, {:.2f}]", m.ci.lo, m.ci.hi)});
  rep.table({"metric", "value", "95% CI (bootstrap)"}, rows);
  if (!groups.empty()) add_group_sections(rep, groups);
}

void add_user_feedback(const nlohmann::json& st, const std::string& db, nlohmann::json& results, HtmlReport& rep) {
  results["user_feedback"] = st;
  auto rate = [](const nlohmann::json& r) {
    return r.contains("approval_rate") && r["approval_rate"].is_number()
               ? fmt::format("{:.1f}%", 100 * r["approval_rate"].get<double>())
               : std::string("-");
  };
  rep.heading("User feedback");
  rep.paragraph(fmt::format("From {}: thumbs up/down given to answers in the web chat page.", db));
  std::vector<std::vector<std::string>> rows;
  std::vector<Bar> bars;
  for (const auto& r : st.value("per_model", nlohmann::json::array())) {
    rows.push_back({r.value("key", ""), std::to_string(r.value("answers", 0)), std::to_string(r.value("thumbs_up", 0)),
                    std::to_string(r.value("thumbs_down", 0)), rate(r)});
    if (r["approval_rate"].is_number())
      bars.push_back({r.value("key", ""), 100 * r["approval_rate"].get<double>(), std::nullopt, std::nullopt});
  }
  rows.push_back({"all models", std::to_string(st.value("answers", 0)), std::to_string(st.value("thumbs_up", 0)),
                  std::to_string(st.value("thumbs_down", 0)), rate(st)});
  rep.table({"model", "answers", "thumbs up", "thumbs down", "approval"}, rows);
  if (!bars.empty()) rep.bar_chart("approval rate by model (%)", bars);
}

std::string results_text(const nlohmann::json& results) {
  return results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string shorten(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "…";
}

}  // namespace chatforge::eval
