// `data tokenize` as a library call: documents (cleaned JSONL, or any input `data clean`
// reads) -> token shards (data/shard.h) + meta.json + the tokenizer beside them, encoded
// in parallel with deterministic output order. Files whose name starts with "val" go to the
// validation shards, everything else to train; empty documents are skipped and counted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/input.h"

namespace chatforge::data {

struct TokenizeOptions {
  std::string tokenizer;                 // tokenizer directory or tokenizer.json
  std::vector<std::string> inputs;       // files or directories (expand_inputs)
  std::string out;                       // output directory
  InputOptions input;                    // text field, txt split, strict, max record bytes
  uint64_t shard_tokens = 100'000'000;   // most tokens per shard file
  bool allow_special = false;            // special-token spellings in the text become special tokens
  int threads = 2;
  bool progress = true;
};

struct TokenizeSplit {
  uint64_t docs = 0, tokens = 0;
  size_t shards = 0;
};

struct TokenizeResult {
  TokenizeSplit train, val;
  uint64_t empty_docs = 0;     // documents that encoded to nothing (skipped)
  uint64_t input_issues = 0;   // malformed input lines skipped (not with input.strict)
  std::string first_issue;     // "file:line: reason" of the first of them
  uint64_t raw_bytes = 0;      // input bytes read (decompressed)
  double seconds = 0;
};

// Errors (one line): no input files, a document the tokenizer cannot encode (file:line),
// whatever the readers report; threads < 1 is a UsageError.
TokenizeResult tokenize_to_shards(const TokenizeOptions& o);

// Whether a file goes to the validation shards (its name starts with "val").
bool is_val_file(const std::string& path);

// The summary lines `data tokenize` prints (each ending in '\n').
std::string format_tokenize_summary(const TokenizeResult& r);

}  // namespace chatforge::data
