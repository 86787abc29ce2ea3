// Scores a corpus of hypotheses against per-item references with BLEU, ROUGE or QA
// EM/F1 and packages each number as a CorpusMetric: its value, a bootstrap interval, and
// the statistic that recomputes it on any subset of items, so the same object serves
// confidence intervals, per-group fairness tables and reports. Used by `chatforge
// metrics` now and by `chatforge eval generate` once generation exists.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/bleu.h"
#include "eval/bootstrap.h"
#include "eval/fairness.h"
#include "eval/qa_metrics.h"
#include "eval/rouge.h"

namespace chatforge::eval {

struct CorpusMetric {
  std::string name;   // "bleu", "rouge1_f", "exact_match", ...
  double value = 0;   // on all items
  Interval ci;        // filled by add_confidence_intervals
  SubsetStatistic statistic;
};

// refs[i] = the non-empty references of item i (at least one each); hyps.size() == refs.size().
// `details` receives metric-specific extras (BLEU signature and counts, ROUGE P/R).
// `total` (optional) receives the corpus BleuScore (for sacreBLEU-style text output).
std::vector<CorpusMetric> bleu_metrics(const std::vector<std::string>& hyps,
                                       const std::vector<std::vector<std::string>>& refs, const BleuOptions& opt,
                                       nlohmann::json& details, BleuScore* total = nullptr);
std::vector<CorpusMetric> rouge_metrics(const std::vector<std::string>& hyps,
                                        const std::vector<std::vector<std::string>>& refs, const RougeOptions& opt,
                                        nlohmann::json& details);
std::vector<CorpusMetric> qa_metrics(const std::vector<std::string>& hyps,
                                     const std::vector<std::vector<std::string>>& refs, const QaOptions& opt,
                                     nlohmann::json& details);

// "fact_accuracy" (percent): items whose hypothesis states every one of its facts
// (facts_match); facts[i] non-empty for every item.
std::vector<CorpusMetric> fact_metrics(const std::vector<std::string>& hyps,
                                       const std::vector<std::vector<std::string>>& facts, const QaOptions& opt);

void add_confidence_intervals(std::vector<CorpusMetric>& metrics, size_t n_items, const BootstrapOptions& opt);

// Every metric per group, with the largest gap.
std::vector<GroupMetric> group_metrics(const std::vector<CorpusMetric>& metrics, const Groups& groups,
                                       const BootstrapOptions& opt);

nlohmann::json metrics_json(const std::vector<CorpusMetric>& metrics);
nlohmann::json groups_json(const std::vector<GroupMetric>& groups);

// A report page: overall table, per-group table and one bar chart (with CI whiskers) per metric.
std::string metrics_report_html(const std::string& title, const std::vector<std::string>& notes,
                                const std::vector<CorpusMetric>& metrics, const std::vector<GroupMetric>& groups);

}  // namespace chatforge::eval
