// `chatforge data tokenize`: documents (cleaned JSONL, or any input `data clean` reads)
// -> token shards (data/shard.h) + meta.json, encoded in parallel with deterministic
// output order. Also the decoding half of `data inspect`. Everything that needs the
// tokenizer sits inside __has_include, so this file builds with or without it.
#include <cstdio>
#include <filesystem>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"

#if __has_include("tokenizer/tokenizer.h")
#include "core/progress.h"
#include "core/timer.h"
#include "data/input.h"
#include "data/shard.h"
#include "tokenizer/tokenizer.h"
#define CF_HAVE_TOKENIZER 1
#endif

namespace chatforge::cli {

#ifdef CF_HAVE_TOKENIZER

namespace {

namespace fs = std::filesystem;

// Files whose name starts with "val" (val.jsonl, valid_*.txt, validation.jsonl.gz) go to
// the validation shards; everything else to train.
bool is_val_file(const std::string& path) { return fs::path(path).filename().string().rfind("val", 0) == 0; }

struct TokenizeFlags {
  std::string tokenizer, out;
  std::vector<std::string> inputs;
  data::InputOptions input;
  std::string shard_tokens = "100M";
  bool allow_special = false, no_progress = false;
  int threads = 2;
  int64_t max_record_mb = data::kDefaultMaxRecordBytes >> 20;
};

void run_tokenize(const TokenizeFlags& f) {
  const uint64_t max_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  if (f.threads < 1) usage_fail("--threads must be at least 1");
  const tok::Tokenizer tk = tok::Tokenizer::load(f.tokenizer);
  data::ShardSpec spec;
  spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
  spec.eot_id = tk.eot_id();
  spec.tokenizer_fingerprint = tk.fingerprint();
  auto files = data::expand_inputs(f.inputs);
  CF_CHECK(!files.empty(), "no input files found");
  data::InputOptions input = f.input;
  input.max_record_bytes = data::max_record_bytes_from_mb(f.max_record_mb);
  data::DocumentStream stream(files, input);
  make_output_dir(f.out);  // and the temps of a killed earlier run there go
  data::ShardSetWriter train(f.out, "train", spec, max_tokens), val(f.out, "val", spec, max_tokens);
  ProgressBar bar("tokenize", stream.total_bytes(), "B", !f.no_progress);
  Timer timer;
  const size_t kBatchDocs = 2048, kBatchBytes = 16u << 20;
  std::vector<data::RawDocument> batch(kBatchDocs);
  std::vector<std::vector<int32_t>> ids(kBatchDocs);
  uint64_t empty = 0;
  while (true) {
    size_t n = 0, bytes = 0;
    while (n < kBatchDocs && bytes < kBatchBytes && stream.next(batch[n])) bytes += batch[n++].text.size();
    if (n == 0) break;
    std::string first_error;
#pragma omp parallel for schedule(dynamic, 4) num_threads(f.threads)
    for (long i = 0; i < static_cast<long>(n); ++i) {
      try {  // an exception must not leave an OpenMP region
        ids[i] = tk.encode(batch[i].text, f.allow_special);
      } catch (const std::exception& e) {
#pragma omp critical
        if (first_error.empty()) first_error = fmt::format("{}:{}: {}", batch[i].file, batch[i].line, e.what());
      }
    }
    if (!first_error.empty()) fail("{}", first_error);
    for (size_t i = 0; i < n; ++i) {
      if (ids[i].empty()) {
        ++empty;
        continue;
      }
      (is_val_file(batch[i].file) ? val : train).add_document(ids[i]);
    }
    bar.update(stream.bytes_consumed(), fmt::format("{} tokens", format_count(double(train.n_tokens() + val.n_tokens()))));
  }
  bar.finish();
  std::vector<data::ShardSplitSummary> splits;
  for (auto* w : {&train, &val}) {
    data::ShardSplitSummary s;
    s.split = w == &train ? "train" : "val";
    s.n_tokens = w->n_tokens();
    s.n_docs = w->n_docs();
    for (const auto& p : w->finish()) s.files.push_back(fs::path(p).filename().string());
    splits.push_back(std::move(s));
  }
  data::write_shard_meta(f.out, spec, splits);
  // The shards travel with their tokenizer: the trainer finds it here (DATA/tokenizer.json).
  tk.save(f.out);
  const double secs = timer.seconds();
  std::printf("train: %llu docs, %llu tokens in %zu shards\n", static_cast<unsigned long long>(splits[0].n_docs),
              static_cast<unsigned long long>(splits[0].n_tokens), splits[0].files.size());
  std::printf("val:   %llu docs, %llu tokens in %zu shards\n", static_cast<unsigned long long>(splits[1].n_docs),
              static_cast<unsigned long long>(splits[1].n_tokens), splits[1].files.size());
  if (empty > 0) std::printf("skipped %llu empty documents\n", static_cast<unsigned long long>(empty));
  if (stream.n_issues() > 0)
    std::printf("skipped input lines: %llu (first: %s:%llu: %s)\n", static_cast<unsigned long long>(stream.n_issues()),
                stream.issues()[0].file.c_str(), static_cast<unsigned long long>(stream.issues()[0].line),
                stream.issues()[0].reason.c_str());
  std::printf("time %.2fs, %.1f MB/s\n", secs, secs > 0 ? stream.raw_bytes() / 1e6 / secs : 0.0);
}

}  // namespace

void add_data_tokenize_command(CLI::App& data) {
  auto f = std::make_shared<TokenizeFlags>();
  f->threads = default_threads();
  CLI::App* c = data.add_subcommand("tokenize", "encode documents into token shards for training (parallel)");
  c->add_option("--tokenizer,-t", f->tokenizer, "tokenizer directory (from `chatforge tokenizer train`)")->required();
  c->add_option("--input,-i", f->inputs, "cleaned JSONL (train.jsonl, val.jsonl) or any .txt/.md/.jsonl[.gz|.zst]")
      ->required();
  c->add_option("--out,-o", f->out, "output directory: train_NNNNNN.bin, val_NNNNNN.bin, meta.json")->required();
  c->add_option("--text-field", f->input.text_field, "JSONL field with the text")->capture_default_str();
  c->add_option("--txt-split", f->input.txt_split, "documents in .txt/.md files: file, paragraph or line")
      ->capture_default_str();
  c->add_flag("--strict", f->input.strict, "stop at the first malformed input line");
  c->add_option("--max-record-mb", f->max_record_mb,
                "largest input record (a line, paragraph or whole-file document) in MiB; 0 = no limit")
      ->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  c->add_flag("--allow-special", f->allow_special, "encode special-token spellings in the text as special tokens");
  c->add_option("--threads", f->threads, "worker threads")->check(threads_range(false))->capture_default_str();
  c->add_flag("--no-progress", f->no_progress, "no progress bar");
  set_ranges(*c, {{"--max-record-mb", "[0, 2^20]"}});
  add_config_option(*c);
  c->callback([f] { run_tokenize(*f); });
}

std::string decode_for_inspect(const std::string& tokenizer_path, const std::vector<int32_t>& tokens,
                               const std::string& shard_fingerprint, std::string* note) {
  const tok::Tokenizer tk = tok::Tokenizer::load(tokenizer_path);
  const std::string fp = tk.fingerprint().substr(0, 16);
  if (note != nullptr && !shard_fingerprint.empty() && fp != shard_fingerprint)
    *note = fmt::format("tokenizer fingerprint {} differs from the shard's {}: the text below may be wrong", fp,
                        shard_fingerprint);
  return tk.decode(tokens);
}

#else  // no tokenizer in this build

void add_data_tokenize_command(CLI::App&) {}

std::string decode_for_inspect(const std::string&, const std::vector<int32_t>&, const std::string&, std::string*) {
  fail("this chatforge was built without the tokenizer: --tokenizer is not available");
}

#endif

}  // namespace chatforge::cli
