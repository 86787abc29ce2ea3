// Implementation of perplexity_eval.h.
#include "eval/perplexity_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "data/shard.h"
#include "eval/model_scoring.h"
#include "eval/text_files.h"

namespace chatforge::eval {

namespace {

bool path_ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Corpus load_shard_corpus(const PerplexityEvalOptions& o, const interop::LoadedModel& lm) {
  Corpus c;
  const std::string& path = o.data;
  std::vector<std::unique_ptr<data::ShardReader>> readers;
  if (is_directory(path)) {
    const auto files = data::list_shards(path, o.split);
    CF_CHECK(!files.empty(), "{}: no {}_*.bin shards (choose the split with --split)", path, o.split);
    for (const auto& f : files) readers.push_back(std::make_unique<data::ShardReader>(f));
  } else {
    CF_CHECK(file_exists(path), "{} does not exist", path);
    readers.push_back(std::make_unique<data::ShardReader>(path));
  }
  c.kind = "shards";
  c.tokens.push_back(readers[0]->eot_id());  // so the first document's first token is scored too
  for (const auto& r : readers) {
    CF_CHECK(r->vocab_size() <= static_cast<uint32_t>(lm.model->config().vocab_size),
             "{}: shard vocabulary {} exceeds the model's {}", r->path(), r->vocab_size(),
             lm.model->config().vocab_size);
    CF_CHECK(r->fingerprint().empty() ||
                 lm.tokenizer->fingerprint().compare(0, r->fingerprint().size(), r->fingerprint()) == 0,
             "{} was tokenized with another tokenizer than {}'s", r->path(), o.model_name);
    std::vector<int32_t> doc;
    for (uint64_t i = 0; i < r->n_tokens(); ++i) {
      const auto t = static_cast<int32_t>(r->tokens(i));
      c.tokens.push_back(t);
      if (t == r->eot_id()) {
        c.bytes += lm.tokenizer->decode(doc).size();
        ++c.documents;
        doc.clear();
      } else {
        doc.push_back(t);
      }
    }
    if (!doc.empty()) c.bytes += lm.tokenizer->decode(doc).size(), ++c.documents;
  }
  return c;
}

Corpus load_text_corpus(const PerplexityEvalOptions& o, const interop::LoadedModel& lm) {
  Corpus c;
  const std::string& path = o.data;
  CF_CHECK(file_exists(path), "{} does not exist", path);
  std::vector<std::string> docs;
  if (path_ends_with(path, ".jsonl")) {
    c.kind = "jsonl";
    for (const auto& rec : read_jsonl(path)) {
      CF_CHECK(rec.value.is_object() && rec.value.contains(o.text_field) && rec.value[o.text_field].is_string(),
               "{}:{}: needs a string '{}' field (choose it with --text-field)", path, rec.line, o.text_field);
      docs.push_back(rec.value[o.text_field].get<std::string>());
    }
  } else {
    c.kind = "text";
    docs.push_back(read_file(path));
  }
  const auto eot = lm.tokenizer->special_token_id("<|endoftext|>");
  if (eot) c.tokens.push_back(*eot);
  for (const auto& d : docs) {
    if (d.empty()) continue;
    const auto ids = lm.tokenizer->encode(d);
    c.tokens.insert(c.tokens.end(), ids.begin(), ids.end());
    if (eot) c.tokens.push_back(*eot);
    c.bytes += d.size();
    ++c.documents;
  }
  return c;
}

}  // namespace

Corpus load_corpus(const PerplexityEvalOptions& o, const interop::LoadedModel& lm) {
  if (is_directory(o.data) || path_ends_with(o.data, ".bin")) return load_shard_corpus(o, lm);
  return load_text_corpus(o, lm);
}

EvalOutput run_perplexity_eval(const interop::LoadedModel& lm, const PerplexityEvalOptions& o) {
  const int n_ctx = lm.model->config().n_ctx;
  const int window = o.window > 0 ? o.window : n_ctx;
  if (window > n_ctx) usage_fail("--window {} exceeds the model's context of {}", window, n_ctx);
  const int stride = o.stride > 0 ? o.stride : std::max(1, window / 2);
  if (stride > window) usage_fail("--stride {} exceeds the window of {}", stride, window);
  const Corpus c = load_corpus(o, lm);
  CF_CHECK(c.tokens.size() >= 2, "{}: too little text to score (fewer than 2 tokens)", o.data);
  ProgressBar bar("perplexity", c.tokens.size() - 1, "tok");
  const StreamLoss s = score_token_stream(*lm.model, c.tokens, window, stride, &bar);
  bar.finish();
  const double loss = s.nats / s.tokens;
  const double ppl = std::exp(loss);
  const double bpb = c.bytes > 0 ? s.nats / std::log(2.0) / c.bytes : 0;
  const nlohmann::json results = {{"task", "perplexity"},
                                  {"model", o.model_name},
                                  {"data", o.data},
                                  {"input", c.kind},
                                  {"documents", c.documents},
                                  {"tokens_scored", s.tokens},
                                  {"bytes", c.bytes},
                                  {"window", window},
                                  {"stride", stride},
                                  {"nll_nats", s.nats},
                                  {"loss", loss},
                                  {"perplexity", ppl},
                                  {"bits_per_byte", bpb},
                                  {"bits_per_token", loss / std::log(2.0)}};
  EvalOutput out{results, HtmlReport("Perplexity: " + o.model_name),
                 cformat("loss %.6f  perplexity %.4f  bits/byte %.4f  "
                         "(%llu tokens, %llu bytes, window %d, stride %d)\n",
                         loss, ppl, bpb, static_cast<unsigned long long>(s.tokens),
                         static_cast<unsigned long long>(c.bytes), window, stride)};
  out.report.paragraph(fmt::format("{} ({}, {} documents): {} tokens scored in windows of {} tokens with stride {}.",
                                   o.data, c.kind, c.documents, s.tokens, window, stride));
  out.report.table({"measure", "value"}, {{"loss (nats/token)", fmt::format("{:.6f}", loss)},
                                          {"perplexity", fmt::format("{:.4f}", ppl)},
                                          {"bits per byte", fmt::format("{:.4f}", bpb)},
                                          {"bits per token", fmt::format("{:.4f}", loss / std::log(2.0))},
                                          {"UTF-8 bytes", std::to_string(c.bytes)}});
  return out;
}

}  // namespace chatforge::eval
