// Implementation of gpt_infer.h: GPT-2 over new tokens only, keys/values from the cache.
// Mirrors Gpt::forward line by line (see gpt.cpp); the only differences are the cached
// attention and that the final LayerNorm and the tied head run on the last rows only.
#include "model/gpt_infer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/ops.h"

namespace chatforge::model {
namespace {
void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}
// Decode steps have a handful of rows: stream the weights once (matvec); prefills are
// compute-bound: sgemm.
constexpr int kMatvecMaxRows = 16;
void linear(float* out, const float* inp, const float* w, const float* b, int N, int C, int OC) {
  if (N <= kMatvecMaxRows)
    ops::matvec_forward(out, inp, w, b, N, C, OC);
  else
    ops::matmul_forward(out, inp, w, b, N, C, OC);
}
}  // namespace

void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& s) {
  const GptConfig& cfg = model.config();
  const int L = cfg.n_layer, C = cfg.n_embd, NH = cfg.n_head, V = cfg.vocab_size, Vp = cfg.padded_vocab_size();
  const int S = static_cast<int>(seqs.size());
  CF_CHECK(S >= 1, "infer_forward needs at least one sequence");
  int N = 0;
  std::vector<char> seen(cache.max_batch(), 0);
  for (const InferSequence& q : seqs) {
    CF_CHECK(q.slot >= 0 && q.slot < cache.max_batch(), "KV cache slot {} out of range 0..{}", q.slot,
             cache.max_batch() - 1);
    CF_CHECK(!seen[q.slot], "KV cache slot {} appears twice in one forward pass", q.slot);
    seen[q.slot] = 1;
    CF_CHECK(q.n_tokens >= 1, "a sequence needs at least one new token");
    CF_CHECK(cache.length(q.slot) + q.n_tokens <= cache.max_T(),
             "sequence of {} tokens exceeds the context of {} tokens", cache.length(q.slot) + q.n_tokens,
             cache.max_T());
    for (int t = 0; t < q.n_tokens; ++t)
      CF_CHECK(q.tokens[t] >= 0 && q.tokens[t] < V, "token id {} is outside the vocabulary (size {})", q.tokens[t],
               V);
    N += q.n_tokens;
  }
  const size_t NC = static_cast<size_t>(N) * C;
  grow(s.x, NC);
  grow(s.ln, NC);
  grow(s.qkv, NC * 3);
  grow(s.att, NC);
  grow(s.fch, NC * 4);
  grow(s.mean, N);
  grow(s.rstd, N);
  grow(s.last, static_cast<size_t>(S) * C);
  grow(s.lnf, static_cast<size_t>(S) * C);
  const GptParams w = model.layout().views(const_cast<float*>(model.params().data()));  // read only

  // x[row] = wte[token] + wpe[position]
  {
    int row = 0;
    for (const InferSequence& q : seqs)
      for (int t = 0; t < q.n_tokens; ++t, ++row) {
        const float* te = w.wte + static_cast<size_t>(q.tokens[t]) * C;
        const float* pe = w.wpe + static_cast<size_t>(cache.length(q.slot) + t) * C;
        float* x = s.x.data() + static_cast<size_t>(row) * C;
        for (int c = 0; c < C; ++c) x[c] = te[c] + pe[c];
      }
  }
  float* x = s.x.data();
  float* ln = s.ln.data();
  float* qkv = s.qkv.data();
  float* att = s.att.data();
  float* fch = s.fch.data();
  for (int l = 0; l < L; ++l) {
    const size_t lc = static_cast<size_t>(l) * C;
    // x = x + attn(ln_1(x))
    ops::layernorm_forward(ln, s.mean.data(), s.rstd.data(), x, w.ln1w + lc, w.ln1b + lc, N, C);
    linear(qkv, ln, w.qkvw + lc * 3 * C, w.qkvb + lc * 3, N, C, 3 * C);
    int row = 0;
    for (const InferSequence& q : seqs) {
      const int pos0 = cache.length(q.slot);
      float* kc = cache.keys(l, q.slot);
      float* vc = cache.values(l, q.slot);
      for (int t = 0; t < q.n_tokens; ++t) {
        const float* r = qkv + static_cast<size_t>(row + t) * 3 * C;
        std::memcpy(kc + static_cast<size_t>(pos0 + t) * C, r + C, sizeof(float) * C);
        std::memcpy(vc + static_cast<size_t>(pos0 + t) * C, r + 2 * C, sizeof(float) * C);
      }
      ops::attention_cached_forward(att + static_cast<size_t>(row) * C, C, qkv + static_cast<size_t>(row) * 3 * C,
                                    3 * C, kc, vc, pos0, q.n_tokens, C, NH);
      row += q.n_tokens;
    }
    linear(ln, att, w.attprojw + lc * C, w.attprojb + lc, N, C, C);
    ops::residual_forward(x, x, ln, NC);
    // x = x + mlp(ln_2(x))
    ops::layernorm_forward(ln, s.mean.data(), s.rstd.data(), x, w.ln2w + lc, w.ln2b + lc, N, C);
    linear(fch, ln, w.fcw + lc * 4 * C, w.fcb + lc * 4, N, C, 4 * C);
    ops::gelu_forward(fch, fch, NC * 4);
    linear(ln, fch, w.fcprojw + lc * 4 * C, w.fcprojb + lc, N, 4 * C, C);
    ops::residual_forward(x, x, ln, NC);
  }
  // the last new row of each sequence -> ln_f -> tied head
  int row = 0;
  for (int i = 0; i < S; ++i) {
    row += seqs[i].n_tokens;
    std::memcpy(s.last.data() + static_cast<size_t>(i) * C, x + static_cast<size_t>(row - 1) * C, sizeof(float) * C);
  }
  ops::layernorm_forward(s.lnf.data(), s.mean.data(), s.rstd.data(), s.last.data(), w.lnfw, w.lnfb, S, C);
  linear(logits, s.lnf.data(), w.wte, nullptr, S, C, Vp);
  for (const InferSequence& q : seqs) cache.set_length(q.slot, cache.length(q.slot) + q.n_tokens);
}

}  // namespace chatforge::model
