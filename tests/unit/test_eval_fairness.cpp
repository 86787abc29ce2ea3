// Bootstrap intervals and per-group gaps: a planted group difference is detected, and
// without one the gap's interval covers zero (checked over many seeds, so the interval's
// calibration is tested, not one lucky draw).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/agreement.h"
#include "eval/bootstrap.h"
#include "eval/corpus_metrics.h"
#include "eval/fairness.h"

using namespace chatforge::eval;

TEST(EvalBootstrap, QuantileInterpolatesLikeNumpy) {
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile({0, 10}, 0.025), 0.25);
}

TEST(EvalBootstrap, MeanIntervalIsDeterministicAndCoversTheMean) {
  std::vector<double> v(200);
  chatforge::Rng rng(3);
  for (auto& x : v) x = rng.uniform();
  std::vector<size_t> idx(v.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto stat = [&](std::span<const size_t> s) {
    double sum = 0;
    for (size_t i : s) sum += v[i];
    return sum / static_cast<double>(s.size());
  };
  BootstrapOptions o;
  const Interval a = bootstrap_ci(idx, stat, o), b = bootstrap_ci(idx, stat, o);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_TRUE(a.contains(mean(v)));
  // Standard error of a U(0,1) mean over 200 items is 0.0204; a 95% interval is ~0.08 wide.
  EXPECT_GT(a.hi - a.lo, 0.05);
  EXPECT_LT(a.hi - a.lo, 0.11);
}

namespace {
// Per-item correctness (0/1) drawn with probability p_a in group "A", p_b in group "B".
struct Synthetic {
  std::vector<double> score;
  std::vector<std::string> group;
};
Synthetic make_fairness_items(uint64_t seed, double p_a, double p_b, int per_group) {
  chatforge::Rng rng(seed);
  Synthetic s;
  for (int i = 0; i < 2 * per_group; ++i) {
    const bool a = i % 2 == 0;
    s.group.push_back(a ? "A" : "B");
    s.score.push_back(rng.uniform() < (a ? p_a : p_b) ? 100.0 : 0.0);
  }
  return s;
}
GroupMetric gap_of(const Synthetic& s, uint64_t seed) {
  auto values = std::make_shared<std::vector<double>>(s.score);
  SubsetStatistic stat = [values](std::span<const size_t> items) {
    double sum = 0;
    for (size_t i : items) sum += (*values)[i];
    return sum / static_cast<double>(items.size());
  };
  BootstrapOptions o;
  o.resamples = 400;
  o.seed = seed;
  return per_group_metric("em", group_items(s.group), stat, o);
}
}  // namespace

TEST(EvalFairness, PlantedGroupDifferenceIsDetected) {
  // 70% vs 50% correct, 300 items per group: the difference is ~5 standard errors.
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const GroupMetric g = gap_of(make_fairness_items(seed, 0.7, 0.5, 300), seed);
    ASSERT_EQ(g.groups.size(), 2u);
    EXPECT_EQ(g.gap.high_group, "A");
    EXPECT_EQ(g.gap.low_group, "B");
    EXPECT_TRUE(g.gap.significant()) << "seed " << seed << " gap " << g.gap.gap << " ci [" << g.gap.ci.lo << ", "
                                     << g.gap.ci.hi << "]";
    EXPECT_GT(g.gap.ci.lo, 5.0);
  }
}

TEST(EvalFairness, NoDifferenceIntervalCoversZero) {
  // Same 60% rate in both groups: a 95% interval should cover zero about 95% of the time.
  int covered = 0;
  const int trials = 40;
  for (uint64_t seed = 100; seed < 100 + trials; ++seed) {
    const GroupMetric g = gap_of(make_fairness_items(seed, 0.6, 0.6, 150), seed);
    covered += g.gap.ci.contains(0.0);
  }
  EXPECT_GE(covered, 34) << covered << " of " << trials;  // P(< 34 | 95% coverage) < 0.5%
  EXPECT_TRUE(gap_of(make_fairness_items(7, 0.6, 0.6, 150), 7).gap.ci.contains(0.0));
}

TEST(EvalFairness, PerGroupBleuFromSummedStatistics) {
  // Group "good" copies the reference, group "bad" drops words: BLEU per group differs.
  std::vector<std::string> hyps, groups;
  std::vector<std::vector<std::string>> refs;
  for (int i = 0; i < 40; ++i) {
    const std::string ref = "the quick brown fox number " + std::to_string(i) + " jumps over the lazy dog";
    refs.push_back({ref});
    if (i % 2 == 0) {
      hyps.push_back(ref);
      groups.push_back("good");
    } else {
      hyps.push_back("the brown fox " + std::to_string(i) + " over dog");
      groups.push_back("bad");
    }
  }
  nlohmann::json details;
  auto metrics = bleu_metrics(hyps, refs, BleuOptions{}, details);
  BootstrapOptions o;
  o.resamples = 200;
  const auto gm = group_metrics(metrics, group_items(groups), o);
  ASSERT_EQ(gm.size(), 1u);
  EXPECT_NEAR(gm[0].groups[0].value, 100.0, 1e-9);  // "good" seen first
  EXPECT_LT(gm[0].groups[1].value, 40.0);
  EXPECT_TRUE(gm[0].gap.significant());
}

TEST(EvalFairness, EmptyGroupsAreErrorsNamingTheItem) {
  try {
    group_items({"a", "b", ""});
    FAIL() << "expected an error";
  } catch (const chatforge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("item 3"), std::string::npos) << e.what();
  }
  try {
    group_items({"a", "b"}, {"a", "b", "c"});
    FAIL() << "expected an error";
  } catch (const chatforge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("group 'c' has no items"), std::string::npos) << e.what();
  }
}

TEST(EvalFairness, PairedDifference) {
  // Counterfactual pairs: x - y = {1, 1, 1, 1} exactly -> mean 1, interval [1, 1].
  const PairedDiff d = bootstrap_paired_diff(std::vector<double>{2, 3, 4, 5}, std::vector<double>{1, 2, 3, 4}, {});
  EXPECT_DOUBLE_EQ(d.mean_diff, 1.0);
  EXPECT_DOUBLE_EQ(d.ci.lo, 1.0);
  EXPECT_DOUBLE_EQ(d.ci.hi, 1.0);
}

// Cohen (Wikipedia's example): 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
//   po = 35/50 = 0.7; pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4
TEST(EvalAgreement, CohenKappa) {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < 20; ++i) pairs.push_back({0, 0});
  for (int i = 0; i < 5; ++i) pairs.push_back({0, 1});
  for (int i = 0; i < 10; ++i) pairs.push_back({1, 0});
  for (int i = 0; i < 15; ++i) pairs.push_back({1, 1});
  EXPECT_NEAR(*cohen_kappa(pairs, 2), 0.4, 1e-12);
  EXPECT_FALSE(cohen_kappa({{0, 0}, {0, 0}}, 2).has_value());  // chance agreement 1: undefined
}

// Fleiss (Wikipedia's example: 10 items, 14 raters, 5 categories): P = 0.378, Pe = 0.213,
// kappa = 0.210.
TEST(EvalAgreement, FleissKappa) {
  const std::vector<std::vector<int>> counts = {{0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0},
                                                {2, 2, 8, 1, 1},  {7, 7, 0, 0, 0}, {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2},
                                                {6, 5, 2, 1, 0},  {0, 2, 2, 3, 7}};
  EXPECT_NEAR(*fleiss_kappa(counts), 0.20993, 1e-4);
}

// Krippendorff, 2 raters x 3 items: (0,0), (0,1), (1,1).
//   coincidences o00 = 2, o01 = o10 = 1, o11 = 2; n0 = n1 = 3, n = 6
//   alpha = 1 - (n - 1) * (o01 + o10) / (n0 n1 + n1 n0) = 1 - 5 * 2 / 18 = 4/9
TEST(EvalAgreement, KrippendorffAlpha) {
  EXPECT_NEAR(*krippendorff_alpha_nominal({{0, 0}, {0, 1}, {1, 1}}, 2), 4.0 / 9, 1e-12);
  // Units with a single rating are not pairable and change nothing.
  EXPECT_NEAR(*krippendorff_alpha_nominal({{0, 0}, {0, 1}, {1, 1}, {1}}, 2), 4.0 / 9, 1e-12);
  EXPECT_NEAR(*krippendorff_alpha_nominal({{0, 0}, {1, 1}, {2, 2}}, 3), 1.0, 1e-12);
}

TEST(EvalFairness, TinyGroupsAreNeverCalledSignificant) {
  // 3 items per group, 100 vs 0: the bootstrap interval is degenerate, so no verdict.
  const GroupMetric g = gap_of(make_fairness_items(1, 1.0, 0.0, 3), 1);
  EXPECT_DOUBLE_EQ(g.gap.gap, 100.0);
  EXPECT_TRUE(g.gap.too_few_items);
  EXPECT_FALSE(g.gap.significant());
}
