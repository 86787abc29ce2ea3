// ops: the only kernel interface. The model is written once against these functions;
// a backend (cpu today, cuda later) implements them. ops knows nothing about GPT.
//
// Dimension letters, used everywhere in chatforge:
//   B batch, T time (sequence), C channels, OC output channels, V vocab (real),
//   Vp vocab padded (multiple of 128), L layers, NH heads, HS head size (C / NH),
//   N = B*T rows when an op does not care about the batch/time split.
// Layout: row-major; weights of linear layers are (OC, C) like torch.nn.Linear.
//
// Accumulation rule for backward kernels (stated once, here):
//   parameter gradients      +=   (so micro-batches accumulate)
//   activation gradients     =    (overwritten)
//   the residual stream      +=   (layernorm_backward and encoder inputs add into dinp)
// Each function says which rule applies to each output.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace chatforge::ops {

// --- embeddings ---------------------------------------------------------------
// out[b,t,:] = wte[inp[b,t],:] + wpe[pos[b,t],:]
// out (B,T,C); inp (B,T) ids; pos (B,T) positions, or nullptr for pos[b,t] = t (a row
// packed with several documents restarts at 0 for each); wte (Vp,C); wpe (maxT,C), or nullptr
// for models without a position table (rotary: out = wte[inp]; encoder_backward then takes
// dwpe nullptr too)
void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                     int T, int C);
// dwte, dwpe += (parameter gradients)
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                      int T, int C);

// --- layer norm (eps 1e-5, biased variance, like torch.nn.LayerNorm) ------------
// One row on the calling thread (no parallel region: for code already inside one):
// out (C) = (x - mean) * rstd * weight + bias; mean/rstd are returned through the pointers
// when they are not null.
void layernorm_row(float* out, const float* x, const float* weight, const float* bias, int C, float* mean = nullptr,
                   float* rstd = nullptr);
// out = (inp - mean) * rstd * weight + bias;  out/inp (N,C); mean/rstd (N); weight/bias (C)
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C);
// dinp += (residual stream); dweight, dbias += (parameters)
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C);

// --- linear ---------------------------------------------------------------------
// out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias(OC); bias may be null. bf16: the GEMM
// rounds its inputs to bf16 and accumulates in fp32 (gemm_bf16), in backward too.
// gelu_out (N,OC), when not null: GELU(out) as well, fused into the GEMM (gemm.h).
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC,
                    bool bf16 = false, float* gelu_out = nullptr);
// dinp (N,C) = dout @ weight (overwritten; skipped when dinp is null);
// dweight (OC,C) += dout^T @ inp (skipped when null: a frozen weight); dbias (OC) += column
// sums of dout (skipped when null).
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, bool bf16 = false);

// --- causal self-attention, document-aware, flash style ------------------------------
// qkv (B,T,W) rows hold q | k | v: NH query heads, then NKV key and NKV value heads, of HS
// channels each (W = (NH + 2 NKV) * HS; GPT-2: NKV = NH, HS = C / NH). Query head h reads
// key/value head h / (NH / NKV) (grouped-query attention; NKV = 1 is multi-query).
// doc (B,T): document id of every token, or nullptr for one document per row. Query i
// attends to key j iff j <= i and doc[b,j] == doc[b,i] (packed rows do not leak).
// out (B,T,NH*HS) = softmax(q k^T / sqrt(HS), masked) @ v, heads concatenated.
// lse (B,NH,T): log-sum-exp of each masked, scaled score row; the only thing kept for
// backward besides q, k, v and out (no (T,T) probabilities are stored).
void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int NH, int NKV,
                       int HS);
// dqkv (B,T,W) = (overwritten). out and lse are the forward's; the probabilities are
// recomputed blockwise from q, k and lse (FlashAttention-2 backward).
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        const int32_t* doc, int B, int T, int NH, int NKV, int HS);

// --- GELU, tanh form (GPT-2's "gelu_new") --------------------------------------------
// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
void gelu_forward(float* out, const float* inp, size_t n);
// dinp = dout * gelu'(inp)  (overwritten; dinp may alias dout)
void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n);

// --- residual ---------------------------------------------------------------------
// out = a + b   (backward is the identity into both: callers add dout into the stream)
void residual_forward(float* out, const float* a, const float* b, size_t n);

// --- softmax + cross-entropy over the first V of Vp columns -------------------------
// losses (N): -log softmax(logits[i,:V])[targets[i]], 0 where mask[i] == 0 (mask may be
// null = all ones). lse (N): log-sum-exp of each row, kept for the backward pass.
// Returns the sum of the masked losses (double).
double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                            const uint8_t* mask, int N, int V, int Vp);
// In place: logits (N,Vp) become dlogits = (softmax - onehot(target)) * mask * dloss,
// columns V..Vp-1 set to 0. dloss is d(total loss)/d(token loss), e.g. 1/count.
void crossentropy_backward(float* logits_to_dlogits, const float* lse, const int32_t* targets,
                           const uint8_t* mask, float dloss, int N, int V, int Vp);

// --- optimizer ----------------------------------------------------------------------
// AdamW exactly as torch.optim.AdamW (decoupled decay), on n contiguous parameters.
// grad_scale multiplies the gradient first (global-norm clipping folds in here).
// step t counts from 1.
struct AdamWParams {
  float lr = 3e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};
void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const AdamWParams& hp, int t,
                float grad_scale);

// Sum of squares of x (double accumulation), for global-norm gradient clipping.
double sum_squares(const float* x, size_t n);
// x *= s
void scale_inplace(float* x, size_t n, float s);
// x = 0, the threads each clearing a share (one thread's memset of a 124M model's gradients
// took 55 ms, about 5% of a B=4, T=64 training step; two threads 27 ms)
void zero_fill(float* x, size_t n);

}  // namespace chatforge::ops

namespace chatforge::ops {
// The machine's measured sgemm throughput (GFLOP/s) with the current threads: the best of
// `reps` n x n x n multiplies after a warm-up one. The BLAS-relative MFU denominator of the
// benchmarks (bench_sgemm_peak); training divides by the FMA peak (cpu/fma_peak.h).
double measure_sgemm_gflops(int n = 1024, int reps = 3);
}  // namespace chatforge::ops

namespace chatforge::ops {
// The BLAS kernel family in use ("SkylakeX", "Haswell", ... as OpenBLAS names it).
const char* blas_core_name();
// When OpenBLAS did not recognise this CPU and fell back to an old kernel family (its
// generic "Prescott" SSE3 kernels are ~5x slower than the AVX-512 ones on the same CPU),
// the family this CPU supports ("SkylakeX" with AVX-512, "Haswell" with AVX2+FMA), to be
// set as OPENBLAS_CORETYPE before the library loads; nullptr when detection was fine.
const char* blas_better_coretype();
// Whether the BLAS library is OpenBLAS's OpenMP build (openblas_get_parallel() == 2), so its
// threads are libgomp's and our kernels share one pool with it (CMake links that build,
// /usr/lib/<arch>/openblas-openmp). chatforge never calls BLAS inside its own parallel
// regions, so the pool is never nested: at most OMP_NUM_THREADS threads compute.
bool blas_shares_openmp_pool();
}  // namespace chatforge::ops

namespace chatforge::ops {
// --- causal attention of new queries over a key/value cache (inference) -------------
// One sequence. q: Tq rows of leading dimension ldq, NH heads of HS channels at
// q[t*ldq + h*HS]. kcache, vcache: (pos0+Tq, NKV*HS) rows, already holding the keys/values
// of the new positions too; query head h reads key/value head h / (NH / NKV). Query t sits
// at absolute position pos0+t and attends to keys 0..pos0+t with softmax(q k^T /
// sqrt(HS)). out: Tq rows of leading dimension ldo.
void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache,
                              const float* vcache, int pos0, int Tq, int NH, int NKV, int HS);
// Query heads [h0, h1) of the above, on the calling thread (no parallel region): the unit
// of work of a fused decode step. scores: scratch of at least (h1 - h0) * (pos0 + Tq) floats.
void attention_cached_heads(float* out, int ldo, const float* q, int ldq, const float* kcache,
                            const float* vcache, int pos0, int Tq, int NH, int NKV, int HS, int h0, int h1,
                            float* scores);
}  // namespace chatforge::ops

namespace chatforge::ops {
// --- linear layer for a few rows (decode) ----------------------------------------------
// Same contract as matmul_forward: out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias(OC), bias
// may be null. Made for small N (one row per sequence while decoding): the weight is
// streamed from memory once for all N rows, threads split the output channels. Slower than
// matmul_forward beyond a dozen rows or so.
void matvec_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC);
}  // namespace chatforge::ops

namespace chatforge::ops {
// --- weights stored in a reduced-precision format (inference only) --------------------
// Decoding reads every weight once per token, so halving the bytes per weight nearly
// doubles the speed. Activations and accumulation stay fp32; only the stored weights are
// rounded. kF16: IEEE half (round to nearest even; GPT weights are far inside its range).
// kBF16: bfloat16 (fp32 with the low 16 mantissa bits rounded off, to nearest even).
// kInt8: per output row, w[j][c] = scale[j] * q[j][c], q in [-127, 127],
// scale[j] = max_c |w[j][c]| / 127 (symmetric, rounded to nearest).
enum class WeightFormat : uint8_t { kF32, kF16, kBF16, kInt8 };
// "f32", "f16", "bf16", "int8" (inline: backends that cannot link cf_ops use it too).
inline const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kF16: return "f16";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kInt8: return "int8";
  }
  return "?";
}
// Parses a name above; false for anything else.
bool parse_weight_format(const char* name, WeightFormat* out);
size_t weight_format_bytes(WeightFormat f);  // bytes per stored weight: 4, 2, 2, 1

// A (OC, C) matrix of linear-layer weights (torch.nn.Linear layout) in some format.
// kF32 is row-major (a view of the model's own parameters). The reduced formats are stored
// in row PANELS, the order the batch-1 matvec reads them: rows in panels of kPanelRows
// (the last panel padded with zero rows), each panel in column chunks of kPanelCols (the
// last one C % kPanelCols wide), a chunk holding its rows one after another. Element
// (j, c) sits at panel_index(j, c, C). The matvec then reads one strictly sequential stream
// (row-major, the 4 rows of a block were 4 streams 1.5 KB apart, which the hardware
// prefetcher followed less well: f16 matvec 15 -> 18 GB/s on the build machine).
struct WeightMatrix {
  WeightFormat format = WeightFormat::kF32;
  const void* data = nullptr;    // kF32: (OC, C) row-major; others: panels (above)
  const float* scale = nullptr;  // (OC) kInt8 only
  int OC = 0, C = 0;
};
constexpr int kPanelRows = 4, kPanelCols = 32;
inline size_t panel_index(int j, int c, int C) {
  const int k0 = c / kPanelCols * kPanelCols, width = C - k0 < kPanelCols ? C - k0 : kPanelCols;
  return static_cast<size_t>(j / kPanelRows) * kPanelRows * C + static_cast<size_t>(k0) * kPanelRows +
         static_cast<size_t>(j % kPanelRows) * width + (c - k0);
}
// Bytes of stored elements for an (OC, C) matrix in format f (panels padded to whole ones).
size_t weight_storage_bytes(int OC, int C, WeightFormat f);
// Rounds fp32 weights (OC, C) into a format: dst holds weight_storage_bytes of it, scale (OC)
// is written for kInt8 only (may be null otherwise). kF32 copies.
void quantize_weights(void* dst, float* scale, const float* src, int OC, int C, WeightFormat f);
// Rows [j0, j1) only, from src ((j1 - j0), C): the rest of dst is untouched, so a matrix
// can be filled a block of rows at a time (the padding rows of a zeroed dst stay zero).
void quantize_rows(void* dst, float* scale, const float* src, int j0, int j1, int OC, int C, WeightFormat f);
// The fp32 values a stored matrix stands for, rows [j0, j1) into dst (j1-j0, C).
void dequantize_rows(float* dst, const WeightMatrix& w, int j0, int j1);
// The same for columns [c0, c0 + n) of one row into dst (n) (what a GEMM packing it reads).
void dequantize_row_segment(float* dst, const WeightMatrix& w, int row, int c0, int n);

// out (N,OC) = inp (N,C) @ w^T + bias (bias may be null), then, with gelu, GELU in place
// (gelu_forward's formula). Small N streams the weights once (matvec); large N (prefill) is
// stored_matmul_forward (below): our GEMM reading the stored matrix as it packs (fp32, or
// converted from f16/int8 there), and over bf16 weights gemm_bf16 (the activations
// rounded to bf16 too: see linear_rounds_to_bf16). Runs its own parallel region.
void linear_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, bool gelu = false);
// Whether linear_forward multiplies N rows over weights of format f in bf16 (rounding the
// inputs to bf16, nearest even): bf16 weights, more rows than the matvec takes, and our GEMM
// in use (CHATFORGE_GEMM=openblas keeps fp32 inputs). The same on every CPU: where AVX512-BF16
// is missing gemm_bf16 emulates it.
bool linear_rounds_to_bf16(WeightFormat f, int N);
// The same for the threads of an enclosing parallel region (matvec only, meant for N <= 16):
// every thread of the team calls it with the same arguments and computes its contiguous
// block of output channels. No barrier: out is complete once every thread has passed one.
void linear_forward_team(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, bool gelu);
// Only output channels [j0, j1) of out (N, OC), on the calling thread, no barrier (matvec).
void linear_forward_range(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, int j0,
                          int j1, bool gelu);

// --- a GEMM over a weight in a stored format (LoRA's --base-dtype, inference's prefill) --
// The frozen base of a LoRA run may be held in bf16 or int8: its projections then read the
// stored matrix in forward (out = inp @ w^T + bias, matmul_forward's contract) and in the
// input-gradient half of backward (dinp = dout @ w, overwritten; matmul_backward's dinp);
// there is no weight gradient. fp32 rows go to sgemm (gemm_bf16) as they are; for the other
// formats our GEMM (sgemm_stored, gemm_bf16_stored) converts the stored values as it packs, so both equal the fp32 ops over a weight that
// holds the stored values, with no fp32 copy. Under CHATFORGE_GEMM=openblas (fp32 only) blocks
// of rows are expanded to fp32 scratch (a few MB) for OpenBLAS (dinp summed block by block).
// gelu_out as matmul_forward's (== out: the GELU in place).
void stored_matmul_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N,
                           bool bf16 = false, float* gelu_out = nullptr);
void stored_matmul_backward(float* dinp, const float* dout, const WeightMatrix& w, int N, bool bf16 = false);
}  // namespace chatforge::ops

namespace chatforge::ops {
// A barrier for the threads of one parallel region that spins for a few microseconds and
// then yields the CPU while it waits. libgomp's barrier either spins for up to ~1 ms
// (default policy: on a busy machine a waiting thread burns the time slice the late thread
// needs; 2 threads then decoded 2.6x slower than 1) or sleeps at once (PASSIVE: tens of
// microseconds to wake, ~50 times a token). reset(n) by one thread, then a libgomp
// barrier, before first use.
class TeamBarrier {
 public:
  void reset(int n) {
    n_ = n;
    arrived_.store(0);
  }
  void wait();

 private:
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> generation_{0};
  int n_ = 1;
};
}  // namespace chatforge::ops

namespace chatforge::ops {
// --- the Llama family's ops ---------------------------------------------------------
// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, over groups of D channels. Each of the
// N rows holds H groups side by side (group h at row * ld + h * D): H = 1, D = C, ld = C
// for the residual stream; H = heads, D = HS for Qwen3's per-head q/k norm over the q or
// k part of a qkv row. out may alias inp. rstd (N*H): 1/sqrt(mean(x^2) + eps) per group,
// kept for backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int H, int D, int ld,
                     float eps);
// One group on the calling thread (no parallel region: for code already inside one): out
// (D) = x * rstd * weight; returns rstd. out may alias x.
float rmsnorm_row(float* out, const float* x, const float* weight, int D, float eps);
// forward was: y = x * rstd * w, so dx = rstd * (dy*w - x * rstd^2 * mean(dy*w*x)) and
// dw += dy * x * rstd. dinp: += when `accumulate` (the residual stream), else = (and
// then dinp may alias dout: Qwen3's q/k norm backward runs in place on dqkv). dweight +=.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int H, int D, int ld, bool accumulate);

// Rotary position embeddings, rotate-half as Hugging Face's apply_rotary_pos_emb: in each
// of the N rows, the first H heads of HS channels (q heads then k heads: contiguous in a
// qkv row, ld floats per row) rotate pair (i, i + HS/2) by the angle pos[row] *
// inv_freq[i]:  x_i' = (x_i cos - x_{i+HS/2} sin) * scale,  x_{i+HS/2}' = (x_{i+HS/2} cos +
// x_i sin) * scale. In place. inv_freq (HS/2) carries rope_theta and the rope_scaling
// type; scale is YaRN's attention scaling (1 otherwise). pos (N) the positions.
void rope_forward(float* x, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS, int ld);
// The transpose: a rotation by -angle (times scale), in place on the gradient.
void rope_backward(float* dx, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS, int ld);

// SwiGLU: out (N,F) = silu(gate) * up, where each row of inp (N, 2F) is [gate | up] (the
// Llama MLP's gate_proj and up_proj stacked). silu(g) = g * sigmoid(g).
void swiglu_forward(float* out, const float* inp, int N, int F);
// forward was: y = g * s(g) * u, so dg = dy * u * s(g) * (1 + g (1 - s(g))), du = dy * g * s(g).
// dinp (N, 2F) = (overwritten).
void swiglu_backward(float* dinp, const float* inp, const float* dout, int N, int F);
}  // namespace chatforge::ops
