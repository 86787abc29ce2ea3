// Per-group metrics and the largest gap (see fairness.h).
#include "eval/fairness.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"

namespace chatforge::eval {

Groups group_items(const std::vector<std::string>& label_of_item, const std::vector<std::string>& expected) {
  Groups g;
  std::unordered_map<std::string, size_t> index;
  for (const auto& name : expected) {
    if (index.emplace(name, g.names.size()).second) {
      g.names.push_back(name);
      g.items.emplace_back();
    }
  }
  for (size_t i = 0; i < label_of_item.size(); ++i) {
    const std::string& label = label_of_item[i];
    CF_CHECK(!label.empty(), "item {}: empty group label", i + 1);
    auto [it, inserted] = index.emplace(label, g.names.size());
    if (inserted) {
      g.names.push_back(label);
      g.items.emplace_back();
    }
    g.items[it->second].push_back(i);
  }
  for (size_t k = 0; k < g.names.size(); ++k) {
    CF_CHECK(!g.items[k].empty(), "group '{}' has no items", g.names[k]);
  }
  return g;
}

GroupMetric per_group_metric(const std::string& metric, const Groups& groups, const SubsetStatistic& statistic,
                             const BootstrapOptions& opt) {
  GroupMetric out;
  out.metric = metric;
  for (size_t k = 0; k < groups.names.size(); ++k) {
    GroupValue v;
    v.group = groups.names[k];
    v.count = groups.items[k].size();
    v.value = statistic(groups.items[k]);
    BootstrapOptions o = opt;
    o.seed = opt.seed + k;  // independent streams per group
    v.ci = bootstrap_ci(groups.items[k], statistic, o);
    out.groups.push_back(std::move(v));
  }
  if (out.groups.size() >= 2) {
    size_t hi = 0, lo = 0;
    for (size_t k = 1; k < out.groups.size(); ++k) {
      if (out.groups[k].value > out.groups[hi].value) hi = k;
      if (out.groups[k].value < out.groups[lo].value) lo = k;
    }
    if (hi == lo) lo = hi == 0 ? 1 : 0;  // all equal: any pair, gap 0
    out.gap.high_group = out.groups[hi].group;
    out.gap.low_group = out.groups[lo].group;
    out.gap.gap = out.groups[hi].value - out.groups[lo].value;
    out.gap.too_few_items = std::min(out.groups[hi].count, out.groups[lo].count) < kMinGroupItemsForSignificance;
    out.gap.ci = bootstrap_diff_ci(groups.items[hi], groups.items[lo], statistic, opt);
  }
  return out;
}

}  // namespace chatforge::eval
