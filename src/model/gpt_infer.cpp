// Implementation of gpt_infer.h: GPT-2 over new tokens only, keys/values from the cache.
// Mirrors Gpt::forward line by line (see gpt.cpp); the only differences are the cached
// attention, that the final LayerNorm and the tied head run on the last rows only, and
// that the matrices may be stored in a reduced-precision format (infer_weights.h).
//
// Two schedules of the same math. Many rows (prefills): one op at a time, each with its own
// parallel region, sgemm for the matrices. A few rows (decode steps, <= kFusedMaxRows):
// decode_fused below, the whole pass in ONE parallel region.
#include "model/gpt_infer.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "ops/ops.h"

namespace chatforge::model {
namespace {
void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// x[row] = wte[token] + wpe[position] (the token row as the head's format stores it)
void embed_row(float* x, const InferWeights& W, const GptParams& p, int32_t token, int pos, int C) {
  if (W.format() == ops::WeightFormat::kF32) {
    const float* te = p.wte + static_cast<size_t>(token) * C;
    for (int c = 0; c < C; ++c) x[c] = te[c];
  } else {
    ops::dequantize_rows(x, W.head(), token, token + 1);
  }
  const float* pe = p.wpe + static_cast<size_t>(pos) * C;
  for (int c = 0; c < C; ++c) x[c] += pe[c];
}

// A decode step as one parallel region. Per token, a region per op (10 per layer) cost a
// thread wake-up and a barrier each; here the threads stay in one region and meet at 4
// barriers per layer (after attention, attention projection, fc, fc projection). Work that
// is tiny and needed by every thread (the residual adds, LayerNorms, embeddings) is done
// redundantly by each thread on its private copy of the N rows (no barrier at all); the
// matrices are split by output channels (linear_forward_team), qkv and attention by heads.
// Measured at the GPT-2 124M shape, 2 threads: see docs/performance.md.
void decode_fused(const Gpt& model, const InferWeights& W, KvCache& cache, std::span<const InferSequence> seqs,
                  const std::vector<int>& first_row, int N, float* logits, InferScratch& s, float* row_logits) {
  const GptConfig& cfg = model.config();
  const int L = cfg.n_layer, C = cfg.n_embd, NH = cfg.n_head, Vp = cfg.padded_vocab_size(), HS = C / NH;
  const int S = static_cast<int>(seqs.size());
  const GptParams p = model.layout().views(const_cast<float*>(model.params().data()));  // read only
  const size_t NC = static_cast<size_t>(N) * C;
  grow(s.qkv, NC * 3);
  grow(s.att, NC);
  grow(s.fch, NC * 4);
  grow(s.proj, NC);
  // per thread: x (N,C) residual stream, ln (N,C), scores (up to NH heads, max_T)
  const size_t per_thread = 2 * NC + static_cast<size_t>(NH) * cache.max_T() + 16;
  grow(s.per_thread, per_thread * omp_get_max_threads());
  float* qkv = s.qkv.data();
  float* att = s.att.data();
  float* fch = s.fch.data();
  float* proj = s.proj.data();
  ops::TeamBarrier& barrier = s.barrier;
#pragma omp parallel
  {
#pragma omp single
    barrier.reset(omp_get_num_threads());  // (single ends with a libgomp barrier)
    float* x = s.per_thread.data() + per_thread * omp_get_thread_num();
    float* ln = x + NC;
    float* scores = ln + NC;
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int h0 = NH * id / nt, h1 = NH * (id + 1) / nt;  // this thread's heads
    for (int i = 0; i < S; ++i)
      for (int t = 0; t < seqs[i].n_tokens; ++t)
        embed_row(x + static_cast<size_t>(first_row[i] + t) * C, W, p, seqs[i].tokens[t],
                  cache.length(seqs[i].slot) + t, C);
    for (int l = 0; l < L; ++l) {
      const size_t lc = static_cast<size_t>(l) * C;
      // x = x + attn(ln_1(x))
      for (int r = 0; r < N; ++r) ops::layernorm_row(ln + r * C, x + r * C, p.ln1w + lc, p.ln1b + lc, C);
      // Each thread owns heads [h0, h1): it computes their q, k and v channels itself, so
      // their attention can follow with no barrier in between (12 fewer barriers a token).
      for (int part = 0; part < 3; ++part)
        ops::linear_forward_range(qkv, ln, W.qkv(l), p.qkvb + lc * 3, N, part * C + h0 * HS, part * C + h1 * HS,
                                  false);
      if (h0 < h1)
        for (int i = 0; i < S; ++i) {
          const InferSequence& q = seqs[i];
          const int row = first_row[i], pos0 = cache.length(q.slot);
          float* kc = cache.keys(l, q.slot);
          float* vc = cache.values(l, q.slot);
          const size_t nbytes = sizeof(float) * (h1 - h0) * HS;
          for (int t = 0; t < q.n_tokens; ++t) {  // these heads' slice of the new keys/values
            const float* r = qkv + static_cast<size_t>(row + t) * 3 * C + h0 * HS;
            std::memcpy(kc + static_cast<size_t>(pos0 + t) * C + h0 * HS, r + C, nbytes);
            std::memcpy(vc + static_cast<size_t>(pos0 + t) * C + h0 * HS, r + 2 * C, nbytes);
          }
          ops::attention_cached_heads(att + static_cast<size_t>(row) * C, C, qkv + static_cast<size_t>(row) * 3 * C,
                                      3 * C, kc, vc, pos0, q.n_tokens, C, NH, h0, h1, scores);
        }
      barrier.wait();  // att complete
      ops::linear_forward_team(proj, att, W.attproj(l), p.attprojb + lc, N, false);
      barrier.wait();
      for (size_t i = 0; i < NC; ++i) x[i] += proj[i];
      // x = x + mlp(ln_2(x))
      for (int r = 0; r < N; ++r) ops::layernorm_row(ln + r * C, x + r * C, p.ln2w + lc, p.ln2b + lc, C);
      ops::linear_forward_team(fch, ln, W.fc(l), p.fcb + lc * 4, N, true);
      barrier.wait();
      ops::linear_forward_team(proj, fch, W.fcproj(l), p.fcprojb + lc, N, false);
      barrier.wait();
      for (size_t i = 0; i < NC; ++i) x[i] += proj[i];
    }
    if (row_logits != nullptr) {  // every row -> ln_f -> tied head; the last rows are copied out
      for (int r = 0; r < N; ++r) ops::layernorm_row(ln + r * C, x + r * C, p.lnfw, p.lnfb, C);
      ops::linear_forward_team(row_logits, ln, W.head(), nullptr, N, false);
      barrier.wait();
#pragma omp single
      for (int i = 0; i < S; ++i)
        std::memcpy(logits + static_cast<size_t>(i) * Vp,
                    row_logits + static_cast<size_t>(first_row[i] + seqs[i].n_tokens - 1) * Vp, sizeof(float) * Vp);
    } else {  // the last new row of each sequence -> ln_f -> tied head
      for (int i = 0; i < S; ++i)
        ops::layernorm_row(ln + static_cast<size_t>(i) * C, x + static_cast<size_t>(first_row[i] + seqs[i].n_tokens - 1) * C,
                      p.lnfw, p.lnfb, C);
      ops::linear_forward_team(logits, ln, W.head(), nullptr, S, false);
    }
  }
}

// Prefills: one op at a time over all N rows.
void forward_by_ops(const Gpt& model, const InferWeights& W, KvCache& cache, std::span<const InferSequence> seqs,
                    int N, float* logits, InferScratch& s, float* row_logits) {
  const GptConfig& cfg = model.config();
  const int L = cfg.n_layer, C = cfg.n_embd, NH = cfg.n_head;
  const int S = static_cast<int>(seqs.size());
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
  {
    int row = 0;
    for (const InferSequence& q : seqs)
      for (int t = 0; t < q.n_tokens; ++t, ++row)
        embed_row(s.x.data() + static_cast<size_t>(row) * C, W, w, q.tokens[t], cache.length(q.slot) + t, C);
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
    ops::linear_forward(qkv, ln, W.qkv(l), w.qkvb + lc * 3, N);
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
    ops::linear_forward(ln, att, W.attproj(l), w.attprojb + lc, N);
    ops::residual_forward(x, x, ln, NC);
    // x = x + mlp(ln_2(x))
    ops::layernorm_forward(ln, s.mean.data(), s.rstd.data(), x, w.ln2w + lc, w.ln2b + lc, N, C);
    ops::linear_forward(fch, ln, W.fc(l), w.fcb + lc * 4, N, /*gelu=*/true);
    ops::linear_forward(ln, fch, W.fcproj(l), w.fcprojb + lc, N);
    ops::residual_forward(x, x, ln, NC);
  }
  if (row_logits != nullptr) {  // every row -> ln_f -> tied head
    ops::layernorm_forward(ln, s.mean.data(), s.rstd.data(), x, w.lnfw, w.lnfb, N, C);
    ops::linear_forward(row_logits, ln, W.head(), nullptr, N);
  }
  // the last new row of each sequence -> ln_f -> tied head
  int row = 0;
  for (int i = 0; i < S; ++i) {
    row += seqs[i].n_tokens;
    std::memcpy(s.last.data() + static_cast<size_t>(i) * C, x + static_cast<size_t>(row - 1) * C, sizeof(float) * C);
  }
  ops::layernorm_forward(s.lnf.data(), s.mean.data(), s.rstd.data(), s.last.data(), w.lnfw, w.lnfb, S, C);
  ops::linear_forward(logits, s.lnf.data(), W.head(), nullptr, S);
}
}  // namespace

void infer_forward(const Gpt& model, const InferWeights& weights, KvCache& cache, std::span<const InferSequence> seqs,
                   float* logits, InferScratch& s, float* row_logits) {
  const GptConfig& cfg = model.config();
  const int V = cfg.vocab_size;
  const int S = static_cast<int>(seqs.size());
  CF_CHECK(S >= 1, "infer_forward needs at least one sequence");
  CF_CHECK(weights.head().OC == cfg.padded_vocab_size() && weights.head().C == cfg.n_embd &&
               (weights.format() != ops::WeightFormat::kF32 || weights.head().data == model.params().data() +
                    model.layout().find("wte").offset),
           "inference weights do not belong to this model");
  int N = 0;
  std::vector<int> first_row;
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
    first_row.push_back(N);
    N += q.n_tokens;
  }
  if (N <= kFusedMaxRows)
    decode_fused(model, weights, cache, seqs, first_row, N, logits, s, row_logits);
  else
    forward_by_ops(model, weights, cache, seqs, N, logits, s, row_logits);
  for (const InferSequence& q : seqs) cache.set_length(q.slot, cache.length(q.slot) + q.n_tokens);
}

void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch, float* row_logits) {
  const InferWeights f32(model, ops::WeightFormat::kF32);  // views only, no copy
  infer_forward(model, f32, cache, seqs, logits, scratch, row_logits);
}

}  // namespace chatforge::model
