// Implementation of gpt_cached.h: the block over new tokens only, keys/values from the
// cache, written once (cached_forward) and run by two executors. Mirrors Gpt::forward
// (gpt.cpp); the differences are the cached attention, that the final LayerNorm and the
// tied head run on the last rows only, and that the matrices may be stored in a
// reduced-precision format (infer_weights.h).
#include "model/gpt_cached.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/ops.h"

namespace chatforge::model {
namespace {

using ops::Activation;

// The pass every executor runs: embeddings, the blocks, the head.
template <class Ex>
void cached_forward(Ex& ex, const GptParams& p, const InferWeights& W, int L, int C) {
  ex.embed(W.head(), p.wpe);
  for (int l = 0; l < L; ++l) {
    const size_t lc = static_cast<size_t>(l) * C;
    // x = x + attn(ln_1(x))
    ex.norm(ex.ln, ex.x, p.ln1w + lc, p.ln1b + lc);
    ex.attention(l, ex.att, ex.ln, W.qkv(l), p.qkvb + lc * 3);
    ex.linear(ex.proj, ex.att, W.attproj(l), p.attprojb + lc, Activation::kNone);
    ex.add(ex.x, ex.proj);
    // x = x + mlp(ln_2(x))
    ex.norm(ex.ln, ex.x, p.ln2w + lc, p.ln2b + lc);
    ex.linear(ex.fch, ex.ln, W.fc(l), p.fcb + lc * 4, Activation::kGelu);
    ex.linear(ex.proj, ex.fch, W.fcproj(l), p.fcprojb + lc, Activation::kNone);
    ex.add(ex.x, ex.proj);
  }
  // ln_f -> tied head on the last new row of each sequence (and on every row when asked)
  ex.head(p.lnfw, p.lnfb, W.head());
}

// What both executors know about the pass.
struct Pass {
  const GptConfig& cfg;
  KvCache& cache;
  std::span<const InferSequence> seqs;
  const std::vector<int>& first_row;  // row of each sequence's first new token
  int N;                              // new tokens of all sequences
  const int32_t* ids;                 // (N) host
  const int32_t* pos;                 // (N) host: absolute positions
  float* logits;                      // (S, Vp) host
  float* row_logits;                  // (N, Vp) host, or null
  int last_row(int i) const { return first_row[i] + seqs[i].n_tokens - 1; }
};

// Every step an op of the model's backend, over the rows of all sequences stacked.
struct BackendExec {
  ops::Backend& be;
  const Pass& pass;
  const int C, NH, Vp, S;
  float *x, *ln, *qkv, *att, *fch, *proj, *mean, *rstd, *last, *out;  // backend memory

  BackendExec(ops::Backend& backend, const Pass& p, InferScratch& s)
      : be(backend), pass(p), C(p.cfg.n_embd), NH(p.cfg.n_head), Vp(p.cfg.padded_vocab_size()),
        S(static_cast<int>(p.seqs.size())) {
    const size_t N = p.N, rows_out = be.host_memory() ? 0 : (p.row_logits ? N : S) * Vp;
    const size_t per_row = 11 * static_cast<size_t>(C) + 2, need = N * per_row + S * 2 * C + rows_out + 64 * 12;
    if (s.rows.bytes() < need * sizeof(float)) s.rows.reset(be, need * sizeof(float));
    float* q = s.rows.data();
    auto take = [&](size_t n) {
      float* r = q;
      q += (n + 63) / 64 * 64;
      return r;
    };
    x = take(N * C), ln = take(N * C), qkv = take(N * 3 * C), att = take(N * C), fch = take(N * 4 * C);
    proj = take(N * C), mean = take(N), rstd = take(N), last = take(S * C);
    out = be.host_memory() ? nullptr : take(rows_out);
  }
  void embed(const ops::WeightMatrix& table, const float* wpe) {
    be.embedding_rows(x, pass.ids, pass.pos, table, wpe, pass.N);
  }
  void norm(float* o, const float* in, const float* w, const float* b) {
    be.layernorm_forward(o, mean, rstd, in, w, b, pass.N, C);
  }
  void attention(int l, float* o, const float* in, const ops::WeightMatrix& wqkv, const float* bqkv) {
    be.linear_forward(qkv, in, wqkv, bqkv, pass.N, Activation::kNone);
    const size_t f = sizeof(float);
    for (size_t i = 0; i < pass.seqs.size(); ++i) {
      const InferSequence& q = pass.seqs[i];
      const int row = pass.first_row[i], pos0 = pass.cache.length(q.slot);
      float* kc = pass.cache.keys(l, q.slot);
      float* vc = pass.cache.values(l, q.slot);
      const float* r = qkv + static_cast<size_t>(row) * 3 * C;
      be.copy_rows(kc + static_cast<size_t>(pos0) * C, C * f, r + C, 3 * C * f, C * f, q.n_tokens);
      be.copy_rows(vc + static_cast<size_t>(pos0) * C, C * f, r + 2 * C, 3 * C * f, C * f, q.n_tokens);
      be.attention_cached_forward(o + static_cast<size_t>(row) * C, C, r, 3 * C, kc, vc, pos0, q.n_tokens, C, NH);
    }
  }
  void linear(float* o, const float* in, const ops::WeightMatrix& w, const float* bias, Activation act) {
    be.linear_forward(o, in, w, bias, pass.N, act);
  }
  void add(float* a, const float* b) { be.residual_forward(a, a, b, static_cast<size_t>(pass.N) * C); }
  void head(const float* lnfw, const float* lnfb, const ops::WeightMatrix& wte) {
    const size_t row_bytes = static_cast<size_t>(Vp) * sizeof(float);
    if (pass.row_logits != nullptr) {  // every row -> ln_f -> head; the last rows are copied out
      be.layernorm_forward(ln, mean, rstd, x, lnfw, lnfb, pass.N, C);
      float* dst = out ? out : pass.row_logits;
      be.linear_forward(dst, ln, wte, nullptr, pass.N, Activation::kNone);
      if (out) be.download(pass.row_logits, out, pass.N * row_bytes);
      for (int i = 0; i < S; ++i)
        std::memcpy(pass.logits + static_cast<size_t>(i) * Vp,
                    pass.row_logits + static_cast<size_t>(pass.last_row(i)) * Vp, row_bytes);
      return;
    }
    for (int i = 0; i < S; ++i)  // the last new row of each sequence
      be.copy(last + static_cast<size_t>(i) * C, x + static_cast<size_t>(pass.last_row(i)) * C, C * sizeof(float));
    be.layernorm_forward(ln, mean, rstd, last, lnfw, lnfb, S, C);
    float* dst = out ? out : pass.logits;
    be.linear_forward(dst, ln, wte, nullptr, S, Activation::kNone);
    if (out) be.download(pass.logits, out, S * row_bytes);
  }
};

// The CPU team: every thread of one parallel region runs the whole pass with its own
// executor. Work that is tiny and needed by every thread (embeddings, residual adds,
// LayerNorms) is done redundantly on each thread's private copy of the N rows (no
// barrier); the matrices are split by output channels (linear_forward_team), q/k/v and
// attention by heads: a thread computes its heads' q, k, v channels and goes straight on
// to their attention. One barrier after attention and after each matrix: 4 per layer
// (a region per op cost a thread wake-up and a barrier each, ~10 per layer).
struct TeamExec {
  const Pass& pass;
  const int C, NH, HS, Vp, S, h0, h1;  // this thread's heads [h0, h1)
  float *x, *ln, *scores;              // this thread's own
  float *qkv, *att, *fch, *proj;       // shared
  ops::TeamBarrier& barrier;

  TeamExec(const Pass& p, InferScratch& s, size_t per_thread)
      : pass(p), C(p.cfg.n_embd), NH(p.cfg.n_head), HS(C / NH), Vp(p.cfg.padded_vocab_size()),
        S(static_cast<int>(p.seqs.size())), h0(NH * omp_get_thread_num() / omp_get_num_threads()),
        h1(NH * (omp_get_thread_num() + 1) / omp_get_num_threads()), barrier(s.barrier) {
    x = s.per_thread.data() + per_thread * omp_get_thread_num();
    ln = x + static_cast<size_t>(p.N) * C;
    scores = ln + static_cast<size_t>(p.N) * C;
    qkv = s.qkv.data(), att = s.att.data(), fch = s.fch.data(), proj = s.proj.data();
  }
  void embed(const ops::WeightMatrix& table, const float* wpe) {
    ops::cpu_backend().embedding_rows(x, pass.ids, pass.pos, table, wpe, pass.N);
  }
  void norm(float* o, const float* in, const float* w, const float* b) {
    for (int r = 0; r < pass.N; ++r) ops::layernorm_row(o + static_cast<size_t>(r) * C, in + static_cast<size_t>(r) * C, w, b, C);
  }
  void attention(int l, float* o, const float* in, const ops::WeightMatrix& wqkv, const float* bqkv) {
    for (int part = 0; part < 3; ++part)  // q, k and v channels of this thread's heads
      ops::linear_forward_range(qkv, in, wqkv, bqkv, pass.N, part * C + h0 * HS, part * C + h1 * HS, false);
    if (h0 < h1)
      for (size_t i = 0; i < pass.seqs.size(); ++i) {
        const InferSequence& q = pass.seqs[i];
        const int row = pass.first_row[i], pos0 = pass.cache.length(q.slot);
        float* kc = pass.cache.keys(l, q.slot);
        float* vc = pass.cache.values(l, q.slot);
        const size_t nbytes = sizeof(float) * (h1 - h0) * HS;
        for (int t = 0; t < q.n_tokens; ++t) {  // these heads' slice of the new keys/values
          const float* r = qkv + static_cast<size_t>(row + t) * 3 * C + h0 * HS;
          std::memcpy(kc + static_cast<size_t>(pos0 + t) * C + h0 * HS, r + C, nbytes);
          std::memcpy(vc + static_cast<size_t>(pos0 + t) * C + h0 * HS, r + 2 * C, nbytes);
        }
        ops::attention_cached_heads(o + static_cast<size_t>(row) * C, C, qkv + static_cast<size_t>(row) * 3 * C,
                                    3 * C, kc, vc, pos0, q.n_tokens, C, NH, h0, h1, scores);
      }
    barrier.wait();  // o complete
  }
  void linear(float* o, const float* in, const ops::WeightMatrix& w, const float* bias, Activation act) {
    ops::linear_forward_team(o, in, w, bias, pass.N, act == Activation::kGelu);
    barrier.wait();
  }
  void add(float* a, const float* b) {
    const size_t n = static_cast<size_t>(pass.N) * C;
    for (size_t i = 0; i < n; ++i) a[i] += b[i];
  }
  void head(const float* lnfw, const float* lnfb, const ops::WeightMatrix& wte) {
    if (pass.row_logits != nullptr) {  // every row -> ln_f -> head; the last rows are copied out
      norm(ln, x, lnfw, lnfb);
      ops::linear_forward_team(pass.row_logits, ln, wte, nullptr, pass.N, false);
      barrier.wait();
#pragma omp single
      for (int i = 0; i < S; ++i)
        std::memcpy(pass.logits + static_cast<size_t>(i) * Vp,
                    pass.row_logits + static_cast<size_t>(pass.last_row(i)) * Vp, sizeof(float) * Vp);
      return;
    }
    for (int i = 0; i < S; ++i)  // the last new row of each sequence
      ops::layernorm_row(ln + static_cast<size_t>(i) * C, x + static_cast<size_t>(pass.last_row(i)) * C, lnfw, lnfb, C);
    ops::linear_forward_team(pass.logits, ln, wte, nullptr, S, false);
  }
};

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void run_team(const Pass& pass, const GptParams& p, const InferWeights& W, InferScratch& s) {
  const size_t C = pass.cfg.n_embd, NC = static_cast<size_t>(pass.N) * C;
  grow(s.qkv, NC * 3);
  grow(s.att, NC);
  grow(s.fch, NC * 4);
  grow(s.proj, NC);
  // per thread: x (N,C) residual stream, ln (N,C), scores (up to NH heads, max_T)
  const size_t per_thread = 2 * NC + static_cast<size_t>(pass.cfg.n_head) * pass.cache.max_T() + 16;
  grow(s.per_thread, per_thread * omp_get_max_threads());
#pragma omp parallel
  {
#pragma omp single
    s.barrier.reset(omp_get_num_threads());  // (single ends with a libgomp barrier)
    TeamExec ex(pass, s, per_thread);
    cached_forward(ex, p, W, pass.cfg.n_layer, pass.cfg.n_embd);
  }
}

}  // namespace

void infer_forward(const Gpt& model, const InferWeights& weights, KvCache& cache, std::span<const InferSequence> seqs,
                   float* logits, InferScratch& s, float* row_logits, CachedSchedule schedule) {
  const GptConfig& cfg = model.config();
  const int V = cfg.vocab_size;
  CF_CHECK(!seqs.empty(), "infer_forward needs at least one sequence");
  CF_CHECK(weights.belongs_to(model), "inference weights do not belong to this model");
  CF_CHECK(&cache.backend() == &model.backend(), "the KV cache is on another backend than the model");
  int N = 0;
  std::vector<int> first_row;
  std::vector<char> seen(cache.max_batch(), 0);
  s.ids.clear();
  s.pos.clear();
  for (const InferSequence& q : seqs) {
    CF_CHECK(q.slot >= 0 && q.slot < cache.max_batch(), "KV cache slot {} out of range 0..{}", q.slot,
             cache.max_batch() - 1);
    CF_CHECK(!seen[q.slot], "KV cache slot {} appears twice in one forward pass", q.slot);
    seen[q.slot] = 1;
    CF_CHECK(q.n_tokens >= 1, "a sequence needs at least one new token");
    CF_CHECK(cache.length(q.slot) + q.n_tokens <= cache.max_T(),
             "sequence of {} tokens exceeds the context of {} tokens", cache.length(q.slot) + q.n_tokens,
             cache.max_T());
    for (int t = 0; t < q.n_tokens; ++t) {
      CF_CHECK(q.tokens[t] >= 0 && q.tokens[t] < V, "token id {} is outside the vocabulary (size {})", q.tokens[t],
               V);
      s.ids.push_back(q.tokens[t]);
      s.pos.push_back(cache.length(q.slot) + t);
    }
    first_row.push_back(N);
    N += q.n_tokens;
  }
  const Pass pass{cfg, cache, seqs, first_row, N, s.ids.data(), s.pos.data(), logits, row_logits};
  const GptParams p = model.layout().views(model.device_params());  // read only
  const bool on_cpu = &model.backend() == &ops::cpu_backend();
  if (schedule == CachedSchedule::kAuto) schedule = on_cpu && N <= kFusedMaxRows ? CachedSchedule::kTeam : CachedSchedule::kBackend;
  if (schedule == CachedSchedule::kTeam) {
    CF_CHECK(on_cpu, "the team schedule runs on the CPU backend only");
    run_team(pass, p, weights, s);
  } else {
    BackendExec ex(model.backend(), pass, s);
    cached_forward(ex, p, weights, cfg.n_layer, cfg.n_embd);
  }
  for (const InferSequence& q : seqs) cache.set_length(q.slot, cache.length(q.slot) + q.n_tokens);
}

void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch, float* row_logits) {
  const InferWeights f32(model, ops::WeightFormat::kF32);  // views only, no copy
  infer_forward(model, f32, cache, seqs, logits, scratch, row_logits);
}

}  // namespace chatforge::model
