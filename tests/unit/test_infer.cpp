// Inference: the cached-attention kernel against its scalar reference, the KV-cache path
// against full recompute (token for token, up to the context), batched decoding against
// single runs, the sampler's statistics on crafted distributions, stop strings, and the
// engine's stop / length / cancel / context rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>

#include "fixtures.h"
#include "core/error.h"
#include "infer/engine.h"
#include "infer/sampler.h"
#include "infer/stop_strings.h"
#include "model/gpt_cached.h"
#include "op_test_util.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

namespace chatforge {
namespace {

using testing::max_err;
using testing::randn;
using testing::to_f;

std::unique_ptr<model::Gpt> tiny_model(int n_ctx = 48, uint64_t seed = 7, const char* arch = "gpt2") {
  for (const testing::TinyShape& s :
       testing::every_architecture({.heads = 4, .channels = 32, .vocab = 300, .context = n_ctx}))
    if (std::string(s.arch) == arch) return testing::tiny_model(s, seed, 4.0f);
  throw std::logic_error("no such architecture");
}

// Greedy continuation by full recompute of the whole sequence each step (no cache).
std::vector<int32_t> greedy_full_recompute(model::Gpt& m, std::vector<int32_t> seq, int n_new) {
  const int V = m.config().vocab_size, Vp = m.config().padded_vocab_size();
  std::vector<int32_t> out;
  for (int i = 0; i < n_new && static_cast<int>(seq.size()) <= m.config().n_ctx; ++i) {
    const int T = static_cast<int>(seq.size());
    m.forward(seq.data(), 1, T);
    const float* row = m.activations().logits + static_cast<size_t>(T - 1) * Vp;
    const int32_t id = static_cast<int32_t>(std::max_element(row, row + V) - row);
    out.push_back(id);
    seq.push_back(id);
    if (static_cast<int>(seq.size()) > m.config().n_ctx) break;
  }
  return out;
}

TEST(InferOps, CachedAttentionMatchesReference) {
  Rng rng(3);
  struct Case { int pos0, Tq, C, NH; };
  for (const Case c : {Case{0, 5, 16, 2}, Case{7, 1, 32, 4}, Case{3, 4, 24, 3}, Case{0, 1, 8, 1}}) {
    const int Tk = c.pos0 + c.Tq, ldq = 3 * c.C;
    auto q = randn(static_cast<size_t>(c.Tq) * ldq, rng), k = randn(static_cast<size_t>(Tk) * c.C, rng),
         v = randn(static_cast<size_t>(Tk) * c.C, rng);
    std::vector<double> want(static_cast<size_t>(c.Tq) * c.C);
    ops::reference::attention_cached_forward(want.data(), c.C, q.data(), ldq, k.data(), v.data(), c.pos0, c.Tq, c.NH,
                                             c.NH, c.C / c.NH);
    std::vector<float> got(want.size());
    auto qf = to_f(q), kf = to_f(k), vf = to_f(v);
    ops::attention_cached_forward(got.data(), c.C, qf.data(), ldq, kf.data(), vf.data(), c.pos0, c.Tq, c.NH, c.NH,
                                c.C / c.NH);
    EXPECT_LT(max_err(got, want), 1e-5) << "pos0=" << c.pos0 << " Tq=" << c.Tq;
  }
}

TEST(InferOps, MatvecMatchesReference) {
  Rng rng(9);
  struct Case { int N, C, OC; bool bias; };
  for (const Case c : {Case{1, 32, 96, true}, Case{3, 17, 7, false}, Case{8, 64, 130, true}, Case{16, 5, 1, true}}) {
    auto x = randn(static_cast<size_t>(c.N) * c.C, rng), w = randn(static_cast<size_t>(c.OC) * c.C, rng),
         b = randn(c.OC, rng);
    std::vector<double> want(static_cast<size_t>(c.N) * c.OC);
    ops::reference::matmul_forward(want.data(), x.data(), w.data(), c.bias ? b.data() : nullptr, c.N, c.C, c.OC);
    auto xf = to_f(x), wf = to_f(w), bf = to_f(b);
    std::vector<float> got(want.size());
    ops::matvec_forward(got.data(), xf.data(), wf.data(), c.bias ? bf.data() : nullptr, c.N, c.C, c.OC);
    EXPECT_LT(max_err(got, want), 1e-5) << "N=" << c.N << " C=" << c.C << " OC=" << c.OC;
  }
}

TEST(InferOps, CachedAttentionEqualsFullCausalAttention) {
  // the full-sequence kernel's rows are the cached kernel with pos0 = 0, Tq = T
  Rng rng(5);
  const int T = 9, C = 16, NH = 2;
  auto qkv = to_f(randn(static_cast<size_t>(T) * 3 * C, rng));
  std::vector<float> full(static_cast<size_t>(T) * C), lse(static_cast<size_t>(NH) * T), k(T * C), v(T * C);
  ops::attention_forward(full.data(), lse.data(), qkv.data(), nullptr, 1, T, NH, NH, C / NH);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) {
      k[t * C + c] = qkv[t * 3 * C + C + c];
      v[t * C + c] = qkv[t * 3 * C + 2 * C + c];
    }
  std::vector<float> cached(full.size());
  for (int t = 0; t < T; ++t)  // one query at a time, as decoding does
    ops::attention_cached_forward(cached.data() + t * C, C, qkv.data() + t * 3 * C, 3 * C, k.data(), v.data(), t, 1,
                                  NH, NH, C / NH);
  for (size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(cached[i], full[i], 1e-5);
}

TEST(InferForward, PrefillLogitsMatchFullForward) {
  for (const char* arch : testing::kTinyArchs) {
  SCOPED_TRACE(arch);
  auto m = tiny_model(48, 7, arch);
  const int Vp = m->config().padded_vocab_size();
  std::vector<int32_t> prompt = {5, 17, 250, 3, 99, 42, 42, 7};
  const int T = static_cast<int>(prompt.size());
  m->forward(prompt.data(), 1, T);
  model::KvCache cache(m->config(), 1, m->config().n_ctx);
  model::InferScratch scratch;
  std::vector<float> logits(Vp);
  // prefill in two chunks (5 + 3 tokens): chunked prefill must equal one pass
  model::InferSequence a{0, prompt.data(), 5};
  model::infer_forward(*m, cache, {&a, 1}, logits.data(), scratch);
  const float* want5 = m->activations().logits + 4 * Vp;
  for (int j = 0; j < m->config().vocab_size; ++j) ASSERT_NEAR(logits[j], want5[j], 2e-4) << j;
  model::InferSequence b{0, prompt.data() + 5, 3};
  model::infer_forward(*m, cache, {&b, 1}, logits.data(), scratch);
  const float* want = m->activations().logits + (T - 1) * Vp;
  for (int j = 0; j < m->config().vocab_size; ++j) ASSERT_NEAR(logits[j], want[j], 2e-4) << j;
  EXPECT_EQ(cache.length(0), T);
  }
}

// The block is written once and run by two executors: the CPU team (one parallel region,
// threads split matrices and heads) and the backend (an op per step). Same sequences, same
// cache contents, every weight format: the logits must agree, pass after pass (a prefill of
// several sequences, then decode steps, then an all-rows pass for prompt log-probabilities).
TEST(InferForward, TeamAndBackendExecutorsAgree) {
  for (const char* arch : testing::kTinyArchs) {
  SCOPED_TRACE(arch);
  auto m = tiny_model(48, 11, arch);
  const int Vp = m->config().padded_vocab_size();
  for (ops::WeightFormat f : {ops::WeightFormat::kF32, ops::WeightFormat::kF16, ops::WeightFormat::kBF16,
                              ops::WeightFormat::kInt8}) {
    const model::InferWeights w(*m, f);
    model::KvCache team_cache(m->config(), 3, 48), backend_cache(m->config(), 3, 48);
    model::InferScratch s1, s2;
    const std::vector<int32_t> p0 = {5, 17, 250, 3}, p1 = {99, 42}, p2 = {7, 8, 9, 10, 11};
    std::vector<model::InferSequence> seqs = {{0, p0.data(), 4}, {1, p1.data(), 2}, {2, p2.data(), 5}};
    for (int pass = 0; pass < 4; ++pass) {
      size_t rows = 0;  // the last pass also asks for every row's logits
      if (pass == 3)
        for (const auto& q : seqs) rows += q.n_tokens;
      std::vector<float> a(seqs.size() * Vp), b(a.size()), ra(rows * Vp), rb(rows * Vp);
      model::infer_forward(*m, w, team_cache, seqs, a.data(), s1, rows ? ra.data() : nullptr,
                           model::CachedSchedule::kTeam);
      model::infer_forward(*m, w, backend_cache, seqs, b.data(), s2, rows ? rb.data() : nullptr,
                           model::CachedSchedule::kBackend);
      for (size_t j = 0; j < a.size(); ++j)
        ASSERT_NEAR(a[j], b[j], 1e-4) << ops::weight_format_name(f) << " pass " << pass << " at " << j;
      for (size_t j = 0; j < ra.size(); ++j) ASSERT_NEAR(ra[j], rb[j], 1e-4) << "row logits " << j;
      // next pass: one new token per sequence (decode), the last one three tokens at once
      static const int32_t next[3] = {1, 2, 3};
      seqs = {{0, &next[0], 1}, {1, &next[1], 1}, {2, next, pass == 2 ? 3 : 1}};
    }
    for (int slot = 0; slot < 3; ++slot) EXPECT_EQ(team_cache.length(slot), backend_cache.length(slot));
  }
  }
}

TEST(Engine, KvCacheGreedyEqualsFullRecomputeUpToTheContext) {
  for (const char* arch : testing::kTinyArchs) {
  SCOPED_TRACE(arch);
  auto m = tiny_model(48, 13, arch);
  infer::Engine engine(*m, 1);
  const std::vector<std::vector<int32_t>> prompts = {{1}, {10, 20, 30}, {299, 0, 5, 5, 5, 7, 8, 9, 100, 200, 150, 3},
                                                     std::vector<int32_t>(40, 11)};
  for (const auto& prompt : prompts) {
    infer::GenerationRequest req;
    req.prompt = prompt;
    req.sampling.temperature = 0;
    req.max_new_tokens = 0;  // until the context is full
    const infer::GenerationResult r = engine.generate(req);
    EXPECT_EQ(r.finish, infer::FinishReason::kLength);
    EXPECT_EQ(static_cast<int>(prompt.size() + r.tokens.size()), 48 + 1) << "fills the context";
    const std::vector<int32_t> want = greedy_full_recompute(*m, prompt, static_cast<int>(r.tokens.size()));
    EXPECT_EQ(r.tokens, want) << "prompt length " << prompt.size();
    EXPECT_GE(std::set<int32_t>(r.tokens.begin(), r.tokens.end()).size(), 4u) << "a degenerate model proves little";
    EXPECT_EQ(r.prompt_tokens, static_cast<int>(prompt.size()));
    EXPECT_EQ(r.completion_tokens, static_cast<int>(r.tokens.size()));
  }
  }
}

TEST(Engine, PromptLogprobsMatchFullForward) {
  auto m = tiny_model();
  const int V = m->config().vocab_size, Vp = m->config().padded_vocab_size();
  const std::vector<int32_t> prompt = {4, 8, 15, 16, 23, 42, 108, 7, 7, 1, 2, 3, 200, 100, 50, 25, 12, 6, 3};  // > 16 rows: sgemm path
  infer::Engine engine(*m, 2);
  infer::GenerationRequest req, other;
  req.prompt = prompt;
  req.prompt_logprobs = true;
  req.max_new_tokens = 1;
  other.prompt = {9, 9};  // shares the pass, asks for nothing
  other.max_new_tokens = 1;
  const auto results = engine.generate_batch({req, other});
  ASSERT_EQ(results[0].prompt_logprobs.size(), prompt.size() - 1);
  EXPECT_TRUE(results[1].prompt_logprobs.empty());
  m->forward(prompt.data(), 1, static_cast<int>(prompt.size()));
  for (size_t t = 0; t + 1 < prompt.size(); ++t) {
    const float* l = m->activations().logits + t * Vp;
    double maxv = *std::max_element(l, l + V), sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(l[j] - maxv);
    EXPECT_NEAR(results[0].prompt_logprobs[t], l[prompt[t + 1]] - maxv - std::log(sum), 1e-4) << t;
  }
}

TEST(Engine, PrefixReuseIsExact) {
  auto m = tiny_model(64);
  infer::Engine engine(*m, 2), fresh_engine(*m, 1);
  infer::GenerationRequest first;
  first.prompt = {11, 12, 13, 14, 15};
  first.sampling.temperature = 0;
  first.max_new_tokens = 10;
  const auto r1 = engine.generate(first);
  EXPECT_EQ(r1.cached_prompt_tokens, 0);
  // the next "turn": the whole history plus new tokens; all but the last answer token
  // (never fed back) are in the cache already
  infer::GenerationRequest second = first;
  second.prompt.insert(second.prompt.end(), r1.tokens.begin(), r1.tokens.end());
  second.prompt.insert(second.prompt.end(), {5, 6, 7});
  const auto r2 = engine.generate(second);
  EXPECT_EQ(r2.cached_prompt_tokens, 5 + 9);
  EXPECT_EQ(r2.tokens, fresh_engine.generate(second).tokens);
  // a prompt that diverges early reuses only the common part, and stays exact
  infer::GenerationRequest third = first;
  third.prompt = {11, 12, 99, 98};
  const auto r3 = engine.generate(third);
  EXPECT_EQ(r3.cached_prompt_tokens, 2);
  infer::Engine fresh2(*m, 1);
  EXPECT_EQ(r3.tokens, fresh2.generate(third).tokens);
  // the same prompt again: all but its last token come from the cache
  EXPECT_EQ(engine.generate(third).cached_prompt_tokens, 3);
}

TEST(Engine, BatchedDecodingEqualsSingleRuns) {
  for (const char* arch : testing::kTinyArchs) {
  SCOPED_TRACE(arch);
  auto m = tiny_model(64, 7, arch);
  std::vector<infer::GenerationRequest> reqs;
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {200}, {7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, {42, 43}};
  for (size_t i = 0; i < prompts.size(); ++i) {
    infer::GenerationRequest r;
    r.prompt = prompts[i];
    r.max_new_tokens = 10 + 5 * static_cast<int>(i);  // they finish at different steps
    r.sampling.temperature = i % 2 == 0 ? 0.0f : 0.9f;
    r.sampling.top_k = i == 3 ? 20 : 0;
    r.sampling.seed = 100 + i;
    reqs.push_back(r);
  }
  infer::Engine single(*m, 1), batched(*m, 4);
  const auto together = batched.generate_batch(reqs);
  ASSERT_EQ(together.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto alone = single.generate(reqs[i]);
    EXPECT_EQ(together[i].tokens, alone.tokens) << "sequence " << i;
    EXPECT_EQ(static_cast<int>(together[i].tokens.size()), reqs[i].max_new_tokens);
  }
  }
}

TEST(Engine, ContinuousBatchingJoinsMidway) {
  auto m = tiny_model(64);
  infer::GenerationRequest a, b;
  a.prompt = {3, 4, 5};
  a.sampling.temperature = 0;
  a.max_new_tokens = 12;
  b = a;
  b.prompt = {9, 8};
  infer::Engine single(*m, 1), engine(*m, 2);
  const auto want_a = single.generate(a).tokens, want_b = single.generate(b).tokens;
  const int ha = engine.submit(a);
  for (int i = 0; i < 4; ++i) engine.step();
  const int hb = engine.submit(b);  // prefill of b shares a pass with a's decode
  while (engine.step()) {
  }
  EXPECT_EQ(engine.take(ha).tokens, want_a);
  EXPECT_EQ(engine.take(hb).tokens, want_b);
}

TEST(Engine, StopIdsCallbackCancelAndContextRules) {
  auto m = tiny_model(32);
  infer::Engine engine(*m, 1);
  infer::GenerationRequest req;
  req.prompt = {1, 2, 3};
  req.sampling.temperature = 0;
  req.max_new_tokens = 10;
  const auto free_run = engine.generate(req);
  ASSERT_EQ(free_run.tokens.size(), 10u);
  EXPECT_EQ(free_run.finish, infer::FinishReason::kLength);
  // the 4th generated token as a stop id: output is the first 3, finish "stop"
  req.stop_ids = {free_run.tokens[3]};
  const size_t first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[3]) - free_run.tokens.begin();
  auto r = engine.generate(req);
  EXPECT_EQ(r.finish, infer::FinishReason::kStop);
  EXPECT_EQ(r.stop_id, free_run.tokens[3]);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(free_run.tokens.begin(), free_run.tokens.begin() + first));
  // the streaming callback sees every token and can stop
  req.stop_ids.clear();
  std::vector<int32_t> streamed;
  req.on_token = [&](int32_t id, const infer::SampledLogprobs*) {
    streamed.push_back(id);
    return streamed.size() < 5;
  };
  r = engine.generate(req);
  EXPECT_EQ(r.tokens, streamed);
  EXPECT_EQ(r.tokens.size(), 5u);
  EXPECT_EQ(r.finish, infer::FinishReason::kStop);
  // a cancel flag set from the callback (as a signal handler would) stops at the next step
  std::atomic<bool> cancel{false};
  req.cancel = &cancel;
  req.on_token = [&](int32_t, const infer::SampledLogprobs*) {
    cancel = true;
    return true;
  };
  r = engine.generate(req);
  EXPECT_EQ(r.finish, infer::FinishReason::kCancelled);
  EXPECT_EQ(r.tokens.size(), 1u);
  // a prompt that does not fit: an error, or the newest tokens kept
  infer::GenerationRequest big;
  big.prompt = std::vector<int32_t>(40, 5);
  big.max_new_tokens = 4;
  try {
    engine.generate(big);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
  big.context_policy = infer::ContextPolicy::kTruncateOldest;
  r = engine.generate(big);
  EXPECT_EQ(r.prompt_tokens, 28);
  EXPECT_EQ(r.truncated_tokens, 12);
  EXPECT_EQ(r.tokens.size(), 4u);
  // the engine stays usable after errors; bad ids and bad sampling values are errors
  big.prompt = {1, 300};
  EXPECT_THROW(engine.generate(big), Error);
  big.prompt = {1};
  big.sampling.top_p = 1.5f;
  EXPECT_THROW(engine.generate(big), UsageError);
  big.sampling.top_p = 1.0f;
  EXPECT_EQ(engine.generate(big).tokens.size(), 4u);
  // a tokenizer smaller than the model's vocabulary: ids beyond it are never sampled
  big.max_new_tokens = 20;
  big.sample_vocab_size = 10;
  big.sampling.temperature = 2.0f;
  for (int32_t id : engine.generate(big).tokens) EXPECT_LT(id, 10);
}

// --- sampler ---------------------------------------------------------------------------
std::map<int32_t, int> histogram(const std::vector<float>& logits, const infer::SamplingParams& p, int draws) {
  infer::Sampler s(p, static_cast<int>(logits.size()));
  std::map<int32_t, int> h;
  std::vector<float> row;
  for (int i = 0; i < draws; ++i) {
    row = logits;
    ++h[s.sample(row.data(), {}, nullptr)];
  }
  return h;
}

std::vector<float> crafted_logits() {  // probabilities 0.4 0.25 0.15 0.1 0.06 0.04 at T=1
  std::vector<float> l;
  for (double p : {0.06, 0.4, 0.1, 0.25, 0.04, 0.15}) l.push_back(static_cast<float>(std::log(p)));
  return l;  // ids by probability: 1, 3, 5, 2, 0, 4
}

TEST(Sampler, SameSeedSameOutputAndTemperatureZeroIsGreedy) {
  const auto logits = crafted_logits();
  infer::SamplingParams p;
  p.seed = 1234;
  infer::Sampler a(p, 6), b(p, 6);
  std::vector<int32_t> xa, xb;
  for (int i = 0; i < 200; ++i) {
    auto r1 = logits, r2 = logits;
    xa.push_back(a.sample(r1.data(), {}, nullptr));
    xb.push_back(b.sample(r2.data(), {}, nullptr));
  }
  EXPECT_EQ(xa, xb);
  p.seed = 99;
  infer::Sampler c(p, 6);
  std::vector<int32_t> xc;
  for (int i = 0; i < 200; ++i) {
    auto r = logits;
    xc.push_back(c.sample(r.data(), {}, nullptr));
  }
  EXPECT_NE(xa, xc);
  p.temperature = 0;
  const auto h = histogram(logits, p, 50);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.begin()->first, 1);
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  infer::SamplingParams p;
  p.seed = 5;
  const int n = 20000;
  const auto h = histogram(crafted_logits(), p, n);
  const double want[] = {0.06, 0.4, 0.1, 0.25, 0.04, 0.15};
  for (int id = 0; id < 6; ++id) EXPECT_NEAR(h.count(id) ? h.at(id) / double(n) : 0.0, want[id], 0.015) << id;
}

TEST(Sampler, TopKTopPMinPNeverEmitExcludedTokens) {
  const auto logits = crafted_logits();
  const int n = 6000;
  infer::SamplingParams p;
  p.seed = 11;
  p.top_k = 3;  // keeps 1, 3, 5 with mass 0.4 0.25 0.15 -> renormalised 0.5 0.3125 0.1875
  auto h = histogram(logits, p, n);
  EXPECT_EQ((std::set<int32_t>{1, 3, 5}), [&] { std::set<int32_t> s; for (auto& [k, v] : h) s.insert(k); return s; }());
  EXPECT_NEAR(h[1] / double(n), 0.5, 0.02);
  EXPECT_NEAR(h[5] / double(n), 0.1875, 0.02);
  p.top_k = 0;
  p.top_p = 0.7f;  // 0.4 + 0.25 = 0.65 < 0.7, + 0.15 -> keeps 1, 3, 5
  h = histogram(logits, p, n);
  for (auto& [id, c] : h) EXPECT_TRUE(id == 1 || id == 3 || id == 5) << "top-p emitted " << id;
  EXPECT_EQ(h.size(), 3u);
  p.top_p = 0.6f;  // keeps 1, 3
  h = histogram(logits, p, n);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.count(1) && h.count(3));
  p.top_p = 1.0f;
  p.min_p = 0.3f;  // threshold 0.12: keeps 1 (0.4), 3 (0.25), 5 (0.15)
  h = histogram(logits, p, n);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(h.count(2) || h.count(0) || h.count(4));
  p.min_p = 0;
  p.logit_bias[1] = -INFINITY;  // a banned token never appears
  p.logit_bias[4] = 3.0f;
  h = histogram(logits, p, n);
  EXPECT_EQ(h.count(1), 0u);
  EXPECT_GT(h[4], h[3]);  // 0.04 * e^3 = 0.8 > 0.25
  p.top_k = 1;  // top-k 1 at any temperature is greedy over the biased logits
  p.temperature = 5.0f;
  h = histogram(logits, p, 100);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.begin()->first, 4);
}

TEST(Sampler, PenaltiesAndLogprobs) {
  const auto logits = crafted_logits();
  infer::SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 1e6f;  // the prompt's token 1 is pushed down: greedy picks 3
  infer::Sampler rep(p, 6);
  auto row = logits;
  const std::vector<int32_t> prompt = {1};
  EXPECT_EQ(rep.sample(row.data(), prompt, nullptr), 3);
  // frequency penalty: after each pick the chosen token drops by 2 -> the picks rotate
  p.repetition_penalty = 1.0f;
  p.frequency_penalty = 2.0f;
  infer::Sampler freq(p, 6);
  row = logits;
  EXPECT_EQ(freq.sample(row.data(), {}, nullptr), 1);
  row = logits;
  EXPECT_EQ(freq.sample(row.data(), {}, nullptr), 3);  // log .4 - 2 < log .25
  // logprobs: log-softmax of the raw logits, top-N most likely first
  p = {};
  p.temperature = 0;
  p.logprobs = true;
  p.top_logprobs = 3;
  infer::Sampler lp(p, 6);
  infer::SampledLogprobs out;
  row = logits;
  EXPECT_EQ(lp.sample(row.data(), {}, &out), 1);
  EXPECT_EQ(out.chosen.id, 1);
  EXPECT_NEAR(out.chosen.logprob, std::log(0.4), 1e-5);
  ASSERT_EQ(out.top.size(), 3u);
  EXPECT_EQ(out.top[1].id, 3);
  EXPECT_NEAR(out.top[2].logprob, std::log(0.15), 1e-5);
}

TEST(Sampler, InvalidValuesAreUsageErrors) {
  auto bad = [](auto set) {
    infer::SamplingParams p;
    set(p);
    try {
      p.validate(10);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(bad([](auto& p) { p.top_p = 1.5f; }).find("top-p"), std::string::npos);
  EXPECT_NE(bad([](auto& p) { p.temperature = -1; }).find("temperature"), std::string::npos);
  EXPECT_NE(bad([](auto& p) { p.top_k = -2; }).find("top-k"), std::string::npos);
  EXPECT_NE(bad([](auto& p) { p.min_p = 2; }).find("min-p"), std::string::npos);
  EXPECT_NE(bad([](auto& p) { p.logit_bias[10] = 1; }).find("logit-bias"), std::string::npos);
  EXPECT_EQ(bad([](auto& p) { p.top_p = 1.0f; }), "no error");
}

TEST(StopStrings, HoldsBackPrefixesAndCutsAtTheMatch) {
  infer::StopStringMatcher m({"\nUser:", "停止"});
  EXPECT_EQ(m.push("Hel"), "Hel");
  EXPECT_EQ(m.push("lo\nUs"), "lo");  // "\nUs" might start a stop string
  EXPECT_EQ(m.push("e"), "");
  EXPECT_EQ(m.push("ful"), "\nUseful");  // it did not
  EXPECT_FALSE(m.matched());
  EXPECT_EQ(m.push("好的停"), "好的");
  EXPECT_EQ(m.push("止 more"), "");
  EXPECT_TRUE(m.matched());
  EXPECT_EQ(m.push("x"), "");
  EXPECT_EQ(m.flush(), "");
  infer::StopStringMatcher tail({"END"});
  EXPECT_EQ(tail.push("abc E"), "abc ");
  EXPECT_EQ(tail.flush(), "E");  // generation ended without completing a stop string
}

}  // namespace
}  // namespace chatforge
