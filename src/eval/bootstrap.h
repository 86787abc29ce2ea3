// Percentile bootstrap confidence intervals for any statistic of a set of items (a mean
// of per-item scores, or a corpus metric such as BLEU recomputed from per-item sufficient
// statistics). Seeded with core Rng, so the same inputs and seed give the same interval.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace chatforge::eval {

struct Interval {
  double lo = 0, hi = 0;
  bool contains(double x) const { return lo <= x && x <= hi; }
};

struct BootstrapOptions {
  int resamples = 1000;
  double confidence = 0.95;
  uint64_t seed = 1234;
};

// A statistic of a multiset of items, given as indices into the caller's item list.
using SubsetStatistic = std::function<double(std::span<const size_t> items)>;

// Quantile with linear interpolation between order statistics (numpy's default).
// quantile({1, 2, 3, 4}, 0.5) -> 2.5
double quantile(std::vector<double> values, double q);

// Interval from bootstrap replicates: the (1-c)/2 and 1-(1-c)/2 quantiles.
Interval percentile_interval(const std::vector<double>& replicates, double confidence);

// Resamples `items` with replacement `resamples` times and returns the percentile
// interval of statistic(resample).
Interval bootstrap_ci(std::span<const size_t> items, const SubsetStatistic& statistic, const BootstrapOptions& opt);

// Unpaired (stratified) interval of statistic(a) - statistic(b): a and b are resampled
// independently, each from itself.
Interval bootstrap_diff_ci(std::span<const size_t> a, std::span<const size_t> b, const SubsetStatistic& statistic,
                           const BootstrapOptions& opt);

double mean(std::span<const double> values);

// Paired: mean(x - y) over pairs and its interval from resampling pairs.
struct PairedDiff {
  double mean_diff = 0;
  Interval ci;
};
PairedDiff bootstrap_paired_diff(std::span<const double> x, std::span<const double> y, const BootstrapOptions& opt);

}  // namespace chatforge::eval
