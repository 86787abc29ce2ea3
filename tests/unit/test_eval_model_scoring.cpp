// Model-based scoring for `chatforge eval`: strided-window perplexity scores every token
// exactly once with the context the window rule promises, and continuation scoring equals
// the log-softmax of a plain forward pass over the whole sequence (also when truncated).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "fixtures.h"
#include "core/rng.h"
#include "eval/model_scoring.h"
#include "model/gpt.h"

namespace chatforge::eval {
using chatforge::testing::nll_next;

namespace {

std::unique_ptr<model::Gpt> tiny_scoring_model(int n_ctx) {
  return testing::tiny_model({.channels = 32, .vocab = 97, .context = n_ctx}, 5, 3.0f);
}

std::vector<int32_t> random_tokens(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng.below(97));
  return t;
}

TEST(EvalModelScoring, WindowsCoveringTheStreamEqualOneForwardPass) {
  auto m = tiny_scoring_model(32);
  const auto toks = random_tokens(20, 1);
  double full = 0;
  for (size_t j = 1; j < toks.size(); ++j) full += nll_next(*m, {toks.begin(), toks.begin() + j}, toks[j]);
  for (int stride : {1, 3, 7, 19, 32}) {
    const StreamLoss s = score_token_stream(*m, toks, 32, std::min(stride, 32));
    EXPECT_EQ(s.tokens, toks.size() - 1) << stride;
    EXPECT_NEAR(s.nats, full, 1e-3) << stride;
  }
}

TEST(EvalModelScoring, StridedWindowsGiveEachTokenTheRightContext) {
  auto m = tiny_scoring_model(16);
  const auto toks = random_tokens(45, 2);
  const int window = 12, stride = 5;
  // Token j is scored in the window scoring [pos, end) with end = min(pos + stride, N),
  // pos = 1, 1 + stride, ...; its inputs start at max(0, end - 1 - window).
  double expect = 0;
  for (size_t pos = 1; pos < toks.size(); pos += stride) {
    const size_t end = std::min(pos + stride, toks.size());
    const size_t begin = end - 1 > static_cast<size_t>(window) ? end - 1 - window : 0;
    for (size_t j = pos; j < end; ++j) expect += nll_next(*m, {toks.begin() + begin, toks.begin() + j}, toks[j]);
  }
  const StreamLoss s = score_token_stream(*m, toks, window, stride);
  EXPECT_EQ(s.tokens, toks.size() - 1);
  EXPECT_NEAR(s.nats, expect, 1e-3);
  // Less context can only be different, never the same number by accident.
  EXPECT_GT(std::abs(score_token_stream(*m, toks, window, window).nats - s.nats), 1e-6);
  EXPECT_THROW(score_token_stream(*m, toks, 17, 4), Error);  // window beyond n_ctx
  EXPECT_THROW(score_token_stream(*m, toks, 8, 9), Error);   // stride beyond window
}

TEST(EvalModelScoring, ContinuationLogLikelihood) {
  auto m = tiny_scoring_model(16);
  const auto prompt = random_tokens(6, 3), cont = random_tokens(4, 4);
  std::vector<int32_t> all(prompt);
  all.insert(all.end(), cont.begin(), cont.end());
  double expect = 0;
  for (size_t j = prompt.size(); j < all.size(); ++j) expect += nll_next(*m, {all.begin(), all.begin() + j}, all[j]);
  EXPECT_NEAR(continuation_nll(*m, prompt, cont), expect, 1e-4);
  // Too long: the oldest prompt tokens go, leaving 16 inputs.
  const auto long_prompt = random_tokens(30, 5);
  std::vector<int32_t> all2(long_prompt);
  all2.insert(all2.end(), cont.begin(), cont.end());
  const size_t drop = all2.size() - 1 - 16;
  double expect2 = 0;
  for (size_t j = long_prompt.size(); j < all2.size(); ++j)
    expect2 += nll_next(*m, {all2.begin() + drop, all2.begin() + j}, all2[j]);
  EXPECT_NEAR(continuation_nll(*m, long_prompt, cont), expect2, 1e-4);
  EXPECT_EQ(continuation_nll(*m, prompt, {}), 0.0);
  EXPECT_THROW(continuation_nll(*m, prompt, random_tokens(16, 6)), Error);
}

}  // namespace
}  // namespace chatforge::eval
