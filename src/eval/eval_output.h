// What the model evaluations (perplexity, generate, choice) hand back and the pieces they
// share to build it: the results.json object, the HTML report, and the summary lines a
// command prints; metric tables and charts, per-group sections, user-feedback statistics.
// Writing the files is the caller's (the CLI's) job.
#pragma once
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/corpus_metrics.h"
#include "eval/fairness.h"
#include "eval/report_html.h"

namespace chatforge::eval {

struct EvalOutput {
  nlohmann::json results;  // results.json
  HtmlReport report;       // report.html
  std::string summary;     // the lines printed to stdout, each ending in '\n'
};

// printf-style formatting into a string (padding counts bytes, as printf does).
std::string cformat(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Groups of the items' labels (group_items), or none when group_field is empty.
// UsageError "--expect-groups needs --group-field" when expected groups come without a
// field; group_items' errors are prefixed with `data`.
Groups make_groups(const std::string& data, const std::string& group_field,
                   const std::vector<std::string>& expect_groups, const std::vector<std::string>& labels);

// Fills every metric's interval; returns per-group values and gaps (none without groups).
std::vector<GroupMetric> finish_metrics(std::vector<CorpusMetric>& metrics, size_t n_items, const Groups& g,
                                        const BootstrapOptions& bo);

// A mean of per-item values (0..100) as a CorpusMetric, e.g. values {100, 0, 100} -> 66.67.
CorpusMetric mean_metric(const std::string& name, std::shared_ptr<const std::vector<double>> values);

// One line per metric ("bleu  12.34  95% CI [..]") and one per group gap.
std::string format_metrics(const std::vector<CorpusMetric>& metrics, const std::vector<GroupMetric>& groups);

// "Overall" table, and with groups: gap table, per-group table, one bar chart per metric.
void add_metric_sections(HtmlReport& rep, const std::vector<CorpusMetric>& metrics,
                         const std::vector<GroupMetric>& groups);

// The approval statistics of `chatforge serve --db` (serve::FeedbackStore::stats() of
// `db`) as results["user_feedback"], a table and a per-model approval chart.
void add_user_feedback(const nlohmann::json& stats, const std::string& db, nlohmann::json& results,
                       HtmlReport& rep);

// results.json's text: 2-space indent, invalid UTF-8 replaced, trailing newline.
std::string results_text(const nlohmann::json& results);

// s cut to at most n bytes at a UTF-8 boundary, with "…" when cut.
std::string shorten(const std::string& s, size_t n = 160);

}  // namespace chatforge::eval
