// `chatforge data clean` (raw files -> cleaned train/val JSONL + report) and
// `chatforge data inspect` (shard header, counts, and a decoded sample with a tokenizer).
// `data tokenize` is added by cmd_data_tokenize.cpp. Thin: the work is in src/data.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "data/clean.h"
#include "data/shard.h"

namespace chatforge::cli {

uint64_t parse_count_flag(const std::string& flag, const std::string& value) {
  if (value.empty()) usage_fail("{} needs a number", flag);
  double mult = 1;
  std::string num = value;
  switch (num.back()) {
    case 'k': case 'K': mult = 1e3; num.pop_back(); break;
    case 'm': case 'M': mult = 1e6; num.pop_back(); break;
    case 'g': case 'G': mult = 1e9; num.pop_back(); break;
    default: break;
  }
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (num.empty() || *end != '\0' || !(v > 0)) usage_fail("{}: '{}' is not a positive count (e.g. 100M)", flag, value);
  return static_cast<uint64_t>(v * mult);
}

namespace {

namespace fs = std::filesystem;

struct CleanFlags {
  data::CleanOptions o;
  std::string normal_form = "nfc", invalid_utf8 = "repair", sensitive_action = "mask", pii = "all", balance;
  bool no_quality = false, no_exact = false, no_near = false, no_progress = false;
  int64_t max_record_mb = data::kDefaultMaxRecordBytes >> 20;
};

// --- `data clean` flags, one function per group, added in the order --help lists them.

void add_clean_input_flags(CLI::App* c, CleanFlags& f) {
  auto& o = f.o;
  c->add_option("--input,-i", o.inputs, "files or directories (.txt .md .jsonl, also .gz/.zst)")
      ->type_name(kPath)
      ->required();
  c->add_option("--out,-o", o.out_dir, "output directory: train.jsonl, val.jsonl, report.json, report.html")
      ->type_name(kDir)
      ->required();
  c->add_option("--text-field", o.input.text_field, "JSONL field with the text")->capture_default_str();
  c->add_option("--source-field", o.input.source_field, "JSONL field naming the source (default: the input's name)")
      ->capture_default_str();
  c->add_option("--label-field", o.input.label_field, "JSONL field with a label")->capture_default_str();
  c->add_option("--txt-split", o.input.txt_split, "documents in .txt/.md files: file, paragraph or line")
      ->capture_default_str();
  c->add_flag("--strict", o.input.strict, "stop at the first malformed input line (default: skip and count it)");
  c->add_option("--max-record-mb", f.max_record_mb,
                "largest input record (a line, paragraph or whole-file document) in MiB; 0 = no limit")
      ->capture_default_str();
  set_ranges(*c, {{"--max-record-mb", "[0, 2^20]"}});
}

// Normalisation and the Gopher quality filters.
void add_clean_filter_flags(CLI::App* c, CleanFlags& f) {
  auto& q = f.o.quality;
  c->add_option("--normalize", f.normal_form, "Unicode normal form: nfc, nfkc or none")->capture_default_str();
  c->add_option("--invalid-utf8", f.invalid_utf8, "repair (U+FFFD) or drop documents with invalid UTF-8")
      ->capture_default_str();
  c->add_flag("--no-quality-filters", f.no_quality, "keep documents whatever their quality measures");
  c->add_option("--min-chars", q.min_chars, "drop documents shorter than this (characters)")->capture_default_str();
  c->add_option("--max-chars", q.max_chars, "drop documents longer than this (characters)")->capture_default_str();
  c->add_option("--min-words", q.min_words, "drop documents with fewer words (a CJK character is a word)")
      ->capture_default_str();
  c->add_option("--max-symbol-ratio", q.max_symbol_ratio, "max share of symbol characters")->capture_default_str();
  c->add_option("--max-digit-ratio", q.max_digit_ratio, "max share of digits")->capture_default_str();
  c->add_option("--min-mean-word-len", q.min_mean_word_len, "min mean word length (spaced scripts)")
      ->capture_default_str();
  c->add_option("--max-mean-word-len", q.max_mean_word_len, "max mean word length (spaced scripts)")
      ->capture_default_str();
  c->add_option("--max-dup-line-frac", q.max_dup_line_frac, "max share of repeated lines")->capture_default_str();
  c->add_option("--max-dup-line-char-frac", q.max_dup_line_char_frac, "max share of characters in repeated lines")
      ->capture_default_str();
  c->add_option("--max-top-ngram-frac", q.max_top_ngram_frac,
                "max share of characters in the most frequent 2-gram (3-,4-grams: 0.02 less each)")
      ->capture_default_str();
  c->add_option("--max-dup-ngram-frac", q.max_dup_ngram_frac,
                "max share of characters in repeated 5-grams (6..10-grams: 0.01 less each)")
      ->capture_default_str();
  set_ranges(*c, {{"--min-chars", "[0, 2^40]"},
                  {"--max-chars", "[1, 2^40]"},
                  {"--min-words", "[0, 2^31-1]"},
                  {"--max-symbol-ratio", "[0, 1]"},
                  {"--max-digit-ratio", "[0, 1]"},
                  {"--min-mean-word-len", "[0, 1000]"},
                  {"--max-mean-word-len", "[0, 1000]"},
                  {"--max-dup-line-frac", "[0, 1]"},
                  {"--max-dup-line-char-frac", "[0, 1]"},
                  {"--max-top-ngram-frac", "[0, 1]"},
                  {"--max-dup-ngram-frac", "[0, 1]"}});
}

// Deduplication, then sensitive words and personal data.
void add_clean_dedup_scrub_flags(CLI::App* c, CleanFlags& f) {
  auto& o = f.o;
  c->add_flag("--no-exact-dedup", f.no_exact, "keep exact duplicates");
  c->add_flag("--no-near-dedup", f.no_near, "keep near duplicates");
  c->add_option("--near-dup-threshold", o.near_dup_threshold,
                "Jaccard similarity (word 5-grams) that counts as a near duplicate")
      ->capture_default_str();
  c->add_option("--sensitive-words", o.sensitive_lists,
                "file(s) of sensitive words/phrases, one per line (any language; default: none)")
      ->type_name(kFile);
  c->add_option("--sensitive-action", f.sensitive_action, "mask, remove, or drop (the document)")
      ->capture_default_str();
  c->add_option("--sensitive-mask", o.sensitive_mask, "replacement for a masked term")->capture_default_str();
  c->add_option("--pii", f.pii, "personal data to scrub: all, none, or a list of email,phone,id,card,ip")
      ->capture_default_str();
  c->add_option("--pii-replacement", o.pii.replacement, "replacement; {type} becomes EMAIL, PHONE, ID, CARD or IP")
      ->capture_default_str();
  set_ranges(*c, {{"--near-dup-threshold", "(0, 1]"}});
}

// Rebalancing by source/label and the train/val split.
void add_clean_balance_split_flags(CLI::App* c, CleanFlags& f) {
  auto& o = f.o;
  c->add_option("--balance-by", o.rebalance.by, "group documents by source or label for rebalancing")
      ->capture_default_str();
  c->add_option("--balance", f.balance,
                "target shares, e.g. web=0.5,books=0.3 (others share the rest; default: none, no rebalancing)");
  c->add_option("--max-share", o.rebalance.max_share, "cap every group's share of the output, e.g. 0.4 (0: no cap)")
      ->capture_default_str();
  c->add_flag("--upsample", o.rebalance.upsample, "repeat documents of small groups to reach the targets");
  c->add_option("--max-upsample", o.rebalance.max_upsample, "most copies of one document when up-sampling")
      ->capture_default_str();
  c->add_option("--balance-unit", o.rebalance.unit, "measure shares in bytes or docs")->capture_default_str();
  c->add_option("--val-fraction", o.val_fraction, "share of documents for validation (by document hash)")
      ->capture_default_str();
  c->add_option("--seed", o.seed, "seed of the split and sampling hashes")->capture_default_str();
  set_ranges(*c, {{"--max-share", "[0, 1]"},  // 0: no cap
                  {"--max-upsample", "[1, 1000000]"},
                  {"--val-fraction", "[0, 1]"},
                  {"--seed", kSeedRange}});
}

// Turns the flags kept as strings/negations into CleanOptions; usage errors name the flag.
void resolve_clean_flags(CleanFlags& f) {
  auto& o = f.o;
  o.normal_form = data::parse_normal_form(f.normal_form);
  if (f.invalid_utf8 != "repair" && f.invalid_utf8 != "drop")
    usage_fail("--invalid-utf8 must be repair or drop, got '{}'", f.invalid_utf8);
  o.drop_invalid_utf8 = f.invalid_utf8 == "drop";
  o.quality.enabled = !f.no_quality;
  o.exact_dedup = !f.no_exact;
  o.near_dedup = !f.no_near;
  o.sensitive_action = data::parse_sensitive_action(f.sensitive_action);
  data::parse_pii_types(f.pii, o.pii);
  o.scrub_pii = f.pii != "none";
  if (!f.balance.empty()) o.rebalance.targets = data::parse_targets(f.balance);
  o.threads = resolve_threads(o.threads);
  o.input.max_record_bytes = data::max_record_bytes_from_mb(f.max_record_mb);
  o.progress = !f.no_progress;
}

// The summary on stdout: counts in/out, one line per drop reason, the first skipped input line.
void print_clean_summary(const data::CleanReport& r, const std::string& out_dir) {
  std::printf("documents: %llu in, %llu kept, %llu out (train %llu, val %llu)\n",
              static_cast<unsigned long long>(r.docs_in), static_cast<unsigned long long>(r.docs_kept),
              static_cast<unsigned long long>(r.docs_train + r.docs_val), static_cast<unsigned long long>(r.docs_train),
              static_cast<unsigned long long>(r.docs_val));
  for (const auto& [reason, s] : r.dropped)
    std::printf("dropped %-22s %llu\n", reason.c_str(), static_cast<unsigned long long>(s.docs));
  if (r.n_input_issues > 0)
    std::printf("skipped input lines: %llu (first: %s:%llu: %s)\n", static_cast<unsigned long long>(r.n_input_issues),
                r.input_issues[0].file.c_str(), static_cast<unsigned long long>(r.input_issues[0].line),
                r.input_issues[0].reason.c_str());
  std::printf("time %.2fs, %.1f MB/s\n", r.seconds, r.seconds > 0 ? r.bytes_in / 1e6 / r.seconds : 0.0);
  std::printf("report: %s\n", (fs::path(out_dir) / "report.html").string().c_str());
}

void setup_clean(CLI::App& data) {
  auto flags = std::make_shared<CleanFlags>();
  flags->o.threads = 0;  // 0: default_threads(), see resolve_clean_flags
  CLI::App* c =
      data.add_subcommand("clean", "normalise, filter, deduplicate, scrub and rebalance raw text into train/val JSONL");
  add_clean_input_flags(c, *flags);
  add_clean_filter_flags(c, *flags);
  add_clean_dedup_scrub_flags(c, *flags);
  add_clean_balance_split_flags(c, *flags);
  add_threads_option(*c, flags->o.threads);
  c->add_flag("--no-progress", flags->no_progress, "no progress bar");
  add_config_option(*c);
  c->callback([flags] {
    resolve_clean_flags(*flags);
    const data::CleanReport r = data::run_clean(flags->o);
    data::write_clean_report(flags->o.out_dir, r);
    print_clean_summary(r, flags->o.out_dir);
  });
}

void print_shard(const std::string& path, std::string tokenizer, uint64_t doc, uint64_t sample,
                 const std::string& mask_view) {
  const data::ShardReader s(path);
  const auto& h = s.header();
  std::printf("%s\n", path.c_str());
  std::printf("  format       CFSHARD v%u, %u-byte tokens%s\n", h.version, h.token_bytes, s.has_mask() ? ", loss mask" : "");
  std::printf("  tokens       %llu\n", static_cast<unsigned long long>(s.n_tokens()));
  std::printf("  documents    %llu\n", static_cast<unsigned long long>(s.n_docs()));
  std::printf("  vocab_size   %u\n", s.vocab_size());
  std::printf("  eot_id       %d\n", s.eot_id());
  std::printf("  tokenizer    %s\n", s.fingerprint().empty() ? "(none)" : s.fingerprint().c_str());
  const auto& ends = s.doc_ends();
  uint32_t max_id = 0;
  uint64_t masked = 0;
  for (uint64_t i = 0; i < s.n_tokens(); ++i) {
    max_id = std::max(max_id, s.tokens(i));
    masked += s.mask(i) != 0;
  }
  if (s.n_docs() > 0)
    std::printf("  tokens/doc   %.1f\n", static_cast<double>(s.n_tokens()) / static_cast<double>(s.n_docs()));
  std::printf("  max token id %u\n", max_id);
  if (s.has_mask()) std::printf("  trained on   %llu tokens (mask = 1)\n", static_cast<unsigned long long>(masked));
  if (ends.size() != s.n_docs())
    std::printf("  warning      %zu end-of-text tokens but the header says %llu documents\n", ends.size(),
                static_cast<unsigned long long>(s.n_docs()));
  if (max_id >= s.vocab_size()) std::printf("  warning      token ids reach %u, outside the vocabulary\n", max_id);
  // `data chat` copies its tokenizer next to the shards: use it when none is given.
  const fs::path beside = fs::path(path).parent_path() / "tokenizer.json";
  if (tokenizer.empty() && file_exists(beside.string())) tokenizer = beside.parent_path().string();
  if (tokenizer.empty()) return;
  CF_CHECK(doc < ends.size(), "{}: --doc {} out of range ({} documents)", path, doc, ends.size());
  const uint64_t begin = doc == 0 ? 0 : ends[doc - 1] + 1;
  const uint64_t end = std::min(ends[doc], begin + sample);
  std::vector<int32_t> ids;
  for (uint64_t i = begin; i < end; ++i) ids.push_back(static_cast<int32_t>(s.tokens(i)));
  std::string note;
  std::string text = decode_for_inspect(tokenizer, ids, s.fingerprint(), &note);
  if (s.has_mask() && mask_view != "off") {
    std::vector<uint8_t> mask;
    for (uint64_t i = begin; i < end; ++i) mask.push_back(s.mask(i));
    text = masked_text_for_inspect(tokenizer, ids, mask, mask_view);
  }
  if (!note.empty()) std::printf("  note         %s\n", note.c_str());
  std::printf("  document %llu, tokens [%llu, %llu) of %llu:\n", static_cast<unsigned long long>(doc),
              static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end),
              static_cast<unsigned long long>(ends[doc]));
  if (s.has_mask() && mask_view != "off") std::printf("  (trained tokens, mask = 1, are marked)\n");
  std::printf("%s\n", text.c_str());
}

void setup_inspect(CLI::App& data) {
  struct Flags {
    std::string path, tokenizer;
    uint64_t doc = 0, sample = 64;
    std::string mask_view = "auto";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* c = data.add_subcommand("inspect", "print a token shard's header and counts, and decode a sample");
  c->add_option("shard", f->path, "a shard file (.bin) or a directory of shards")->type_name(kPath)->required();
  c->add_option("--tokenizer", f->tokenizer,
                "tokenizer directory or tokenizer.json: decode a sample of the shard (default: none, no sample)")
      ->type_name(kPath);
  c->add_option("--doc", f->doc, "which document to decode")->capture_default_str();
  c->add_option("--sample", f->sample, "how many tokens to decode")->capture_default_str();
  c->add_option("--mask-view", f->mask_view, "SFT shards: mark trained tokens: auto, color, brackets or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "color", "brackets", "off"}));
  set_ranges(*c, {{"--doc", "[0, 2^63]"}, {"--sample", "[0, 2^32]"}});  // --doc: checked against the shard too
  add_config_option(*c);
  c->callback([f] {
    if (!is_directory(f->path)) {
      CF_CHECK(file_exists(f->path), "shard {} does not exist", f->path);
      print_shard(f->path, f->tokenizer, f->doc, f->sample, f->mask_view);
      return;
    }
    uint64_t tokens = 0, docs = 0, files = 0;
    std::vector<std::string> splits = {"train", "val"};
    for (const auto& e : fs::directory_iterator(f->path)) {  // per-task validation sets of `data chat`
      const std::string n = e.path().filename().string();
      const size_t us = n.rfind('_');
      if (n.rfind("val-", 0) == 0 && us != std::string::npos && n.size() > 4 && n.substr(n.size() - 4) == ".bin" &&
          std::find(splits.begin(), splits.end(), n.substr(0, us)) == splits.end())
        splits.push_back(n.substr(0, us));
    }
    std::sort(splits.begin() + 2, splits.end());
    for (const auto& split : splits) {
      for (const auto& p : data::list_shards(f->path, split)) {
        const data::ShardReader s(p);
        const bool task_val = split != "train" && split != "val";  // a subset of val: not added again
        std::printf("%-40s %12llu tokens %9llu docs%s\n", fs::path(p).filename().string().c_str(),
                    static_cast<unsigned long long>(s.n_tokens()), static_cast<unsigned long long>(s.n_docs()),
                    task_val ? "  (task validation, part of val)" : "");
        if (task_val) continue;
        tokens += s.n_tokens();
        docs += s.n_docs();
        ++files;
      }
    }
    CF_CHECK(files > 0, "no train_*.bin or val_*.bin shards in {}", f->path);
    std::printf("total: %llu shards, %llu tokens, %llu documents\n", static_cast<unsigned long long>(files),
                static_cast<unsigned long long>(tokens), static_cast<unsigned long long>(docs));
  });
}

void setup_data(CLI::App& cmd) {
  cmd.require_subcommand(1);
  setup_clean(cmd);
  add_data_tokenize_command(cmd);
  add_data_chat_command(cmd);
  add_data_prefs_command(cmd);
  setup_inspect(cmd);
}

}  // namespace

CF_REGISTER_COMMAND({"data", "prepare training data: clean raw text, tokenize into shards, inspect shards", setup_data, 20});

}  // namespace chatforge::cli
