// Corpus-level metrics with subset statistics (see corpus_metrics.h).
#include "eval/corpus_metrics.h"

#include <fmt/format.h>

#include <memory>

#include "core/error.h"
#include "eval/report_html.h"

namespace chatforge::eval {
namespace {

void check_shapes(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
  CF_CHECK(hyps.size() == refs.size(), "{} hypotheses but {} reference sets", hyps.size(), refs.size());
  CF_CHECK(!hyps.empty(), "no items to score");
  for (size_t i = 0; i < refs.size(); ++i) CF_CHECK(!refs[i].empty(), "item {}: no reference", i + 1);
}

// Runs fn(i) for i in [0, n) on the OpenMP threads. Exceptions cannot leave a parallel
// region, so the error of the lowest failing item is rethrown afterwards (the same one a
// serial loop would report).
template <typename Fn>
void parallel_items(size_t n, Fn fn) {
  std::vector<std::string> errors(n);
  bool any = false;
#pragma omp parallel for schedule(dynamic, 64) reduction(|| : any)
  for (size_t i = 0; i < n; ++i) {
    try {
      fn(i);
    } catch (const std::exception& e) {
      errors[i] = e.what();
      any = true;
    }
  }
  if (!any) return;
  for (size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) fail("item {}: {}", i + 1, errors[i]);
  }
}

// Mean of per-item values over a subset, scaled (x100 for percentages).
SubsetStatistic mean_statistic(std::shared_ptr<const std::vector<double>> values) {
  return [values](std::span<const size_t> items) {
    if (items.empty()) return 0.0;
    double s = 0;
    for (size_t i : items) s += (*values)[i];
    return s / static_cast<double>(items.size());
  };
}

CorpusMetric mean_of_metric(std::string name, std::vector<double> per_item) {
  auto values = std::make_shared<const std::vector<double>>(std::move(per_item));
  CorpusMetric m;
  m.name = std::move(name);
  m.statistic = mean_statistic(values);
  std::vector<size_t> all(values->size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  m.value = m.statistic(all);
  return m;
}

}  // namespace

std::vector<CorpusMetric> bleu_metrics(const std::vector<std::string>& hyps,
                                       const std::vector<std::vector<std::string>>& refs, const BleuOptions& opt,
                                       nlohmann::json& details, BleuScore* total_out) {
  check_shapes(hyps, refs);
  const BleuScorer scorer(opt);
  auto stats = std::make_shared<std::vector<BleuStats>>(hyps.size(), BleuStats(opt.max_order));
  parallel_items(hyps.size(), [&](size_t i) { (*stats)[i] = scorer.segment_stats(hyps[i], refs[i]); });
  BleuStats sum(opt.max_order);
  const size_t nrefs = refs[0].size();
  bool variable = false;
  for (size_t i = 0; i < hyps.size(); ++i) {
    sum += (*stats)[i];
    variable |= refs[i].size() != nrefs;
  }
  const BleuScore total = scorer.score(sum);
  if (total_out) *total_out = total;
  const std::string sig = scorer.signature(variable ? -1 : static_cast<int>(nrefs));
  details["bleu"] = {{"score", total.score},
                     {"signature", sig},
                     {"verbose_score", total.format(2)},
                     {"precisions", total.precisions},
                     {"bp", total.bp},
                     {"ratio", total.ratio},
                     {"hyp_len", total.stats.hyp_len},
                     {"ref_len", total.stats.ref_len},
                     {"counts", total.stats.correct},
                     {"totals", total.stats.total}};
  CorpusMetric m;
  m.name = "bleu";
  m.value = total.score;
  m.statistic = [stats, scorer, max_order = opt.max_order](std::span<const size_t> items) {
    BleuStats s(max_order);
    for (size_t i : items) s += (*stats)[i];
    return scorer.score(s).score;
  };
  return {m};
}

std::vector<CorpusMetric> rouge_metrics(const std::vector<std::string>& hyps,
                                        const std::vector<std::vector<std::string>>& refs, const RougeOptions& opt,
                                        nlohmann::json& details) {
  check_shapes(hyps, refs);
  const char* names[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
  std::vector<double> p[4], r[4], f[4];
  for (int k = 0; k < 4; ++k) p[k].resize(hyps.size()), r[k].resize(hyps.size()), f[k].resize(hyps.size());
  parallel_items(hyps.size(), [&](size_t i) {
    const RougeResult res = rouge_score(refs[i], hyps[i], opt);
    const RougeScore* s[4] = {&res.rouge1, &res.rouge2, &res.rougeL, &res.rougeLsum};
    for (int k = 0; k < 4; ++k) {
      p[k][i] = 100 * s[k]->precision;
      r[k][i] = 100 * s[k]->recall;
      f[k][i] = 100 * s[k]->fmeasure;
    }
  });
  std::vector<CorpusMetric> out;
  nlohmann::json d = nlohmann::json::object();
  for (int k = 0; k < 4; ++k) {
    CorpusMetric mp = mean_of_metric(std::string(names[k]) + "_p", p[k]);
    CorpusMetric mr = mean_of_metric(std::string(names[k]) + "_r", r[k]);
    d[names[k]] = {{"precision", mp.value}, {"recall", mr.value}};
    out.push_back(mean_of_metric(std::string(names[k]) + "_f", f[k]));
  }
  d["stemmer"] = opt.use_stemmer;
  d["tokenizer"] = opt.cjk_aware ? "rouge-score+cjk" : "rouge-score";
  details["rouge"] = d;
  return out;
}

std::vector<CorpusMetric> qa_metrics(const std::vector<std::string>& hyps,
                                     const std::vector<std::vector<std::string>>& refs, const QaOptions& opt,
                                     nlohmann::json& details) {
  check_shapes(hyps, refs);
  std::vector<double> em(hyps.size()), f1(hyps.size());
  parallel_items(hyps.size(), [&](size_t i) {
    const QaScore s = qa_score(hyps[i], refs[i], opt);
    em[i] = 100 * s.exact_match;
    f1[i] = 100 * s.f1;
  });
  details["qa"] = {{"normalization", opt.cjk_aware ? "squad+cjk" : "squad"}};
  return {mean_of_metric("exact_match", std::move(em)), mean_of_metric("f1", std::move(f1))};
}

std::vector<CorpusMetric> fact_metrics(const std::vector<std::string>& hyps,
                                       const std::vector<std::vector<std::string>>& facts, const QaOptions& opt) {
  check_shapes(hyps, facts);
  std::vector<double> hit(hyps.size());
  parallel_items(hyps.size(), [&](size_t i) { hit[i] = 100 * facts_match(hyps[i], facts[i], opt); });
  return {mean_of_metric("fact_accuracy", std::move(hit))};
}

void add_confidence_intervals(std::vector<CorpusMetric>& metrics, size_t n_items, const BootstrapOptions& opt) {
  std::vector<size_t> all(n_items);
  for (size_t i = 0; i < n_items; ++i) all[i] = i;
  for (auto& m : metrics) m.ci = bootstrap_ci(all, m.statistic, opt);
}

std::vector<GroupMetric> group_metrics(const std::vector<CorpusMetric>& metrics, const Groups& groups,
                                       const BootstrapOptions& opt) {
  std::vector<GroupMetric> out;
  for (const auto& m : metrics) out.push_back(per_group_metric(m.name, groups, m.statistic, opt));
  return out;
}

nlohmann::json metrics_json(const std::vector<CorpusMetric>& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& m : metrics) j[m.name] = {{"value", m.value}, {"ci95", {m.ci.lo, m.ci.hi}}};
  return j;
}

nlohmann::json groups_json(const std::vector<GroupMetric>& groups) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& g : groups) {
    nlohmann::json per = nlohmann::json::object();
    for (const auto& v : g.groups) per[v.group] = {{"n", v.count}, {"value", v.value}, {"ci95", {v.ci.lo, v.ci.hi}}};
    nlohmann::json entry = {{"groups", per}};
    if (g.groups.size() >= 2) {
      entry["largest_gap"] = {{"high", g.gap.high_group},
                              {"low", g.gap.low_group},
                              {"gap", g.gap.gap},
                              {"ci95", {g.gap.ci.lo, g.gap.ci.hi}},
                              {"significant", g.gap.significant()},
                              {"too_few_items", g.gap.too_few_items}};
    }
    j[g.metric] = entry;
  }
  return j;
}

std::string metrics_report_html(const std::string& title, const std::vector<std::string>& notes,
                                const std::vector<CorpusMetric>& metrics, const std::vector<GroupMetric>& groups) {
  HtmlReport rep(title);
  for (const auto& n : notes) rep.paragraph(n);
  rep.heading("Overall");
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : metrics) {
    rows.push_back({m.name, fmt::format("{:.2f}", m.value), fmt::format("[{:.2f}, {:.2f}]", m.ci.lo, m.ci.hi)});
  }
  rep.table({"metric", "value", "95% CI (bootstrap)"}, rows);
  if (!groups.empty()) {
    rep.heading("Per group");
    rep.paragraph("Largest gap = best group minus worst group; its interval comes from resampling both groups. "
                  "An interval that excludes 0 marks a difference unlikely to be chance.");
    rows.clear();
    for (const auto& g : groups) {
      for (const auto& v : g.groups) {
        rows.push_back({g.metric, v.group, std::to_string(v.count), fmt::format("{:.2f}", v.value),
                        fmt::format("[{:.2f}, {:.2f}]", v.ci.lo, v.ci.hi)});
      }
    }
    rep.table({"metric", "group", "n", "value", "95% CI"}, rows);
    rows.clear();
    for (const auto& g : groups) {
      if (g.groups.size() < 2) continue;
      rows.push_back({g.metric, g.gap.high_group + " - " + g.gap.low_group, fmt::format("{:.2f}", g.gap.gap),
                      fmt::format("[{:.2f}, {:.2f}]", g.gap.ci.lo, g.gap.ci.hi), g.gap.too_few_items ? "too few items" : (g.gap.significant() ? "yes" : "no")});
    }
    rep.table({"metric", "largest gap", "value", "95% CI", "significant"}, rows);
    for (const auto& g : groups) {
      std::vector<Bar> bars;
      for (const auto& v : g.groups) bars.push_back({v.group, v.value, v.ci.lo, v.ci.hi});
      rep.bar_chart(g.metric + " by group", bars);
    }
  }
  return rep.html();
}

}  // namespace chatforge::eval
