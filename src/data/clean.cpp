// Implementation of run_clean (clean.h). Per-document work is pure and runs in parallel
// over a batch; every decision that depends on other documents (dedup, counts, output
// order) is taken afterwards, sequentially, in input order, so output is deterministic.
// run_clean = check_options, pass_one (read_batch -> process_document in parallel ->
// take_document in order -> Spool), pass_two (plan_copies in parallel -> emit_copies in order).
#include "data/clean.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/num_range.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/dedup.h"
#include "data/text_util.h"

namespace chatforge::data {

namespace fs = std::filesystem;

std::map<std::string, double> parse_targets(const std::string& spec) {
  std::map<std::string, double> out;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0) usage_fail("bad --balance item '{}' (want NAME=SHARE)", item);
    char* stop = nullptr;
    const std::string num = item.substr(eq + 1);
    const double v = std::strtod(num.c_str(), &stop);
    if (num.empty() || *stop != '\0' || !(v >= 0) || v > 1)
      usage_fail("bad share in --balance item '{}' (want a number in [0, 1])", item);
    out[item.substr(0, eq)] = v;
    start = end + 1;
  }
  double sum = 0;
  for (auto& [k, v] : out) sum += v;
  if (sum > 1.0 + 1e-9) usage_fail("--balance shares add up to {} (more than 1)", sum);
  return out;
}

std::map<std::string, double> rebalance_rates(const std::map<std::string, GroupCount>& counts,
                                              const RebalanceOptions& o) {
  std::map<std::string, double> size, rate;
  double total = 0;
  for (auto& [g, c] : counts) {
    size[g] = o.unit == "docs" ? double(c.docs) : double(c.bytes);
    total += size[g];
    rate[g] = 1.0;
  }
  if (!o.active() || total <= 0) return rate;
  std::map<std::string, double> share;  // target share of the output per group
  if (!o.targets.empty()) {
    double listed = 0, unlisted_size = 0;
    for (auto& [g, s] : size) {
      auto it = o.targets.find(g);
      if (it != o.targets.end())
        listed += it->second;
      else
        unlisted_size += s;
    }
    for (auto& [g, s] : size) {
      auto it = o.targets.find(g);
      if (it != o.targets.end())
        share[g] = unlisted_size > 0 || listed <= 0 ? it->second : it->second / listed;
      else
        share[g] = unlisted_size > 0 ? (1.0 - listed) * s / unlisted_size : 0.0;
    }
  } else {
    // Cap: groups above max_share get exactly max_share, the rest keep their sizes.
    std::map<std::string, bool> capped;
    for (int iter = 0; iter < 64; ++iter) {
      double free_size = 0;
      int k = 0;
      for (auto& [g, s] : size) {
        if (capped[g])
          ++k;
        else
          free_size += s;
      }
      const double capped_total = k * o.max_share;
      if (capped_total >= 1.0 || free_size <= 0) {  // everything capped: equal shares
        for (auto& [g, s] : size) share[g] = 1.0 / double(size.size());
        break;
      }
      bool changed = false;
      for (auto& [g, s] : size) {
        share[g] = capped[g] ? o.max_share : (1.0 - capped_total) * s / free_size;
        if (!capped[g] && share[g] > o.max_share + 1e-12) {
          capped[g] = true;
          changed = true;
        }
      }
      if (!changed) break;
    }
  }
  // Output total: without up-sampling, the largest total every group can supply.
  double out_total = total;
  if (!o.upsample) {
    out_total = INFINITY;
    for (auto& [g, s] : size)
      if (share[g] > 0) out_total = std::min(out_total, s / share[g]);
  }
  for (auto& [g, s] : size) {
    double r = s > 0 ? share[g] * out_total / s : 0.0;
    r = std::min(r, o.upsample ? o.max_upsample : 1.0);
    rate[g] = r;
  }
  return rate;
}

namespace {

constexpr uint64_t kSplitSeed = 0x5B117ULL, kSampleSeed = 0x5A3B1EULL;

struct DocResult {
  std::string text;
  std::string reason;  // non-empty: dropped
  std::string detail;
  size_t chars_in = 0;
  size_t invalid_utf8 = 0;
  bool normalized = false;
  size_t sensitive = 0;
  PiiCounts pii;
  uint64_t exact_hash = 0;
  std::vector<uint32_t> sig;
};

struct Stages {
  const CleanOptions& o;
  const SensitiveFilter& sensitive;
  MinHashParams mh;
};

void process_document(const RawDocument& in, const Stages& st, DocResult& r) {
  const CleanOptions& o = st.o;
  r = DocResult{};
  NormalizeResult n = normalize_text(in.text, o.normal_form);
  r.invalid_utf8 = n.invalid_utf8;
  r.normalized = n.text != in.text;
  r.text = std::move(n.text);
  r.chars_in = count_codepoints(r.text);
  if (r.invalid_utf8 > 0 && o.drop_invalid_utf8) {
    r.reason = "invalid_utf8";
    r.detail = fmt::format("{} invalid UTF-8 sequences", r.invalid_utf8);
    return;
  }
  if (r.text.empty()) {
    r.reason = "empty";
    r.detail = "no text after normalisation";
    return;
  }
  QualityVerdict v = judge_quality(measure_quality(r.text, &o.quality), o.quality);
  if (!v) {
    r.reason = v.reason;
    r.detail = v.detail;
    return;
  }
  if (!st.sensitive.empty()) {
    r.sensitive = st.sensitive.apply(r.text, o.sensitive_action, o.sensitive_mask);
    if (r.sensitive > 0 && o.sensitive_action == SensitiveAction::kDrop) {
      r.reason = "sensitive";
      r.detail = fmt::format("{} sensitive terms", r.sensitive);
      return;
    }
  }
  if (o.scrub_pii) r.text = scrub_pii(r.text, o.pii, r.pii);
  if (o.exact_dedup) r.exact_hash = exact_dedup_hash(r.text);
  if (o.near_dedup) r.sig = minhash_signature(r.text, st.mh);
}

size_t length_bin(size_t chars) {
  size_t b = 0;
  while (chars > 1 && b < 40) {
    chars >>= 1;
    ++b;
  }
  return b;
}
void hist_add(std::vector<uint64_t>& h, size_t chars) {
  const size_t b = length_bin(chars);
  if (h.size() <= b) h.resize(b + 1, 0);
  ++h[b];
}

std::string snippet_of(const std::string& text, size_t max_chars = 160) {
  std::string out;
  size_t i = 0, n = 0;
  while (i < text.size() && n < max_chars) {
    const size_t at = i;
    decode_utf8(text, i);
    out.append(text, at, i - at);
    ++n;
  }
  if (i < text.size()) out += "…";
  return out;
}

// Spool of kept documents between the passes: length-prefixed records in a temp file
// that is removed whatever happens.
class Spool {
 public:
  explicit Spool(const std::string& dir) {
    path_ = (fs::path(dir) / fmt::format(".clean-spool.{}.tmp", ::getpid())).string();
    f_ = std::fopen(path_.c_str(), "w+b");
    CF_CHECK(f_ != nullptr, "cannot create {}: {}", path_, std::strerror(errno));
  }
  ~Spool() {
    if (f_) std::fclose(f_);
    ::unlink(path_.c_str());
  }
  void put(const std::string& text, const std::string& source, const std::string& label) {
    put_str(source);
    put_str(label);
    put_str(text);
  }
  void rewind() {
    CF_CHECK(std::fflush(f_) == 0, "cannot write {}: {}", path_, std::strerror(errno));
    std::rewind(f_);
  }
  bool get(std::string& text, std::string& source, std::string& label) {
    return get_str(source) && get_str(label) && get_str(text);
  }

 private:
  void put_str(const std::string& s) {
    const uint64_t n = s.size();
    CF_CHECK(std::fwrite(&n, 8, 1, f_) == 1 && (n == 0 || std::fwrite(s.data(), 1, n, f_) == n),
             "cannot write {}: {}", path_, std::strerror(errno));
  }
  bool get_str(std::string& s) {
    uint64_t n;
    if (std::fread(&n, 8, 1, f_) != 1) return false;
    s.resize(n);
    CF_CHECK(n == 0 || std::fread(s.data(), 1, n, f_) == n, "spool {} is truncated", path_);
    return true;
  }
  std::string path_;
  std::FILE* f_ = nullptr;
};

std::string json_line(const std::string& text, const std::string& source, const std::string& label) {
  nlohmann::ordered_json j;
  j["text"] = text;
  j["source"] = source;
  j["label"] = label;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Rejects what the CLI's flag checks would (NaN-proof), for library callers.
void check_options(const CleanOptions& o) {
  CF_CHECK(!o.inputs.empty(), "no inputs given");
  NumRange("[0, 1]").check("--val-fraction", o.val_fraction);
  NumRange("(0, 1]").check("--near-dup-threshold", o.near_dup_threshold);
  NumRange("[0, 1]").check("--max-share", o.rebalance.max_share);
  NumRange("[1, 1000000]").check("--max-upsample", o.rebalance.max_upsample);
  if (o.rebalance.by != "source" && o.rebalance.by != "label")
    usage_fail("--balance-by must be source or label, got '{}'", o.rebalance.by);
  if (o.rebalance.unit != "bytes" && o.rebalance.unit != "docs")
    usage_fail("--balance-unit must be bytes or docs, got '{}'", o.rebalance.unit);
  if (!o.rebalance.targets.empty() && o.rebalance.max_share > 0)
    usage_fail("give either --balance targets or --max-share, not both");
}

// The options as one JSON object (keys in this order), echoed in report.json.
std::string clean_options_json(const CleanOptions& o) {
  nlohmann::ordered_json j;
  j["inputs"] = o.inputs;
  j["text_field"] = o.input.text_field;
  j["source_field"] = o.input.source_field;
  j["label_field"] = o.input.label_field;
  j["txt_split"] = o.input.txt_split;
  j["normal_form"] = o.normal_form == NormalForm::kNfc ? "nfc" : o.normal_form == NormalForm::kNfkc ? "nfkc" : "none";
  j["invalid_utf8"] = o.drop_invalid_utf8 ? "drop" : "repair";
  j["quality_filters"] = o.quality.enabled;
  j["min_chars"] = o.quality.min_chars;
  j["max_chars"] = o.quality.max_chars;
  j["min_words"] = o.quality.min_words;
  j["max_symbol_ratio"] = o.quality.max_symbol_ratio;
  j["max_digit_ratio"] = o.quality.max_digit_ratio;
  j["min_mean_word_len"] = o.quality.min_mean_word_len;
  j["max_mean_word_len"] = o.quality.max_mean_word_len;
  j["max_dup_line_frac"] = o.quality.max_dup_line_frac;
  j["max_dup_line_char_frac"] = o.quality.max_dup_line_char_frac;
  j["max_top_ngram_frac"] = o.quality.max_top_ngram_frac;
  j["max_dup_ngram_frac"] = o.quality.max_dup_ngram_frac;
  j["exact_dedup"] = o.exact_dedup;
  j["near_dedup"] = o.near_dedup;
  j["near_dup_threshold"] = o.near_dup_threshold;
  j["sensitive_lists"] = o.sensitive_lists;
  j["scrub_pii"] = o.scrub_pii;
  j["pii_replacement"] = o.pii.replacement;
  j["balance_by"] = o.rebalance.by;
  j["balance"] = o.rebalance.targets;
  j["max_share"] = o.rebalance.max_share;
  j["upsample"] = o.rebalance.upsample;
  j["val_fraction"] = o.val_fraction;
  j["seed"] = o.seed;
  return j.dump();
}

void count_in_group(GroupCount& g, uint64_t bytes) {
  ++g.docs;
  g.bytes += bytes;
}

// Counts a dropped document under `reason` (its bytes as read) and keeps the first
// examples_per_reason of each reason, with file:line and the start of `text`.
void record_drop(CleanReport& rep, const CleanOptions& o, const std::string& reason, const RawDocument& d,
                 const std::string& detail, const std::string& text) {
  DropStats& s = rep.dropped[reason];
  ++s.docs;
  s.bytes += d.text.size();
  if (static_cast<int>(s.examples.size()) < o.examples_per_reason)
    s.examples.push_back({d.line > 0 ? fmt::format("{}:{}", d.file, d.line) : d.file, detail, snippet_of(text)});
}

// ---- Pass one: read, process in parallel, decide in input order, spool what is kept.

// Batches are read by a second thread while the current one is processed; a batch ends
// at kBatchDocs documents or once it holds kBatchBytes of text, whichever comes first.
constexpr size_t kBatchDocs = 4096, kBatchBytes = 16u << 20;
struct Batch {
  std::vector<RawDocument> docs;  // the first n are this batch's
  size_t n = 0;
  uint64_t consumed = 0;  // input bytes read when the batch was complete
};

void read_batch(DocumentStream& stream, Batch& b) {
  b.docs.resize(kBatchDocs);
  b.n = 0;
  size_t bytes = 0;
  while (b.n < kBatchDocs && bytes < kBatchBytes && stream.next(b.docs[b.n])) bytes += b.docs[b.n++].text.size();
  b.consumed = stream.bytes_consumed();
}

// The sequential half of pass one: everything that depends on earlier documents.
struct PassOne {
  const CleanOptions& o;
  CleanReport& rep;
  Spool& spool;
  HashIndex exact_index;
  NearDupIndex near_index;
  uint64_t next_ordinal = 0;  // input position of the next document, dropped ones included
  PassOne(const Stages& st, CleanReport& r, Spool& s) : o(st.o), rep(r), spool(s), near_index(st.mh) {}
};

// Counts a document as read: totals, length histogram, its source and label.
void count_input(CleanReport& rep, const RawDocument& d, const DocResult& r) {
  ++rep.docs_in;
  rep.bytes_in += d.text.size();
  hist_add(rep.length_hist_in, r.chars_in);
  count_in_group(rep.groups["source"]["input"][d.source], d.text.size());
  count_in_group(rep.groups["label"]["input"][d.label], d.text.size());
  if (r.invalid_utf8 > 0) {
    ++rep.docs_invalid_utf8;
    rep.invalid_utf8_sequences += r.invalid_utf8;
  }
}

// First occurrence wins: true (and the drop recorded) if an earlier kept document has the
// same folded text or, failing that, an estimated Jaccard similarity at the threshold.
bool drop_if_duplicate(PassOne& p, const RawDocument& d, const DocResult& r, uint64_t ordinal) {
  if (p.o.exact_dedup) {
    if (const uint64_t* first = p.exact_index.find_or_insert(r.exact_hash, ordinal)) {
      record_drop(p.rep, p.o, "exact_duplicate", d, fmt::format("same text as input document #{}", *first + 1), r.text);
      return true;
    }
  }
  if (p.o.near_dedup && !r.sig.empty()) {
    double sim = 0;
    const int64_t of = p.near_index.check_and_insert(r.sig, ordinal, &sim);
    if (of >= 0) {
      record_drop(p.rep, p.o, "near_duplicate", d,
                  fmt::format("estimated Jaccard {:.2f} with input document #{}", sim, of + 1), r.text);
      return true;
    }
  }
  return false;
}

// Counts a kept document (its cleaned bytes) and what the stages changed in it.
void count_kept(CleanReport& rep, const RawDocument& d, const DocResult& r) {
  if (r.normalized) ++rep.docs_normalized;
  if (r.sensitive > 0) {
    ++rep.docs_sensitive;
    rep.sensitive_matches += r.sensitive;
  }
  if (r.pii.total() > 0) {
    ++rep.docs_pii;
    for (int k = 0; k < kPiiTypeCount; ++k) rep.pii.n[k] += r.pii.n[k];
  }
  ++rep.docs_kept;
  rep.bytes_kept += r.text.size();
  count_in_group(rep.groups["source"]["kept"][d.source], r.text.size());
  count_in_group(rep.groups["label"]["kept"][d.label], r.text.size());
}

// Decides one processed document, in input order: drop (stage verdict or duplicate) or spool.
void take_document(PassOne& p, const RawDocument& d, const DocResult& r) {
  const uint64_t ordinal = p.next_ordinal++;
  count_input(p.rep, d, r);
  if (!r.reason.empty()) {
    record_drop(p.rep, p.o, r.reason, d, r.detail, r.text);
    return;
  }
  if (drop_if_duplicate(p, d, r, ordinal)) return;
  count_kept(p.rep, d, r);
  p.spool.put(r.text, d.source, d.label);
}

// Streams every input through the per-document stages (parallel, pure) and takes the
// results in input order, so what is kept does not depend on the thread count.
void pass_one(DocumentStream& stream, const Stages& st, Spool& spool, CleanReport& rep) {
  const CleanOptions& o = st.o;
  PassOne p(st, rep, spool);
  ProgressBar bar("clean", stream.total_bytes(), "B", o.progress);
  Batch cur, next;
  std::vector<DocResult> results(kBatchDocs);
  read_batch(stream, cur);
  while (cur.n > 0) {
    auto reader = std::async(std::launch::async, [&] { read_batch(stream, next); });
#pragma omp parallel for schedule(dynamic, 4) num_threads(std::max(1, o.threads))
    for (long i = 0; i < static_cast<long>(cur.n); ++i) process_document(cur.docs[i], st, results[i]);
    for (size_t i = 0; i < cur.n; ++i) take_document(p, cur.docs[i], results[i]);
    bar.update(cur.consumed, fmt::format("{} docs, {} kept", format_count(rep.docs_in), format_count(rep.docs_kept)));
    reader.get();  // rethrows a read error (e.g. --strict)
    std::swap(cur, next);
  }
  bar.finish(fmt::format("{} docs, {} kept", rep.docs_in, rep.docs_kept));
  rep.input_issues = stream.issues();
  rep.n_input_issues = stream.n_issues();
  rep.exact_index_entries = p.exact_index.size();
  rep.near_index_entries = p.near_index.size();
  rep.index_bytes = p.exact_index.memory_bytes() + p.near_index.memory_bytes();
}

// ---- Pass two: rebalance and split the spooled documents, write train/val JSONL.

// A kept document read back from the spool, and what pass two decided for it.
struct Kept {
  std::string text, source, label, line;  // line: its JSONL line when copies > 0
  uint64_t copies = 0;
  bool is_val = false;
  double rate = 1;  // expected copies for its group
};

const std::string& group_of(const Kept& k, const RebalanceOptions& rb) {
  return rb.by == "source" ? k.source : k.label;
}

// The per-document half of pass two (pure; runs in parallel). Both draws hash the text, so
// they are deterministic: copies = floor(rate), plus one with probability frac(rate);
// val when the split draw falls under val_fraction (all copies go to the same file).
void plan_copies(Kept& k, const CleanOptions& o, const std::map<std::string, double>& rates) {
  const auto it = rates.find(group_of(k, o.rebalance));
  k.rate = it != rates.end() ? it->second : 1.0;
  const double u_sample = double(hash64(k.text, kSampleSeed ^ o.seed) >> 11) * 0x1.0p-53;
  k.copies = static_cast<uint64_t>(std::floor(k.rate)) + (u_sample < k.rate - std::floor(k.rate) ? 1 : 0);
  const double u_split = double(hash64(k.text, kSplitSeed ^ o.seed) >> 11) * 0x1.0p-53;
  k.is_val = u_split < o.val_fraction;
  k.line = k.copies > 0 ? json_line(k.text, k.source, k.label) : std::string();
}

// Writes a planned document's copies and counts them, or records it as down-sampled.
void emit_copies(const Kept& k, const CleanOptions& o, CleanReport& rep, AtomicFile& train, AtomicFile& val) {
  if (k.copies == 0) {
    RawDocument d;  // no file:line survives the spool; the example names the source instead
    d.file = "source " + k.source;
    d.text = k.text;
    record_drop(rep, o, "rebalance_downsample", d,
                fmt::format("{} '{}' kept at rate {:.3f}", o.rebalance.by, group_of(k, o.rebalance), k.rate), k.text);
    return;
  }
  rep.upsampled_copies += k.copies - 1;
  const size_t chars = count_codepoints(k.text);
  for (uint64_t c = 0; c < k.copies; ++c) {
    (k.is_val ? val : train).write(k.line);
    (k.is_val ? rep.docs_val : rep.docs_train) += 1;
    rep.bytes_out += k.text.size();
    hist_add(rep.length_hist_out, chars);
    count_in_group(rep.groups["source"]["output"][k.source], k.text.size());
    count_in_group(rep.groups["label"]["output"][k.label], k.text.size());
  }
}

// Reads the spool back in chunks; copies, split and JSON lines are worked out in parallel,
// then written in spool order. train.jsonl and val.jsonl appear only once both are whole.
void pass_two(Spool& spool, const CleanOptions& o, CleanReport& rep) {
  rep.rebalance_rates = rebalance_rates(rep.groups[o.rebalance.by]["kept"], o.rebalance);
  spool.rewind();
  AtomicFile train((fs::path(o.out_dir) / "train.jsonl").string());
  AtomicFile val((fs::path(o.out_dir) / "val.jsonl").string());
  std::vector<Kept> chunk(4096);
  while (true) {
    size_t n = 0;
    while (n < chunk.size() && spool.get(chunk[n].text, chunk[n].source, chunk[n].label)) ++n;
    if (n == 0) break;
#pragma omp parallel for schedule(dynamic, 16) num_threads(std::max(1, o.threads))
    for (long i = 0; i < static_cast<long>(n); ++i) plan_copies(chunk[i], o, rep.rebalance_rates);
    for (size_t i = 0; i < n; ++i) emit_copies(chunk[i], o, rep, train, val);
  }
  train.commit();
  val.commit();
}

}  // namespace

CleanReport run_clean(const CleanOptions& o) {
  Timer timer;
  CleanReport rep;
  check_options(o);
  rep.options_json = clean_options_json(o);
  const auto files = expand_inputs(o.inputs);
  CF_CHECK(!files.empty(), "no .txt, .md or .jsonl files found in the inputs");
  rep.files = files.size();
  make_output_dir(o.out_dir);  // also removes the spool and temps of a killed earlier run

  SensitiveFilter sensitive;
  for (const auto& path : o.sensitive_lists) sensitive.add_terms_file(path);
  sensitive.build();
  const Stages st{o, sensitive, choose_minhash_params(o.near_dup_threshold, o.minhash_perm, o.shingle)};

  DocumentStream stream(files, o.input);
  Spool spool(o.out_dir);
  rep.groups["source"];  // both kinds appear in the report, even when no document was read
  rep.groups["label"];
  pass_one(stream, st, spool, rep);
  pass_two(spool, o, rep);
  rep.seconds = timer.seconds();
  return rep;
}

}  // namespace chatforge::data
