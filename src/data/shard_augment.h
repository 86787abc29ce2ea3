// `data augment` as a library call: token noise (masking, deletion, substitution, local
// shuffle) on pretraining shards from `data tokenize`. Every train document is rewritten
// with noise seeded by (seed, document index), optionally after its clean copy; the
// validation shards are copied byte for byte; meta.json gains an "augment" section with
// the options and the noise counts. SFT chat data gets its noise in `data chat` instead.
#pragma once
#include <cstdint>
#include <string>

#include "data/augment.h"

namespace chatforge::data {

struct ShardAugmentOptions {
  std::string tokenizer;                  // the tokenizer the shards were made with
  std::string input;                      // directory of train_*.bin / val_*.bin (no loss mask)
  std::string out;                        // output directory (must differ from input)
  NoiseOptions noise;                     // mask_id is resolved from mask_token
  std::string mask_token = "_";           // a special token or a one-token text
  uint64_t seed = 0;
  bool keep_original = false;             // also write each clean document (before its noised copy)
  uint64_t shard_tokens = 100'000'000;    // most tokens per output shard file
  bool progress = true;
};

struct ShardAugmentResult {
  uint64_t train_docs = 0, train_tokens = 0;  // written (clean copies included)
  uint64_t val_docs = 0;                      // copied unchanged
  NoiseStats noise;                           // over the noised copies
};

// Errors (one line): input not a directory of unmasked train shards, shards of another
// tokenizer, no noise asked for (UsageError), a mask token that is not one token.
ShardAugmentResult augment_shards(const ShardAugmentOptions& o);

// The two summary lines `data augment` prints (each ending in '\n').
std::string format_shard_augment_summary(const ShardAugmentResult& r, const std::string& out);

}  // namespace chatforge::data
