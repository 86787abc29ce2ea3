// Next-token sampling from one row of logits: logit bias, repetition / frequency /
// presence penalties, then greedy (temperature 0) or temperature + top-k + top-p + min-p
// and a draw from a seeded RNG (same seed, same logits -> same token). Optional
// log-probabilities of the chosen and top-N tokens under the model's raw distribution.
#pragma once
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/rng.h"

namespace chatforge::infer {

// The accepted ranges (core/num_range.h notation): one definition for validate() (CLI and
// HTTP requests alike) and the sampling flags' checks and --help.
namespace sampling_range {
inline constexpr const char* kTemperature = "[0, inf)";  // 0 = greedy
inline constexpr const char* kTopK = "[0, 2^31-1]";      // 0 = off
inline constexpr const char* kTopP = "(0, 1]";
inline constexpr const char* kMinP = "[0, 1]";
inline constexpr const char* kRepetitionPenalty = "(0, inf)";  // 1 = off
inline constexpr const char* kFrequencyPenalty = "[-2, 2]";
inline constexpr const char* kPresencePenalty = "[-2, 2]";
inline constexpr const char* kTopLogprobs = "[0, 20]";
inline constexpr const char* kSeed = "[0, 2^64-1]";
}  // namespace sampling_range

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy (argmax)
  int top_k = 0;                    // 0 = off; else keep the k most likely tokens
  float top_p = 1.0f;               // nucleus: smallest set with cumulative prob >= top_p
  float min_p = 0.0f;               // drop tokens with p < min_p * p_max
  float repetition_penalty = 1.0f;  // HF/CTRL rule over prompt + output: l>0 ? l/r : l*r
  float frequency_penalty = 0.0f;   // OpenAI rule over the output: l -= f * count
  float presence_penalty = 0.0f;    // OpenAI rule over the output: l -= p * (count > 0)
  uint64_t seed = 0;
  std::unordered_map<int32_t, float> logit_bias;  // added to the logit of each token id
  int top_logprobs = 0;             // >0: also report this many most likely tokens
  bool logprobs = false;            // report the chosen token's log-probability

  // Throws UsageError naming the field for a value out of range (e.g. top_p 1.5).
  void validate(int vocab_size) const;
};

struct TokenLogprob {
  int32_t id = -1;
  float logprob = 0.0f;
};
// Log-probabilities (log-softmax of the raw logits, before penalties and temperature:
// what a scoring harness wants) of the chosen token and the top-N alternatives.
struct SampledLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // most likely first
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, int vocab_size);

  // Picks the next token. logits: the first vocab_size entries are used and modified
  // (scratch). prompt: the prompt ids (repetition penalty); the sampler remembers its own
  // outputs for the penalties. logprobs may be null.
  int32_t sample(float* logits, std::span<const int32_t> prompt, SampledLogprobs* logprobs);

  // Records a token as generated without sampling it (e.g. forced), for the penalties.
  void observe(int32_t id) { ++counts_[id]; }
  const SamplingParams& params() const { return p_; }
  void set_params(const SamplingParams& p);  // re-validates; RNG restarts from p.seed

 private:
  SamplingParams p_;
  int V_;
  Rng rng_;
  std::unordered_map<int32_t, int> counts_;  // generated token -> times
  std::vector<int32_t> order_;               // scratch
  std::vector<float> probs_;                 // scratch: raw logits for logprobs
  std::vector<double> weights_;              // scratch: candidate probabilities
};

}  // namespace chatforge::infer
