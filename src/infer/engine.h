// The generation engine: token ids in, token ids out. Prefill of each prompt, then one
// token per step with a KV cache; several independent sequences share each forward pass
// (continuous batching: submit() any time a slot is free, step() advances all of them).
// Each sequence has its own sampler, stop ids, streaming callback and cancel flag, and may
// use one of the engine's LoRA adapters (model/lora_bank.h): sequences of different
// adapters and of the base share each forward pass.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "infer/sampler.h"
#include "model/gpt.h"
#include "model/gpt_cached.h"
#include "model/infer_weights.h"
#include "model/kv_cache.h"

namespace chatforge::infer {

enum class FinishReason { kNone, kStop, kLength, kCancelled };
const char* finish_reason_name(FinishReason r);  // "", "stop", "length", "cancelled"

// What happens to a prompt that does not fit the context (leaving room for the answer).
enum class ContextPolicy { kError, kTruncateOldest };

struct GenerationRequest {
  std::vector<int32_t> prompt;  // at least one token
  SamplingParams sampling;
  int max_new_tokens = 256;      // 0: until a stop or the end of the context
  std::vector<int32_t> stop_ids;  // e.g. <|im_end|>, <|endoftext|>; not part of the output
  // kError: a prompt longer than context - 1 is an error. kTruncateOldest: keep the newest
  // tokens, leaving room for min(max_new_tokens, context/2) new ones.
  ContextPolicy context_policy = ContextPolicy::kError;
  // Streams each generated token (stop ids excluded) with its logprobs (null unless asked).
  // Return false to stop here (finish reason "stop"), e.g. when a stop string matched.
  std::function<bool(int32_t id, const SampledLogprobs* logprobs)> on_token;
  const std::atomic<bool>* cancel = nullptr;  // set (from any thread) to stop early
  // 0: sample from the model's whole vocabulary; else only ids below this (when the
  // tokenizer has fewer tokens than the model's embedding table).
  int sample_vocab_size = 0;
  // Also report log p(prompt[i] | prompt[..i]) for i >= 1 (scoring a continuation).
  bool prompt_logprobs = false;
  // The engine's LoRA adapter this sequence runs with (an index into its LoraBank); -1: the base.
  int adapter = -1;
};

// How the engine's forward passes were shared (for the server's /metrics).
struct BatchStats {
  uint64_t steps = 0;        // forward passes
  uint64_t mixed_steps = 0;  // passes whose sequences used different adapters (the base counts as one)
  int max_sequences = 0;     // most sequences in one pass
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids, without the final stop id
  std::vector<SampledLogprobs> logprobs;  // one per token when asked
  std::vector<float> prompt_logprobs;     // when asked: prompt_tokens - 1 values, for ids 1..
  FinishReason finish = FinishReason::kNone;
  int32_t stop_id = -1;          // the stop id that ended it, if any
  int prompt_tokens = 0;         // after truncation
  int cached_prompt_tokens = 0;  // of those, reused from the KV cache (not recomputed)
  int truncated_tokens = 0;      // dropped from the front of the prompt
  int completion_tokens = 0;     // sampled tokens, a final stop id included
  double prefill_seconds = 0, decode_seconds = 0;
};

class Engine {
 public:
  // max_context 0 = the model's n_ctx. The KV cache is sized max_batch x max_context.
  // weights: the storage format of the matrices during inference (ops.h, WeightFormat);
  // f16 / bf16 / int8 are converted from the model's fp32 weights here, once.
  // adapters: LoRA adapters over `model` that requests may pick (null: none); it must
  // outlive the engine.
  Engine(const model::Gpt& model, int max_batch = 1, int max_context = 0,
         ops::WeightFormat weights = ops::WeightFormat::kF32, const model::LoraBank* adapters = nullptr);

  const model::InferWeights& weights() const { return weights_; }

  int context() const { return cache_.max_T(); }
  int max_batch() const { return cache_.max_batch(); }
  size_t cache_bytes() const { return cache_.bytes(); }
  const model::GptConfig& config() const { return model_.config(); }

  // Prefix reuse: a finished sequence's keys/values stay in its slot; a new prompt that
  // starts with the same tokens (the next turn of a chat) goes to that slot and only its
  // new tokens are computed. Exact: cached positions depend only on earlier tokens.
  //
  // Continuous batching. submit() validates (sampling values, prompt ids, context) and
  // returns a handle; it errors when every slot is busy. step() runs one forward pass over
  // every unfinished sequence (the prefill of new ones, one decode token for the others)
  // and returns whether any is still running. take() returns a finished result and frees
  // its slot.
  int submit(GenerationRequest request);
  bool step();
  bool finished(int handle) const;
  GenerationResult take(int handle);
  int running() const;
  const BatchStats& batch_stats() const { return stats_; }

  // One request, start to end.
  GenerationResult generate(GenerationRequest request);
  // Several independent requests in shared forward passes (at most max_batch).
  std::vector<GenerationResult> generate_batch(std::vector<GenerationRequest> requests);

 private:
  struct Sequence {
    bool used = false, prefilled = false;
    GenerationRequest req;
    std::unique_ptr<Sampler> sampler;
    GenerationResult result;
    int32_t next_input = -1;
    int reused = 0;  // prompt tokens already in the cache
  };
  void finish(Sequence& s, FinishReason r);
  void forget(int slot);  // free a slot and drop its cached ids

  const model::Gpt& model_;
  model::InferWeights weights_;
  model::KvCache cache_;
  model::InferScratch scratch_;
  std::vector<Sequence> seqs_;  // indexed by slot = handle
  const model::LoraBank* adapters_;
  std::vector<std::vector<int32_t>> slot_ids_;  // per slot: the ids whose K/V are cached
  std::vector<int> slot_adapter_;               // per slot: the adapter those K/V were computed with
  BatchStats stats_;
  std::vector<float> logits_, row_logits_;
};

}  // namespace chatforge::infer
