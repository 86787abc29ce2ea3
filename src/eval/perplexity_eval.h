// `eval perplexity` as a library call: a corpus (plain text, JSONL documents or token
// shards) turned into one token stream, scored in strided windows (model_scoring.h), and
// reported as loss, perplexity, bits per byte and bits per token.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/eval_output.h"
#include "interop/loaded_model.h"

namespace chatforge::eval {

struct PerplexityEvalOptions {
  std::string data;               // .txt, .jsonl, a shard .bin, or a directory of SPLIT_*.bin shards
  std::string model_name;         // shown in results and the report (the model directory)
  std::string text_field = "text";  // .jsonl: field holding each document
  std::string split = "val";      // shard directory: which split
  int window = 0;                 // tokens per forward pass; 0 = the model's context
  int stride = 0;                 // tokens scored per window; 0 = window / 2
};

// The token stream to score and its UTF-8 byte count (documents only, no separators).
struct Corpus {
  std::vector<int32_t> tokens;  // eot, doc1, eot, doc2, eot, ... (eot only where the tokenizer has one)
  uint64_t bytes = 0;
  size_t documents = 0;
  std::string kind;  // "text", "jsonl" or "shards"
};

// Reads o.data. Shards must fit the model's vocabulary and come from lm's tokenizer (their
// fingerprint); JSONL lines need a string o.text_field. Empty documents are skipped.
Corpus load_corpus(const PerplexityEvalOptions& o, const interop::LoadedModel& lm);

// Loss = summed NLL / tokens scored over the corpus; perplexity = exp(loss). UsageError
// for a window beyond the model's context or a stride beyond the window.
EvalOutput run_perplexity_eval(const interop::LoadedModel& lm, const PerplexityEvalOptions& o);

}  // namespace chatforge::eval
