// `data clean`: the whole cleaning pipeline. Pass one streams the inputs, runs the
// per-document stages (normalise, quality filters, sensitive terms, PII, hashes) in
// parallel batches, then dedups in input order and spools kept documents to a temp file;
// pass two rebalances by source/label and writes train/val JSONL. Output is
// byte-identical for the same inputs and options whatever the thread count.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/input.h"
#include "data/normalize.h"
#include "data/pii.h"
#include "data/quality.h"
#include "data/sensitive.h"

namespace chatforge::data {

struct RebalanceOptions {
  std::string by = "source";                // source | label
  std::map<std::string, double> targets;    // group -> share of the output
  double max_share = 0;                     // 0: off; else cap every group's share
  bool upsample = false;                    // allow repeating documents to reach targets
  double max_upsample = 4.0;                // most copies of one document
  std::string unit = "bytes";               // bytes | docs
  bool active() const { return !targets.empty() || max_share > 0; }
};
// "web=0.5,books=0.3" -> {web: 0.5, books: 0.3}; errors name the bad item.
std::map<std::string, double> parse_targets(const std::string& spec);

struct CleanOptions {
  std::vector<std::string> inputs;
  std::string out_dir;
  InputOptions input;
  NormalForm normal_form = NormalForm::kNfc;
  bool drop_invalid_utf8 = false;  // else repair with U+FFFD
  QualityOptions quality;
  bool exact_dedup = true;
  bool near_dedup = true;
  double near_dup_threshold = 0.8;
  int minhash_perm = 128;
  int shingle = 5;
  std::vector<std::string> sensitive_lists;
  SensitiveAction sensitive_action = SensitiveAction::kMask;
  std::string sensitive_mask = "***";
  bool scrub_pii = true;
  PiiOptions pii;
  RebalanceOptions rebalance;
  double val_fraction = 0.01;
  uint64_t seed = 0;
  int threads = 2;
  bool progress = true;
  int examples_per_reason = 3;
};

struct GroupCount {
  uint64_t docs = 0, bytes = 0;
};
struct DropExample {
  std::string where;    // file:line
  std::string detail;   // rule and measured value
  std::string snippet;  // start of the text
};
struct DropStats {
  uint64_t docs = 0, bytes = 0;
  std::vector<DropExample> examples;
};

struct CleanReport {
  uint64_t files = 0, docs_in = 0, bytes_in = 0;
  uint64_t docs_kept = 0, bytes_kept = 0;  // after filters and dedup, before rebalance
  uint64_t docs_train = 0, docs_val = 0, bytes_out = 0;
  uint64_t docs_normalized = 0;            // text changed by normalisation
  uint64_t docs_invalid_utf8 = 0, invalid_utf8_sequences = 0;
  uint64_t docs_sensitive = 0, sensitive_matches = 0;
  uint64_t docs_pii = 0;
  PiiCounts pii;
  uint64_t upsampled_copies = 0;
  std::map<std::string, DropStats> dropped;  // reason -> stats
  std::vector<InputIssue> input_issues;
  uint64_t n_input_issues = 0;
  // group kind ("source"/"label") -> stage ("input", "kept", "output") -> group -> count
  std::map<std::string, std::map<std::string, std::map<std::string, GroupCount>>> groups;
  std::map<std::string, double> rebalance_rates;  // group -> expected copies per doc
  std::vector<uint64_t> length_hist_in, length_hist_out;  // bin k: chars in [2^k, 2^(k+1))
  uint64_t exact_index_entries = 0, near_index_entries = 0, index_bytes = 0;
  double seconds = 0;
  std::string options_json;  // the options, as JSON, for the report
};

CleanReport run_clean(const CleanOptions& opts);

// Writes report.json and report.html (inline SVG charts) to dir, atomically.
void write_clean_report(const std::string& dir, const CleanReport& r);

// Rates per group (expected copies per document, may exceed 1 when up-sampling).
std::map<std::string, double> rebalance_rates(const std::map<std::string, GroupCount>& counts,
                                              const RebalanceOptions& o);

}  // namespace chatforge::data
