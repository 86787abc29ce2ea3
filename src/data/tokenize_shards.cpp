// Implementation of tokenize_shards.h: batches of documents are encoded in parallel, then
// written in input order, so the shards do not depend on the thread count.
#include "data/tokenize_shards.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/shard.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::data {

namespace {

namespace fs = std::filesystem;

// Encodes one batch in parallel; the first failure (file:line) is an error.
void encode_batch(const tok::Tokenizer& tk, const TokenizeOptions& o, const std::vector<RawDocument>& batch, size_t n,
                  std::vector<std::vector<int32_t>>& ids) {
  std::string first_error;
#pragma omp parallel for schedule(dynamic, 4) num_threads(o.threads)
  for (long i = 0; i < static_cast<long>(n); ++i) {
    try {  // an exception must not leave an OpenMP region
      ids[i] = tk.encode(batch[i].text, o.allow_special);
    } catch (const std::exception& e) {
#pragma omp critical
      if (first_error.empty()) first_error = fmt::format("{}:{}: {}", batch[i].file, batch[i].line, e.what());
    }
  }
  if (!first_error.empty()) fail("{}", first_error);
}

ShardSplitSummary finish_token_split(ShardSetWriter& w, const std::string& name, TokenizeSplit& out) {
  ShardSplitSummary s;
  s.split = name;
  s.n_tokens = w.n_tokens();
  s.n_docs = w.n_docs();
  for (const auto& p : w.finish()) s.files.push_back(fs::path(p).filename().string());
  out = {s.n_docs, s.n_tokens, s.files.size()};
  return s;
}

}  // namespace

bool is_val_file(const std::string& path) { return fs::path(path).filename().string().rfind("val", 0) == 0; }

TokenizeResult tokenize_to_shards(const TokenizeOptions& o) {
  if (o.threads < 1) usage_fail("--threads must be at least 1");
  CF_CHECK(o.shard_tokens > 0, "--shard-tokens must be positive");
  const tok::Tokenizer tk = tok::Tokenizer::load(o.tokenizer);
  ShardSpec spec = shard_spec_for(tk);
  const auto files = expand_inputs(o.inputs);
  CF_CHECK(!files.empty(), "no input files found");
  DocumentStream stream(files, o.input);
  make_output_dir(o.out);  // and the temps of a killed earlier run there go
  ShardSetWriter train(o.out, "train", spec, o.shard_tokens), val(o.out, "val", spec, o.shard_tokens);
  ProgressBar bar("tokenize", stream.total_bytes(), "B", o.progress);
  Timer timer;
  TokenizeResult r;
  const size_t kBatchDocs = 2048, kBatchBytes = 16u << 20;
  std::vector<RawDocument> batch(kBatchDocs);
  std::vector<std::vector<int32_t>> ids(kBatchDocs);
  while (true) {
    size_t n = 0, bytes = 0;
    while (n < kBatchDocs && bytes < kBatchBytes && stream.next(batch[n])) bytes += batch[n++].text.size();
    if (n == 0) break;
    encode_batch(tk, o, batch, n, ids);
    for (size_t i = 0; i < n; ++i) {
      if (ids[i].empty()) {
        ++r.empty_docs;
        continue;
      }
      (is_val_file(batch[i].file) ? val : train).add_document(ids[i]);
    }
    bar.update(stream.bytes_consumed(), fmt::format("{} tokens", format_count(double(train.n_tokens() + val.n_tokens()))));
  }
  bar.finish();
  std::vector<ShardSplitSummary> splits;
  splits.push_back(finish_token_split(train, "train", r.train));
  splits.push_back(finish_token_split(val, "val", r.val));
  write_shard_meta(o.out, spec, splits);
  tk.save(o.out);  // the shards travel with their tokenizer: the trainer finds it here
  r.seconds = timer.seconds();
  r.raw_bytes = stream.raw_bytes();
  r.input_issues = stream.n_issues();
  if (r.input_issues > 0) {
    const auto& i = stream.issues()[0];
    r.first_issue = fmt::format("{}:{}: {}", i.file, i.line, i.reason);
  }
  return r;
}

std::string format_tokenize_summary(const TokenizeResult& r) {
  std::string s = fmt::format("train: {} docs, {} tokens in {} shards\n", r.train.docs, r.train.tokens, r.train.shards);
  s += fmt::format("val:   {} docs, {} tokens in {} shards\n", r.val.docs, r.val.tokens, r.val.shards);
  if (r.empty_docs > 0) s += fmt::format("skipped {} empty documents\n", r.empty_docs);
  if (r.input_issues > 0) s += fmt::format("skipped input lines: {} (first: {})\n", r.input_issues, r.first_issue);
  s += fmt::format("time {:.2f}s, {:.1f} MB/s\n", r.seconds,
                   r.seconds > 0 ? static_cast<double>(r.raw_bytes) / 1e6 / r.seconds : 0.0);
  return s;
}

}  // namespace chatforge::data
