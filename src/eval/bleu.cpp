// BLEU as sacreBLEU 2.x (see bleu.h).
#include "eval/bleu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "eval/text_util.h"

namespace chatforge::eval {
namespace {

// n-grams of orders 1..max_order keyed by their tokens joined with ' ' (tokens never
// contain whitespace, so different orders cannot collide), as sacreBLEU's helpers do.
using NgramCounts = std::unordered_map<std::string, int64_t>;

NgramCounts count_ngrams(const std::vector<std::string>& tokens, int max_order) {
  NgramCounts counts;
  const int len = static_cast<int>(tokens.size());
  for (int n = 1; n <= max_order; ++n) {
    for (int i = 0; i + n <= len; ++i) {
      std::string key = tokens[i];
      for (int k = 1; k < n; ++k) {
        key.push_back(' ');
        key += tokens[i + k];
      }
      ++counts[key];
    }
  }
  return counts;
}

int ngram_order(const std::string& key) {
  int n = 1;
  for (char c : key) n += c == ' ';
  return n;
}

// sacreBLEU's my_log: log(0) is -9999999999 rather than -inf.
double my_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

}  // namespace

BleuSmooth parse_bleu_smooth(std::string_view name) {
  if (name == "exp") return BleuSmooth::kExp;
  if (name == "floor") return BleuSmooth::kFloor;
  if (name == "add-k") return BleuSmooth::kAddK;
  if (name == "none") return BleuSmooth::kNone;
  usage_fail("unknown BLEU smoothing '{}' (expected exp, floor, add-k or none)", name);
}

const char* bleu_smooth_name(BleuSmooth s) {
  switch (s) {
    case BleuSmooth::kExp: return "exp";
    case BleuSmooth::kFloor: return "floor";
    case BleuSmooth::kAddK: return "add-k";
    case BleuSmooth::kNone: return "none";
  }
  return "?";
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
  CF_ASSERT(o.correct.size() == correct.size());
  hyp_len += o.hyp_len;
  ref_len += o.ref_len;
  for (size_t n = 0; n < correct.size(); ++n) {
    correct[n] += o.correct[n];
    total[n] += o.total[n];
  }
  return *this;
}

std::string BleuScore::format(int width) const {
  std::string prec;
  for (size_t n = 0; n < precisions.size(); ++n) {
    if (n) prec += '/';
    prec += fmt::format("{:.1f}", precisions[n]);
  }
  return fmt::format("BLEU = {:.{}f} {} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})", score, width, prec, bp,
                     ratio, stats.hyp_len, stats.ref_len);
}

int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t closest_diff = -1, closest = -1;
  for (int64_t r : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - r);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest = r;
    } else if (diff == closest_diff && r < closest) {
      closest = r;
    }
  }
  return closest;
}

namespace {

// Fast path for max_order <= 4: tokens become segment-local ids and an n-gram is a
// 128-bit key (four 32-bit slots, unused slots kNoToken, so orders never collide).
// Counting is sort-and-scan over small vectors instead of hashing strings.
constexpr uint32_t kNoToken = 0xFFFFFFFFu;
struct NgramKey {
  uint64_t lo, hi;
  bool operator<(const NgramKey& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
  bool operator==(const NgramKey& o) const { return lo == o.lo && hi == o.hi; }
  int order() const {
    const uint32_t slots[4] = {static_cast<uint32_t>(lo), static_cast<uint32_t>(lo >> 32), static_cast<uint32_t>(hi),
                               static_cast<uint32_t>(hi >> 32)};
    int n = 0;
    while (n < 4 && slots[n] != kNoToken) ++n;
    return n;
  }
};

void append_keys(const std::vector<uint32_t>& ids, int max_order, std::vector<NgramKey>& out) {
  const size_t len = ids.size();
  for (int n = 1; n <= max_order; ++n) {
    for (size_t i = 0; i + n <= len; ++i) {
      uint32_t slot[4] = {kNoToken, kNoToken, kNoToken, kNoToken};
      for (int k = 0; k < n; ++k) slot[k] = ids[i + k];
      out.push_back({slot[0] | (static_cast<uint64_t>(slot[1]) << 32), slot[2] | (static_cast<uint64_t>(slot[3]) << 32)});
    }
  }
}

// (key, count) runs of a sorted key list.
std::vector<std::pair<NgramKey, int64_t>> count_sorted(std::vector<NgramKey>& keys) {
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<NgramKey, int64_t>> runs;
  for (const auto& k : keys) {
    if (!runs.empty() && runs.back().first == k) {
      ++runs.back().second;
    } else {
      runs.push_back({k, 1});
    }
  }
  return runs;
}

BleuStats segment_stats_packed(const std::vector<std::string>& hyp, const std::vector<std::vector<std::string>>& refs,
                               int max_order) {
  std::unordered_map<std::string_view, uint32_t> vocab;
  auto to_ids = [&](const std::vector<std::string>& toks) {
    std::vector<uint32_t> ids;
    ids.reserve(toks.size());
    for (const auto& t : toks) ids.push_back(vocab.emplace(t, static_cast<uint32_t>(vocab.size())).first->second);
    return ids;
  };
  // Reference n-gram counts: per n-gram the maximum count over the references.
  std::vector<std::pair<NgramKey, int64_t>> ref_max;
  std::vector<int64_t> ref_lens;
  std::vector<NgramKey> keys;
  for (const auto& ref : refs) {
    ref_lens.push_back(static_cast<int64_t>(ref.size()));
    keys.clear();
    append_keys(to_ids(ref), max_order, keys);
    auto runs = count_sorted(keys);
    if (ref_max.empty()) {
      ref_max = std::move(runs);
      continue;
    }
    std::vector<std::pair<NgramKey, int64_t>> merged;
    merged.reserve(ref_max.size() + runs.size());
    size_t a = 0, b = 0;
    while (a < ref_max.size() || b < runs.size()) {
      if (b == runs.size() || (a < ref_max.size() && ref_max[a].first < runs[b].first)) {
        merged.push_back(ref_max[a++]);
      } else if (a == ref_max.size() || runs[b].first < ref_max[a].first) {
        merged.push_back(runs[b++]);
      } else {
        merged.push_back({ref_max[a].first, std::max(ref_max[a].second, runs[b].second)});
        ++a, ++b;
      }
    }
    ref_max = std::move(merged);
  }
  BleuStats st(max_order);
  st.hyp_len = static_cast<int64_t>(hyp.size());
  st.ref_len = closest_ref_len(st.hyp_len, ref_lens);
  keys.clear();
  append_keys(to_ids(hyp), max_order, keys);
  size_t r = 0;
  for (const auto& [key, count] : count_sorted(keys)) {
    const int n = key.order();
    st.total[n - 1] += count;
    while (r < ref_max.size() && ref_max[r].first < key) ++r;  // both sorted: one merge pass
    if (r < ref_max.size() && ref_max[r].first == key) st.correct[n - 1] += std::min(count, ref_max[r].second);
  }
  return st;
}

}  // namespace

BleuStats bleu_segment_stats(const std::vector<std::string>& hyp, const std::vector<std::vector<std::string>>& refs,
                             int max_order) {
  CF_ASSERT(!refs.empty());
  CF_CHECK(max_order >= 1, "BLEU max n-gram order must be at least 1 (got {})", max_order);
  if (max_order <= 4) return segment_stats_packed(hyp, refs, max_order);
  // General path (orders above 4): n-grams keyed by their text.
  NgramCounts ref_max;
  std::vector<int64_t> ref_lens;
  for (const auto& ref : refs) {
    ref_lens.push_back(static_cast<int64_t>(ref.size()));
    for (auto& [ngram, count] : count_ngrams(ref, max_order)) {
      auto& slot = ref_max[ngram];
      slot = std::max(slot, count);
    }
  }
  BleuStats st(max_order);
  st.hyp_len = static_cast<int64_t>(hyp.size());
  st.ref_len = closest_ref_len(st.hyp_len, ref_lens);
  for (const auto& [ngram, count] : count_ngrams(hyp, max_order)) {
    const int n = ngram_order(ngram);
    st.total[n - 1] += count;
    auto it = ref_max.find(ngram);
    if (it != ref_max.end()) st.correct[n - 1] += std::min(count, it->second);
  }
  return st;
}

BleuScore compute_bleu(const BleuStats& stats, BleuSmooth smooth, std::optional<double> smooth_value,
                       bool effective_order, int max_order) {
  double value = 0.0;
  if (smooth_value) {
    value = *smooth_value;
  } else if (smooth == BleuSmooth::kFloor) {
    value = 0.1;
  } else if (smooth == BleuSmooth::kAddK) {
    value = 1.0;
  }
  BleuScore out;
  out.stats = stats;
  const double sys_len = static_cast<double>(stats.hyp_len), ref_len = static_cast<double>(stats.ref_len);
  out.bp = stats.hyp_len < stats.ref_len ? (stats.hyp_len > 0 ? std::exp(1.0 - ref_len / sys_len) : 0.0) : 1.0;
  out.ratio = stats.ref_len ? sys_len / ref_len : 0.0;
  out.precisions.assign(max_order, 0.0);

  bool any_correct = false;
  for (int64_t c : stats.correct) any_correct |= c != 0;
  if (!any_correct) return out;  // sacreBLEU's early stop (#141): score 0

  std::vector<double> correct(stats.correct.begin(), stats.correct.end());
  std::vector<double> total(stats.total.begin(), stats.total.end());
  double smooth_mteval = 1.0;
  int eff_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    if (smooth == BleuSmooth::kAddK && n > 1) {
      correct[n - 1] += value;
      total[n - 1] += value;
    }
    if (total[n - 1] == 0) break;
    if (effective_order) eff_order = n;
    if (correct[n - 1] == 0) {
      if (smooth == BleuSmooth::kExp) {
        smooth_mteval *= 2;
        out.precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
      } else if (smooth == BleuSmooth::kFloor) {
        out.precisions[n - 1] = 100.0 * value / total[n - 1];
      }
    } else {
      out.precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) log_sum += my_log(out.precisions[n]);
  out.score = out.bp * std::exp(log_sum / eff_order);
  return out;
}

std::vector<std::string> BleuScorer::preprocess(std::string_view text) const {
  std::string s = opt_.lowercase ? to_lower(text) : std::string(text);
  return bleu_tokenize(opt_.tokenizer, rstrip_space(s));
}

BleuStats BleuScorer::segment_stats(std::string_view hyp, const std::vector<std::string>& refs) const {
  std::vector<std::vector<std::string>> ref_tokens;
  for (const auto& r : refs) {
    if (!r.empty()) ref_tokens.push_back(preprocess(r));
  }
  CF_CHECK(!ref_tokens.empty(), "no non-empty reference for this segment");
  return bleu_segment_stats(preprocess(hyp), ref_tokens, opt_.max_order);
}

BleuScore BleuScorer::corpus_score(const std::vector<std::string>& hyps,
                                   const std::vector<std::vector<std::string>>& ref_streams,
                                   std::vector<BleuStats>* per_segment) const {
  CF_CHECK(!ref_streams.empty(), "BLEU needs at least one reference stream");
  for (size_t r = 0; r < ref_streams.size(); ++r) {
    CF_CHECK(ref_streams[r].size() == hyps.size(), "reference stream {} has {} segments but there are {} hypotheses",
             r + 1, ref_streams[r].size(), hyps.size());
  }
  BleuStats sum(opt_.max_order);
  if (per_segment) per_segment->clear();
  std::vector<std::string> refs(ref_streams.size());
  for (size_t i = 0; i < hyps.size(); ++i) {
    for (size_t r = 0; r < ref_streams.size(); ++r) refs[r] = ref_streams[r][i];
    BleuStats st(opt_.max_order);
    try {
      st = segment_stats(hyps[i], refs);
    } catch (const Error& e) {
      fail("segment {}: {}", i + 1, e.what());
    }
    sum += st;
    if (per_segment) per_segment->push_back(st);
  }
  return score(sum);
}

BleuScore BleuScorer::sentence_score(std::string_view hyp, const std::vector<std::string>& refs) const {
  BleuOptions o = opt_;
  o.effective_order = true;
  const BleuScorer s(o);
  return s.score(s.segment_stats(hyp, refs));
}

std::string BleuScorer::signature(int nrefs) const {
  std::string smooth = bleu_smooth_name(opt_.smooth);
  if (opt_.smooth == BleuSmooth::kFloor || opt_.smooth == BleuSmooth::kAddK) {
    const double v = opt_.smooth_value ? *opt_.smooth_value : (opt_.smooth == BleuSmooth::kFloor ? 0.1 : 1.0);
    smooth += fmt::format("[{:.2f}]", v);
  }
  return fmt::format("nrefs:{}|case:{}|eff:{}|tok:{}|smooth:{}|version:{}",
                     nrefs < 0 ? std::string("var") : std::to_string(nrefs), opt_.lowercase ? "lc" : "mixed",
                     opt_.effective_order ? "yes" : "no", bleu_tokenizer_name(opt_.tokenizer), smooth,
                     kSacrebleuVersion);
}

}  // namespace chatforge::eval
