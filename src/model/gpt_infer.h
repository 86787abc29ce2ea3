// Incremental GPT-2 inference over a KV cache: the same math as Gpt::forward, but each call
// only processes the new tokens of each sequence (a prefill = many, a decode step = one)
// and returns the logits of the last new position of each sequence.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/gpt.h"
#include "model/infer_weights.h"
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
  std::vector<float> x, ln, qkv, att, fch, proj, last, lnf, mean, rstd;
  std::vector<float> per_thread;  // fused decode: each thread's residual stream, LN and scores
  ops::TeamBarrier barrier;       // fused decode: the threads' meeting point
  std::vector<int32_t> pos;
};

// Runs all sequences through the model in one pass (rows of every sequence are stacked
// for the matmuls), appends their keys/values to the cache and advances each slot's
// length. logits (n_seqs, Vp): the last new position of each sequence. Errors when a slot
// would overflow the cache, a slot repeats, or a token is outside the vocabulary.
// row_logits, when not null: (total new tokens, Vp) logits of every new row, sequences
// stacked in order (for log-probabilities of a prompt; costs one head matmul per row).
// weights: the matrices in their inference format (see infer_weights.h); they must come
// from `model`. Without it, the model's fp32 weights.
// A pass of at most kFusedMaxRows rows (decode steps) runs as one fused parallel region.
void infer_forward(const Gpt& model, const InferWeights& weights, KvCache& cache, std::span<const InferSequence> seqs,
                   float* logits, InferScratch& scratch, float* row_logits = nullptr);
void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch, float* row_logits = nullptr);
inline constexpr int kFusedMaxRows = 16;

}  // namespace chatforge::model
