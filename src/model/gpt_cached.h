// Incremental inference over a KV cache: the same math as Gpt::forward, but each call
// only processes the new tokens of each sequence (a prefill = many, a decode step = one)
// and returns the logits of the last new position of each sequence.
//
// The block is written once (gpt_cached.cpp, cached_forward) over an executor with six
// steps (norm, attention over the cache, linear, SwiGLU, residual add, head) and run by one of two:
// the backend executor, each step an op of the model's backend (any backend; the CPU one
// for prefills), and, on the CPU for passes of at most kFusedMaxRows rows (decode steps),
// the team executor: the whole pass inside ONE OpenMP parallel region (threads split the
// matrices by output channels and attention by heads, and meet at one barrier per matrix).
// Both give the same logits up to float rounding (tests/unit/test_infer.cpp).
// LoRA adapters (lora_bank.h) apply per sequence: a pass with any adapted sequence runs on
// the backend executor, the base matmuls once for all rows, each sequence's adapter delta
// on its own rows (tests/unit/test_lora_bank.cpp); a pass without adapters is unchanged.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/gpt.h"
#include "model/infer_weights.h"
#include "model/kv_cache.h"
#include "model/lora_bank.h"

namespace chatforge::model {

// New tokens of one sequence, appended at the slot's current cache length.
struct InferSequence {
  int slot = 0;
  const int32_t* tokens = nullptr;  // host ids
  int n_tokens = 0;
  int adapter = -1;  // index into the pass's LoraBank; -1: the base alone
};

// Reusable buffers (grown on demand), so a decode step allocates nothing.
struct InferScratch {
  ops::Buffer rows;                // backend executor: (N, ...) activations in the backend's memory
  size_t row_capacity = 0;         // rows that `rows` holds
  std::vector<float> qkv, att, fch, act, proj, logits;  // team executor: shared (N, ...) buffers
  std::vector<float> per_thread;   // team executor: each thread's residual stream, LN and scores
  ops::TeamBarrier barrier;        // team executor: the threads' meeting point
  std::vector<int32_t> ids, pos;   // the pass's tokens and positions (host)
};

// Which executor a pass uses (tests compare them). kAuto: the team on the CPU backend for
// at most kFusedMaxRows rows, else the backend executor.
enum class CachedSchedule { kAuto, kBackend, kTeam };
inline constexpr int kFusedMaxRows = 16;

// Runs all sequences through the model in one pass (rows of every sequence are stacked
// for the matmuls), appends their keys/values to the cache and advances each slot's
// length. logits (n_seqs, Vp), host: the last new position of each sequence. Errors when
// a slot would overflow the cache, a slot repeats, or a token is outside the vocabulary.
// row_logits, when not null: (total new tokens, Vp) host logits of every new row,
// sequences stacked in order (for log-probabilities of a prompt).
// weights: the matrices in their inference format (infer_weights.h), from `model`.
// adapters: the bank the sequences' `adapter` indices refer to (null: none may be set).
void infer_forward(const Gpt& model, const InferWeights& weights, KvCache& cache, std::span<const InferSequence> seqs,
                   float* logits, InferScratch& scratch, float* row_logits = nullptr,
                   CachedSchedule schedule = CachedSchedule::kAuto, const LoraBank* adapters = nullptr);
// The same over the model's own fp32 weights.
void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch, float* row_logits = nullptr);

}  // namespace chatforge::model
