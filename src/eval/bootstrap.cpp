// Percentile bootstrap (see bootstrap.h).
#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace chatforge::eval {
namespace {

void resample(std::span<const size_t> from, Rng& rng, std::vector<size_t>& out) {
  out.resize(from.size());
  for (auto& x : out) x = from[rng.below(from.size())];
}

void check_options(const BootstrapOptions& opt) {
  CF_CHECK(opt.resamples > 0, "bootstrap resamples must be positive (got {})", opt.resamples);
  CF_CHECK(opt.confidence > 0 && opt.confidence < 1, "bootstrap confidence must be in (0, 1) (got {})",
           opt.confidence);
}

}  // namespace

double quantile(std::vector<double> values, double q) {
  CF_ASSERT(!values.empty());
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

Interval percentile_interval(const std::vector<double>& replicates, double confidence) {
  const double tail = (1.0 - confidence) / 2.0;
  return {quantile(replicates, tail), quantile(replicates, 1.0 - tail)};
}

Interval bootstrap_ci(std::span<const size_t> items, const SubsetStatistic& statistic, const BootstrapOptions& opt) {
  check_options(opt);
  CF_CHECK(!items.empty(), "cannot bootstrap an empty set of items");
  Rng rng(opt.seed);
  std::vector<size_t> sample;
  std::vector<double> reps;
  reps.reserve(static_cast<size_t>(opt.resamples));
  for (int r = 0; r < opt.resamples; ++r) {
    resample(items, rng, sample);
    reps.push_back(statistic(sample));
  }
  return percentile_interval(reps, opt.confidence);
}

Interval bootstrap_diff_ci(std::span<const size_t> a, std::span<const size_t> b, const SubsetStatistic& statistic,
                           const BootstrapOptions& opt) {
  check_options(opt);
  CF_CHECK(!a.empty() && !b.empty(), "cannot bootstrap a difference with an empty side");
  Rng rng(opt.seed);
  std::vector<size_t> sa, sb;
  std::vector<double> reps;
  reps.reserve(static_cast<size_t>(opt.resamples));
  for (int r = 0; r < opt.resamples; ++r) {
    resample(a, rng, sa);
    resample(b, rng, sb);
    reps.push_back(statistic(sa) - statistic(sb));
  }
  return percentile_interval(reps, opt.confidence);
}

double mean(std::span<const double> values) {
  if (values.empty()) return 0.0;
  double s = 0;
  for (double v : values) s += v;
  return s / static_cast<double>(values.size());
}

PairedDiff bootstrap_paired_diff(std::span<const double> x, std::span<const double> y, const BootstrapOptions& opt) {
  CF_CHECK(x.size() == y.size(), "paired difference needs equal-length lists ({} vs {})", x.size(), y.size());
  CF_CHECK(!x.empty(), "paired difference needs at least one pair");
  std::vector<double> d(x.size());
  for (size_t i = 0; i < x.size(); ++i) d[i] = x[i] - y[i];
  std::vector<size_t> idx(d.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  PairedDiff out;
  out.mean_diff = mean(d);
  out.ci = bootstrap_ci(idx, [&](std::span<const size_t> s) {
    double sum = 0;
    for (size_t i : s) sum += d[i];
    return sum / static_cast<double>(s.size());
  }, opt);
  return out;
}

}  // namespace chatforge::eval
