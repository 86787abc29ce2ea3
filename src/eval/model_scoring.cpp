// Log-likelihood scoring with a model (see model_scoring.h).
#include "eval/model_scoring.h"

#include <algorithm>

#include "core/error.h"

namespace chatforge::eval {

StreamLoss score_token_stream(model::Gpt& m, const std::vector<int32_t>& tokens, int window, int stride,
                              ProgressBar* bar) {
  CF_CHECK(window >= 1 && window <= m.config().n_ctx, "window {} must be in 1..{} (the model's context)", window,
           m.config().n_ctx);
  CF_CHECK(stride >= 1 && stride <= window, "stride {} must be in 1..{} (the window)", stride, window);
  StreamLoss out;
  const size_t n = tokens.size();
  std::vector<uint8_t> mask;
  size_t pos = 1;  // next token to score
  while (pos < n) {
    const size_t end = std::min(pos + static_cast<size_t>(stride), n);  // score [pos, end)
    // Inputs tokens[begin, end-1) predict tokens[begin+1, end): at most `window` inputs.
    const size_t begin = end - 1 > static_cast<size_t>(window) ? end - 1 - window : 0;
    const int T = static_cast<int>(end - 1 - begin);
    mask.assign(T, 0);
    for (size_t j = pos; j < end; ++j) mask[j - 1 - begin] = 1;
    out.nats += m.forward_loss(tokens.data() + begin, tokens.data() + begin + 1, mask.data(), 1, T);
    out.tokens += end - pos;
    if (bar) bar->advance(end - pos);
    pos = end;
  }
  return out;
}

double continuation_nll(model::Gpt& m, const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation) {
  CF_CHECK(!prompt.empty(), "continuation_nll: empty prompt");
  if (continuation.empty()) return 0;
  const size_t ctx = m.config().n_ctx;
  CF_CHECK(continuation.size() < ctx, "a continuation of {} tokens does not fit the model's context of {}",
           continuation.size(), ctx);
  std::vector<int32_t> ids(prompt);
  ids.insert(ids.end(), continuation.begin(), continuation.end());
  // Inputs are ids[0, n-1): keep at most ctx of them.
  const size_t drop = ids.size() - 1 > ctx ? ids.size() - 1 - ctx : 0;
  const int T = static_cast<int>(ids.size() - 1 - drop);
  std::vector<uint8_t> mask(T, 0);
  for (size_t j = 0; j < continuation.size(); ++j) mask[T - 1 - j] = 1;
  return m.forward_loss(ids.data() + drop, ids.data() + drop + 1, mask.data(), 1, T);
}

}  // namespace chatforge::eval
