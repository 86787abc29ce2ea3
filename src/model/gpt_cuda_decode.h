// Batched decoding on the GPU with a key/value cache: `nseq` sequences advance together,
// one position per step (all at the same position), each step one token per sequence.
// Uses the weights of a GptCuda (no copy); the cache holds (L, nseq, n_ctx, C) keys and
// values. step() returns the next-token logits of every sequence. The CPU engine in
// infer/ does the same for one sequence on the host.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/gpt_cuda.h"

namespace chatforge::model {

class GptCudaDecoder {
 public:
  GptCudaDecoder(GptCuda& model, int nseq);
  ~GptCudaDecoder();
  GptCudaDecoder(const GptCudaDecoder&) = delete;
  GptCudaDecoder& operator=(const GptCudaDecoder&) = delete;

  int nseq() const { return nseq_; }
  int position() const { return pos_; }  // tokens already in the cache
  void reset() { pos_ = 0; }
  // Feeds tokens[s] to sequence s at position(); returns the logits (nseq, V) row-major
  // of the next token. Throws when the context (n_ctx) is full.
  std::vector<float> step(const std::vector<int32_t>& tokens);
  // step() followed by a greedy pick per sequence (argmax on the host).
  std::vector<int32_t> step_greedy(const std::vector<int32_t>& tokens);

  struct State;

 private:
  GptCuda& model_;
  int nseq_;
  int pos_ = 0;
  std::unique_ptr<State> s_;
};

}  // namespace chatforge::model
