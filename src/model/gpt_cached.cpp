// Implementation of gpt_cached.h: the block over new tokens only, keys/values from the
// cache, written once (cached_forward) and run by two executors. Mirrors Gpt::forward
// (gpt.cpp); the differences are the cached attention, that the final norm and the head
// run on the last rows only, and that the matrices may be stored in a reduced-precision
// format (infer_weights.h). LoRA deltas (lora_bank.h) are added by the backend executor right
// after each adapted projection, before its activation.
#include "model/gpt_cached.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "ops/ops.h"

namespace chatforge::model {
namespace {

using ops::Activation;

// What both executors know about the pass.
struct Pass {
  const GptConfig& cfg;
  const Gpt& model;
  KvCache& cache;
  std::span<const InferSequence> seqs;
  const std::vector<int>& first_row;  // row of each sequence's first new token
  int N;                              // new tokens of all sequences
  const int32_t* ids;                 // (N) host
  const int32_t* pos;                 // (N) host: absolute positions
  float* logits;                      // (S, Vp) host
  float* row_logits;                  // (N, Vp) host, or null
  const LoraBank* lora;               // null when no sequence of the pass uses an adapter
  const std::vector<LoraRowRun>& lora_runs;  // the adapted sequences' rows
  int last_row(int i) const { return first_row[i] + seqs[i].n_tokens - 1; }
};

// Layer l's small fp32 tensors (null where the architecture has none).
struct LayerVectors {
  const float *ln1w, *ln1b, *qkvb, *qnormw, *knormw, *attprojb, *ln2w, *ln2b, *fcb, *fcprojb;
};
LayerVectors layer_vectors(const GptParams& p, const GptConfig& cfg, int l) {
  const size_t L = l, C = cfg.n_embd, HS = cfg.head_size();
  auto at = [](const float* base, size_t off) { return base != nullptr ? base + off : nullptr; };
  return {p.ln1w + L * C,          at(p.ln1b, L * C),       at(p.qkvb, L * cfg.qkv_dim()), at(p.qnormw, L * HS),
          at(p.knormw, L * HS),    at(p.attprojb, L * C),   p.ln2w + L * C,               at(p.ln2b, L * C),
          at(p.fcb, L * cfg.ffn_up_rows()), at(p.fcprojb, L * C)};
}

// The pass every executor runs: embeddings, the blocks (GPT-2's or the Llama family's),
// the head. Mirrors Gpt::gpt2_layer_forward / llama_layer_forward.
template <class Ex>
void cached_forward(Ex& ex, const GptParams& p, const InferWeights& W, const GptConfig& cfg) {
  ex.embed(W.embedding(), p.wpe);  // Llama: no position table (wpe null)
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerVectors v = layer_vectors(p, cfg, l);
    // x = x + attn(norm_1(x))
    ex.norm(ex.ln, ex.x, v.ln1w, v.ln1b);
    ex.attention(l, ex.att, ex.ln, W.qkv(l), v);
    ex.linear(ex.proj, ex.att, W.attproj(l), v.attprojb, Activation::kNone, l, LoraSite::kAttnOut);
    ex.add(ex.x, ex.proj);
    // x = x + mlp(norm_2(x))
    ex.norm(ex.ln, ex.x, v.ln2w, v.ln2b);
    if (cfg.llama()) {  // down(silu(gate) * up)
      ex.gate_up_swiglu(l, ex.act, ex.fch, ex.ln, W.fc(l));
      ex.linear(ex.proj, ex.act, W.fcproj(l), nullptr, Activation::kNone, l, LoraSite::kMlpDown);
    } else {
      ex.linear(ex.fch, ex.ln, W.fc(l), v.fcb, Activation::kGelu, l, LoraSite::kMlpUp);
      ex.linear(ex.proj, ex.fch, W.fcproj(l), v.fcprojb, Activation::kNone, l, LoraSite::kMlpDown);
    }
    ex.add(ex.x, ex.proj);
  }
  // norm_f -> head on the last new row of each sequence (and on every row when asked)
  ex.head(p.lnfw, p.lnfb, W.head());
}

// The model's sizes, named once for both executors.
struct Dims {
  int C, NH, NKV, HS, Q, KV, QKV, U, F, Vp;
  float eps;
  bool llama, qk_norm;
  explicit Dims(const GptConfig& c)
      : C(c.n_embd), NH(c.n_head), NKV(c.kv_heads()), HS(c.head_size()), Q(c.q_dim()), KV(c.kv_dim()),
        QKV(c.qkv_dim()), U(c.ffn_up_rows()), F(c.ffn()), Vp(c.padded_vocab_size()),
        eps(static_cast<float>(c.norm_eps)), llama(c.llama()), qk_norm(c.qk_norm) {}
};

// Every step an op of the model's backend, over the rows of all sequences stacked.
struct BackendExec {
  ops::Backend& be;
  const Pass& pass;
  const Dims d;
  const int S;
  float *x, *ln, *qkv, *att, *fch, *act, *proj, *mean, *rstd, *qk_rstd, *last, *out;  // backend memory
  int32_t* pos;  // (N) backend copy of the positions (rotary angles)

  BackendExec(ops::Backend& backend, const Pass& p, InferScratch& s)
      : be(backend), pass(p), d(p.cfg), S(static_cast<int>(p.seqs.size())) {
    const size_t N = p.N, rows_out = be.host_memory() ? 0 : (p.row_logits ? N : S) * d.Vp;
    const size_t per_row = 3 * static_cast<size_t>(d.C) + d.QKV + d.Q + d.U + d.F + 3 + d.NH + d.NKV;
    const size_t need = N * per_row + S * 2 * d.C + rows_out + 64 * 14;
    if (s.rows.bytes() < need * sizeof(float)) s.rows.reset(be, need * sizeof(float));
    float* q = s.rows.data();
    auto take = [&](size_t n) {
      float* r = q;
      q += (n + 63) / 64 * 64;
      return r;
    };
    x = take(N * d.C), ln = take(N * d.C), qkv = take(N * d.QKV), att = take(N * d.Q), fch = take(N * d.U);
    act = take(N * d.F), proj = take(N * d.C), mean = take(N), rstd = take(N), qk_rstd = take(N * (d.NH + d.NKV));
    pos = reinterpret_cast<int32_t*>(take(N)), last = take(S * d.C);
    out = be.host_memory() ? nullptr : take(rows_out);
    if (d.llama) be.upload(pos, p.pos, N * sizeof(int32_t));
  }
  void embed(const ops::WeightMatrix& table, const float* wpe) {
    be.embedding_rows(x, pass.ids, pass.pos, table, wpe, pass.N);
  }
  void norm_rows(float* o, const float* in, const float* w, const float* b, int n) {
    if (d.llama)
      be.rmsnorm_forward(o, rstd, in, w, n, 1, d.C, d.C, d.eps);
    else
      be.layernorm_forward(o, mean, rstd, in, w, b, n, d.C);
  }
  void norm(float* o, const float* in, const float* w, const float* b) { norm_rows(o, in, w, b, pass.N); }
  void attention(int l, float* o, const float* in, const ops::WeightMatrix& wqkv, const LayerVectors& v) {
    const int N = pass.N;
    be.linear_forward(qkv, in, wqkv, v.qkvb, N, Activation::kNone);
    lora_delta(l, LoraSite::kQkv, qkv, d.QKV, in);  // before the q/k norms and the rotation
    if (d.qk_norm) {  // in place, per head
      be.rmsnorm_forward(qkv, qk_rstd, qkv, v.qnormw, N, d.NH, d.HS, d.QKV, d.eps);
      be.rmsnorm_forward(qkv + d.Q, qk_rstd, qkv + d.Q, v.knormw, N, d.NKV, d.HS, d.QKV, d.eps);
    }
    if (d.llama)
      be.rope_forward(qkv, pos, pass.model.rope_inv_freq(), pass.model.rope_scale(), N, d.NH + d.NKV, d.HS, d.QKV);
    const size_t f = sizeof(float);
    for (size_t i = 0; i < pass.seqs.size(); ++i) {
      const InferSequence& q = pass.seqs[i];
      const int row = pass.first_row[i], pos0 = pass.cache.length(q.slot);
      float* kc = pass.cache.keys(l, q.slot);
      float* vc = pass.cache.values(l, q.slot);
      const float* r = qkv + static_cast<size_t>(row) * d.QKV;
      be.copy_rows(kc + static_cast<size_t>(pos0) * d.KV, d.KV * f, r + d.Q, d.QKV * f, d.KV * f, q.n_tokens);
      be.copy_rows(vc + static_cast<size_t>(pos0) * d.KV, d.KV * f, r + d.Q + d.KV, d.QKV * f, d.KV * f, q.n_tokens);
      be.attention_cached_forward(o + static_cast<size_t>(row) * d.Q, d.Q, r, d.QKV, kc, vc, pos0, q.n_tokens, d.NH,
                                  d.NKV, d.HS);
    }
  }
  // out (N, ld) += the adapters' deltas at (layer, site) for the adapted rows
  void lora_delta(int l, LoraSite site, float* out, int ld, const float* in) {
    if (pass.lora) pass.lora->apply(l, site, out, ld, in, pass.lora_runs);
  }
  void linear(float* o, const float* in, const ops::WeightMatrix& w, const float* bias, Activation a, int l,
              LoraSite site) {
    if (!pass.lora) return be.linear_forward(o, in, w, bias, pass.N, a);
    // the delta goes in before the activation: gelu(x W^T + b + delta)
    be.linear_forward(o, in, w, bias, pass.N, Activation::kNone);
    lora_delta(l, site, o, w.OC, in);
    if (a == Activation::kGelu) be.gelu_forward(o, o, static_cast<size_t>(pass.N) * w.OC);
  }
  // act = silu(gate) * up, with fch = in * [gate; up]^T (N, 2F) in between
  void gate_up_swiglu(int l, float* o, float* fch_out, const float* in, const ops::WeightMatrix& w) {
    be.linear_forward(fch_out, in, w, nullptr, pass.N, Activation::kNone);
    lora_delta(l, LoraSite::kMlpUp, fch_out, 2 * d.F, in);
    be.swiglu_forward(o, fch_out, pass.N, d.F);
  }
  void add(float* a, const float* b) { be.residual_forward(a, a, b, static_cast<size_t>(pass.N) * d.C); }
  void head(const float* lnfw, const float* lnfb, const ops::WeightMatrix& w) {
    const size_t row_bytes = static_cast<size_t>(d.Vp) * sizeof(float);
    if (pass.row_logits != nullptr) {  // every row -> norm_f -> head; the last rows are copied out
      norm_rows(ln, x, lnfw, lnfb, pass.N);
      float* dst = out ? out : pass.row_logits;
      be.linear_forward(dst, ln, w, nullptr, pass.N, Activation::kNone);
      if (out) be.download(pass.row_logits, out, pass.N * row_bytes);
      for (int i = 0; i < S; ++i)
        std::memcpy(pass.logits + static_cast<size_t>(i) * d.Vp,
                    pass.row_logits + static_cast<size_t>(pass.last_row(i)) * d.Vp, row_bytes);
      return;
    }
    for (int i = 0; i < S; ++i)  // the last new row of each sequence
      be.copy(last + static_cast<size_t>(i) * d.C, x + static_cast<size_t>(pass.last_row(i)) * d.C, d.C * sizeof(float));
    norm_rows(ln, last, lnfw, lnfb, S);
    float* dst = out ? out : pass.logits;
    be.linear_forward(dst, ln, w, nullptr, S, Activation::kNone);
    if (out) be.download(pass.logits, out, S * row_bytes);
  }
};

// The CPU team: every thread of one parallel region runs the whole pass with its own
// executor. Work that is tiny and needed by every thread (embeddings, residual adds,
// norms) is done redundantly on each thread's private copy of the N rows (no barrier);
// the matrices are split by output channels (linear_forward_team), q/k/v and attention by
// key/value heads (with the query heads that read them): a thread computes its heads' q,
// k, v channels, their norms and rotation, and goes straight on to their attention. One
// barrier after attention and after each matrix: 4 per layer (SwiGLU too: a thread
// computes the gate and the up rows of its share of the F columns, gate_up_swiglu).
struct TeamExec {
  const Pass& pass;
  const Dims d;
  const int S, g0, g1, h0, h1;  // this thread's key/value heads [g0, g1), query heads [h0, h1)
  float *x, *ln, *scores;       // this thread's own
  float *qkv, *att, *fch, *act, *proj;  // shared
  ops::TeamBarrier& barrier;

  TeamExec(const Pass& p, InferScratch& s, size_t per_thread)
      : pass(p), d(p.cfg), S(static_cast<int>(p.seqs.size())),
        g0(d.NKV * omp_get_thread_num() / omp_get_num_threads()),
        g1(d.NKV * (omp_get_thread_num() + 1) / omp_get_num_threads()), h0(g0 * (d.NH / d.NKV)),
        h1(g1 * (d.NH / d.NKV)), barrier(s.barrier) {
    x = s.per_thread.data() + per_thread * omp_get_thread_num();
    ln = x + static_cast<size_t>(p.N) * d.C;
    scores = ln + static_cast<size_t>(p.N) * d.C;
    qkv = s.qkv.data(), att = s.att.data(), fch = s.fch.data(), act = s.act.data(), proj = s.proj.data();
  }
  void embed(const ops::WeightMatrix& table, const float* wpe) {
    ops::cpu_backend().embedding_rows(x, pass.ids, pass.pos, table, wpe, pass.N);
  }
  void norm_row(float* o, const float* in, const float* w, const float* b) {
    if (d.llama)
      ops::rmsnorm_row(o, in, w, d.C, d.eps);
    else
      ops::layernorm_row(o, in, w, b, d.C);
  }
  void norm(float* o, const float* in, const float* w, const float* b) {
    for (int r = 0; r < pass.N; ++r)
      norm_row(o + static_cast<size_t>(r) * d.C, in + static_cast<size_t>(r) * d.C, w, b);
  }
  // This thread's q heads and k heads of the new rows: per-head norms (Qwen3), rotation.
  void norm_and_rotate(const LayerVectors& v) {
    const int N = pass.N;
    for (int r = 0; r < N; ++r) {
      float* row = qkv + static_cast<size_t>(r) * d.QKV;
      if (d.qk_norm) {
        for (int h = h0; h < h1; ++h) ops::rmsnorm_row(row + h * d.HS, row + h * d.HS, v.qnormw, d.HS, d.eps);
        for (int g = g0; g < g1; ++g)
          ops::rmsnorm_row(row + d.Q + g * d.HS, row + d.Q + g * d.HS, v.knormw, d.HS, d.eps);
      }
    }
    const float* inv = pass.model.rope_inv_freq();
    const float sc = pass.model.rope_scale();
    ops::rope_forward(qkv + h0 * d.HS, pass.pos, inv, sc, N, h1 - h0, d.HS, d.QKV);
    ops::rope_forward(qkv + d.Q + g0 * d.HS, pass.pos, inv, sc, N, g1 - g0, d.HS, d.QKV);
  }
  void attention(int l, float* o, const float* in, const ops::WeightMatrix& wqkv, const LayerVectors& v) {
    const int N = pass.N;
    // q, k and v channels of this thread's heads
    ops::linear_forward_range(qkv, in, wqkv, v.qkvb, N, h0 * d.HS, h1 * d.HS, false);
    ops::linear_forward_range(qkv, in, wqkv, v.qkvb, N, d.Q + g0 * d.HS, d.Q + g1 * d.HS, false);
    ops::linear_forward_range(qkv, in, wqkv, v.qkvb, N, d.Q + d.KV + g0 * d.HS, d.Q + d.KV + g1 * d.HS, false);
    if (d.llama && g0 < g1) norm_and_rotate(v);
    if (g0 < g1)
      for (size_t i = 0; i < pass.seqs.size(); ++i) {
        const InferSequence& q = pass.seqs[i];
        const int row = pass.first_row[i], pos0 = pass.cache.length(q.slot);
        float* kc = pass.cache.keys(l, q.slot);
        float* vc = pass.cache.values(l, q.slot);
        const size_t nbytes = sizeof(float) * (g1 - g0) * d.HS;
        for (int t = 0; t < q.n_tokens; ++t) {  // these heads' slice of the new keys/values
          const float* r = qkv + static_cast<size_t>(row + t) * d.QKV + g0 * d.HS;
          std::memcpy(kc + static_cast<size_t>(pos0 + t) * d.KV + g0 * d.HS, r + d.Q, nbytes);
          std::memcpy(vc + static_cast<size_t>(pos0 + t) * d.KV + g0 * d.HS, r + d.Q + d.KV, nbytes);
        }
        ops::attention_cached_heads(o + static_cast<size_t>(row) * d.Q, d.Q, qkv + static_cast<size_t>(row) * d.QKV,
                                    d.QKV, kc, vc, pos0, q.n_tokens, d.NH, d.NKV, d.HS, h0, h1, scores);
      }
    barrier.wait();  // o complete
  }
  void linear(float* o, const float* in, const ops::WeightMatrix& w, const float* bias, Activation a, int,
              LoraSite) {  // adapters never run here (infer_forward picks the backend executor)
    ops::linear_forward_team(o, in, w, bias, pass.N, a == Activation::kGelu);
    barrier.wait();
  }
  // act = silu(gate) * up over this thread's share [j0, j1) of the F columns: the thread
  // computes both the gate rows [j0, j1) and the up rows [F + j0, F + j1) itself, so the
  // SwiGLU needs no barrier before it (one barrier after: the next matrix reads all F).
  void gate_up_swiglu(int, float* o, float* fch_out, const float* in, const ops::WeightMatrix& w) {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int blocks = (d.F + ops::kPanelRows - 1) / ops::kPanelRows;  // whole panels where F allows
    const int j0 = std::min(d.F, blocks * t / nt * ops::kPanelRows);
    const int j1 = std::min(d.F, blocks * (t + 1) / nt * ops::kPanelRows);
    if (j0 < j1) {
      ops::linear_forward_range(fch_out, in, w, nullptr, pass.N, j0, j1, false);
      ops::linear_forward_range(fch_out, in, w, nullptr, pass.N, d.F + j0, d.F + j1, false);
    }
    for (int r = 0; r < pass.N; ++r) {
      const float* g = fch_out + static_cast<size_t>(r) * 2 * d.F;
      float* y = o + static_cast<size_t>(r) * d.F;
      for (int j = j0; j < j1; ++j) y[j] = g[j] / (1.0f + std::exp(-g[j])) * g[d.F + j];
    }
    barrier.wait();
  }
  void add(float* a, const float* b) {
    const size_t n = static_cast<size_t>(pass.N) * d.C;
    for (size_t i = 0; i < n; ++i) a[i] += b[i];
  }
  void head(const float* lnfw, const float* lnfb, const ops::WeightMatrix& w) {
    if (pass.row_logits != nullptr) {  // every row -> norm_f -> head; the last rows are copied out
      norm(ln, x, lnfw, lnfb);
      ops::linear_forward_team(pass.row_logits, ln, w, nullptr, pass.N, false);
      barrier.wait();
#pragma omp single
      for (int i = 0; i < S; ++i)
        std::memcpy(pass.logits + static_cast<size_t>(i) * d.Vp,
                    pass.row_logits + static_cast<size_t>(pass.last_row(i)) * d.Vp, sizeof(float) * d.Vp);
      return;
    }
    for (int i = 0; i < S; ++i)  // the last new row of each sequence
      norm_row(ln + static_cast<size_t>(i) * d.C, x + static_cast<size_t>(pass.last_row(i)) * d.C, lnfw, lnfb);
    ops::linear_forward_team(pass.logits, ln, w, nullptr, S, false);
  }
};

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void run_team(const Pass& pass, const GptParams& p, const InferWeights& W, InferScratch& s) {
  const Dims d(pass.cfg);
  const size_t N = pass.N;
  grow(s.qkv, N * d.QKV);
  grow(s.att, N * d.Q);
  grow(s.fch, N * d.U);
  grow(s.act, N * d.F);
  grow(s.proj, N * d.C);
  // per thread: x (N,C) residual stream, ln (N,C), scores (up to NH heads, max_T)
  const size_t per_thread = 2 * N * d.C + static_cast<size_t>(d.NH) * pass.cache.max_T() + 16;
  grow(s.per_thread, per_thread * omp_get_max_threads());
#pragma omp parallel
  {
#pragma omp single
    s.barrier.reset(omp_get_num_threads());  // (single ends with a libgomp barrier)
    TeamExec ex(pass, s, per_thread);
    cached_forward(ex, p, W, pass.cfg);
  }
}

}  // namespace

void infer_forward(const Gpt& model, const InferWeights& weights, KvCache& cache, std::span<const InferSequence> seqs,
                   float* logits, InferScratch& s, float* row_logits, CachedSchedule schedule,
                   const LoraBank* adapters) {
  const GptConfig& cfg = model.config();
  const int V = cfg.vocab_size;
  CF_CHECK(!seqs.empty(), "infer_forward needs at least one sequence");
  CF_CHECK(weights.belongs_to(model), "inference weights do not belong to this model");
  CF_CHECK(&cache.backend() == &model.backend(), "the KV cache is on another backend than the model");
  int N = 0;
  std::vector<int> first_row;
  std::vector<char> seen(cache.max_batch(), 0);
  std::vector<LoraRowRun> runs;  // one per adapted sequence (its rows are contiguous)
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
    if (q.adapter >= 0) {
      CF_CHECK(adapters != nullptr && q.adapter < adapters->size(), "LoRA adapter {} is not loaded ({} are)",
               q.adapter, adapters ? adapters->size() : 0);
      if (!runs.empty() && runs.back().adapter == q.adapter && runs.back().row0 + runs.back().n == N)
        runs.back().n += q.n_tokens;  // neighbours with the same adapter: one delta matmul
      else
        runs.push_back({N, q.n_tokens, q.adapter});
    }
    first_row.push_back(N);
    N += q.n_tokens;
  }
  const LoraBank* lora = runs.empty() ? nullptr : adapters;
  const Pass pass{cfg, model, cache, seqs, first_row, N, s.ids.data(), s.pos.data(), logits, row_logits, lora, runs};
  const GptParams p = model.base_views();  // read only (a reduced base's matrices: in `weights`)
  const bool on_cpu = model.backend().host_memory();
  if (schedule == CachedSchedule::kAuto)
    schedule = on_cpu && N <= kFusedMaxRows && !lora ? CachedSchedule::kTeam : CachedSchedule::kBackend;
  if (schedule == CachedSchedule::kTeam) {
    CF_CHECK(!lora, "the team schedule runs without LoRA adapters only");
    CF_CHECK(on_cpu, "the team schedule runs on the CPU backend only");
    run_team(pass, p, weights, s);
  } else {
    BackendExec ex(model.backend(), pass, s);
    cached_forward(ex, p, weights, cfg);
  }
  for (const InferSequence& q : seqs) cache.set_length(q.slot, cache.length(q.slot) + q.n_tokens);
}

void infer_forward(const Gpt& model, KvCache& cache, std::span<const InferSequence> seqs, float* logits,
                   InferScratch& scratch, float* row_logits) {
  const InferWeights f32(model, ops::WeightFormat::kF32);  // views only, no copy
  infer_forward(model, f32, cache, seqs, logits, scratch, row_logits);
}

}  // namespace chatforge::model
