// BLEU exactly as sacreBLEU 2.x computes it (corpus_score / sentence_score / compute_bleu):
// clipped n-gram counts against the per-n-gram maximum over the references, brevity
// penalty from the closest reference length (ties -> the shorter one), smoothing
// exp | floor | add-k | none, scores on a 0-100 scale, and the reproducibility signature.
// Segment statistics add up, so corpus BLEU of any subset (bootstrap, groups) is cheap.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/bleu_tokenize.h"

namespace chatforge::eval {

// The sacreBLEU release whose BLEU this file mirrors (the definition has not changed from
// 2.0 through 2.5); it goes into the signature so scores say what they are comparable to.
inline constexpr const char* kSacrebleuVersion = "2.4.3";

enum class BleuSmooth { kExp, kFloor, kAddK, kNone };
BleuSmooth parse_bleu_smooth(std::string_view name);  // UsageError on unknown names
const char* bleu_smooth_name(BleuSmooth s);

struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  bool lowercase = false;
  BleuSmooth smooth = BleuSmooth::kExp;
  std::optional<double> smooth_value;  // floor: 0.1, add-k: 1 when unset
  bool effective_order = false;        // sentence BLEU turns this on, as sacreBLEU does
  int max_order = 4;
};

// Sufficient statistics of one or more segments; they add up.
struct BleuStats {
  int64_t hyp_len = 0;
  int64_t ref_len = 0;
  std::vector<int64_t> correct;  // (max_order) clipped matches per n
  std::vector<int64_t> total;    // (max_order) hypothesis n-grams per n
  explicit BleuStats(int max_order = 4) : correct(max_order, 0), total(max_order, 0) {}
  BleuStats& operator+=(const BleuStats& o);
};

struct BleuScore {
  double score = 0;               // 0..100
  std::vector<double> precisions; // 0..100, per n
  double bp = 0;                  // brevity penalty
  double ratio = 0;               // hyp_len / ref_len (0 when ref_len is 0)
  BleuStats stats;
  // "BLEU = 34.12 65.6/40.2/27.0/18.5 (BP = 1.000 ratio = 1.012 hyp_len = 123 ref_len = 121)"
  std::string format(int width = 2) const;
};

// sacreBLEU's closest reference length: min |hyp - ref|, ties to the shorter reference.
// closest_ref_len(5, {3, 7, 6}) -> 6;  closest_ref_len(5, {4, 6}) -> 4
int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens);

// Statistics of one tokenised segment. refs must be non-empty.
BleuStats bleu_segment_stats(const std::vector<std::string>& hyp, const std::vector<std::vector<std::string>>& refs,
                             int max_order = 4);

// sacreBLEU's compute_bleu from statistics.
BleuScore compute_bleu(const BleuStats& stats, BleuSmooth smooth, std::optional<double> smooth_value,
                       bool effective_order, int max_order = 4);

class BleuScorer {
 public:
  explicit BleuScorer(BleuOptions opt = {}) : opt_(opt) {}
  const BleuOptions& options() const { return opt_; }

  // Lowercase (optional), rstrip and tokenise one segment, as sacreBLEU's _preprocess_segment.
  std::vector<std::string> preprocess(std::string_view text) const;

  // One segment; empty reference strings are skipped (fewer references for this segment),
  // as sacreBLEU does. Throws Error when no non-empty reference is left.
  BleuStats segment_stats(std::string_view hyp, const std::vector<std::string>& refs) const;

  BleuScore score(const BleuStats& stats) const {
    return compute_bleu(stats, opt_.smooth, opt_.smooth_value, opt_.effective_order, opt_.max_order);
  }

  // hyps[i] against ref_streams[r][i]; every stream must have hyps.size() lines.
  // Per-segment statistics go to `per_segment` when given (for bootstrap and groups).
  BleuScore corpus_score(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& ref_streams,
                         std::vector<BleuStats>* per_segment = nullptr) const;

  // sacreBLEU's sentence_score: corpus BLEU of one segment, effective order on.
  BleuScore sentence_score(std::string_view hyp, const std::vector<std::string>& refs) const;

  // "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3"; nrefs < 0 prints "var".
  std::string signature(int nrefs) const;

 private:
  BleuOptions opt_;
};

}  // namespace chatforge::eval
