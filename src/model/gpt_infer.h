// Incremental GPT-2 inference over a KV cache: the same math as Gpt::forward, but each call
// only processes the new tokens of each sequence (a prefill = many, a decode step = one)
// and returns the logits of the last new position of each sequence.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/gpt.h"
#include "model/kv_cache.h"

namespace chatforge::model {

// New tokens of one sequence, appended at the slot's current cache length.
struct InferSequence {
  int slot = 0;
  const int32_t* tokens = nullptr;
  int n_tokens = 0;
};

// Reusable buffers (grown on demand), so a decode step allocates nothing.
struct InferScratch {
  std::vector<float> x, ln, qkv, att, fch, last, lnf, mean, rstd;
  std::vector<int32_t> pos;
};

// Runs all sequences through the model in one pass (rows of every sequence are stacked
// for the matmuls), appends their keys/values to the cache and advances each slot's
// length. logits (n_seqs, Vp): the last new position of each sequence. Errors when a slot
// would overflow the cache, a slot repeats, or a token is outside the vocabulary.
void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch);

}  // namespace chatforge::model
