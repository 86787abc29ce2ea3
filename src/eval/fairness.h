// Per-group metrics for fairness checks: a metric (any SubsetStatistic: a mean of item
// scores, or corpus BLEU from summed statistics) per group with a bootstrap interval, and
// the largest gap (best group minus worst group) with an unpaired bootstrap interval of
// that signed difference, so "no real difference" shows as an interval covering zero.
#pragma once
#include <string>
#include <vector>

#include "eval/bootstrap.h"

namespace chatforge::eval {

struct GroupValue {
  std::string group;
  size_t count = 0;
  double value = 0;
  Interval ci;
};

// Percentile bootstrap intervals of tiny groups are far too narrow (one item: zero
// width), so a gap involving a group smaller than this is never called significant.
inline constexpr size_t kMinGroupItemsForSignificance = 10;

struct GroupGap {
  std::string high_group, low_group;  // highest and lowest value
  double gap = 0;                     // value(high) - value(low) >= 0
  Interval ci;                        // bootstrap interval of the same signed difference
  bool too_few_items = false;         // a side has < kMinGroupItemsForSignificance items
  bool significant() const { return !too_few_items && !ci.contains(0.0); }
};

struct GroupMetric {
  std::string metric;
  std::vector<GroupValue> groups;  // in first-seen order of the labels
  GroupGap gap;                    // only meaningful with >= 2 groups
};

// Item indices per group label, groups in first-seen order. An empty label is an error
// naming the item (1-based); every group in `expected` must have at least one item.
struct Groups {
  std::vector<std::string> names;
  std::vector<std::vector<size_t>> items;
};
Groups group_items(const std::vector<std::string>& label_of_item, const std::vector<std::string>& expected = {});

GroupMetric per_group_metric(const std::string& metric, const Groups& groups, const SubsetStatistic& statistic,
                             const BootstrapOptions& opt);

}  // namespace chatforge::eval
