// Log-likelihood scoring with a model, on token ids: the summed loss of a continuation
// given a prompt (multiple choice, counterfactual probes) and strided-window perplexity
// over a token stream (every token scored once, with up to window-1 tokens of context).
#pragma once
#include <cstdint>
#include <vector>

#include "core/progress.h"
#include "model/gpt.h"

namespace chatforge::eval {

struct StreamLoss {
  double nats = 0;      // summed negative log-likelihood
  uint64_t tokens = 0;  // tokens scored
};

// Scores tokens[1..N) (tokens[0] is context only) in windows of at most `window` input
// tokens; each window moves the scored region forward by `stride` (1 <= stride <= window),
// so every token after the first window sees at least window - stride tokens of context.
// With stride == window the windows do not overlap (as a training eval does).
// Example: N = 9, window 4, stride 2 -> inputs [0,2) [0,4) [2,6) [4,8), each scoring 2 tokens.
StreamLoss score_token_stream(model::Gpt& m, const std::vector<int32_t>& tokens, int window, int stride,
                              ProgressBar* bar = nullptr);

// -log P(continuation | prompt), summed over the continuation's tokens. When prompt +
// continuation exceed the context, the oldest prompt tokens are dropped; a continuation
// longer than the context minus one token is an Error. The prompt must be non-empty.
double continuation_nll(model::Gpt& m, const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation);

}  // namespace chatforge::eval
