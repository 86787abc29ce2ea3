// CUDA causal self-attention with document masks, flash style: each thread owns one query
// row (forward, dq) or one key row (dk, dv), key/query tiles stream through shared memory,
// and the softmax is computed online, so the (T,T) scores never reach global memory. Only
// the log-sum-exp of each row is kept for backward, which recomputes the probabilities.
// Deterministic: every output element is written by one thread, no atomics.
//   visible(i, j) = j <= i and doc[j] == doc[i]  (doc null: j <= i)
//   forward:  s_ij = scale q_i.k_j (visible),  lse_i = log sum_j exp s_ij,  out_i = sum_j p_ij v_j
//   backward: D_i = dout_i.out_i,  ds_ij = p_ij (dout_i.v_j - D_i),
//             dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i,  dv_j = sum_i p_ij dout_i
// Every row sees at least its own key, so l > 0 and lse is finite; keys of other documents
// are skipped, and a row whose first tiles hold only other documents' keys starts its
// online softmax at its first visible key (no exp(-inf - -inf)).
// The kernels are compiled for padded head sizes HSP = 8, 16, 32, 64: a head of HS <= HSP
// channels is read into the first HS of HSP registers, the rest stay zero.
#include <string>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kRows = 64;  // query (or key) rows per block: one per thread
constexpr int kTile = 32;  // rows of the streamed tile
constexpr int kGroup = 8;  // keys scored together before one rescale (forward)
constexpr int kMaxHeadSize = 64;

// Offset of row t, head h of part `part` (0 q, 1 k, 2 v) of sequence b in qkv (B,T,3C).
__device__ inline size_t qkv_index(int b, int t, int h, int part, int T, int C, int HS) {
  return (static_cast<size_t>(b) * T + t) * 3 * C + static_cast<size_t>(part) * C + static_cast<size_t>(h) * HS;
}

template <int HSP>
__global__ void __launch_bounds__(kRows) attention_forward_kernel(float* out, float* lse, const float* qkv,
                                                                  const int32_t* doc, int T, int C, int NH, int HS,
                                                                  float scale) {
  __shared__ float ks[kTile][HSP];
  __shared__ float vs[kTile][HSP];
  __shared__ int32_t kdoc[kTile];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int q0 = blockIdx.x * kRows, i = q0 + threadIdx.x;
  const bool active = i < T;
  const int32_t* docb = doc != nullptr ? doc + static_cast<size_t>(b) * T : nullptr;
  const int32_t my_doc = active && docb != nullptr ? docb[i] : 0;
  float q[HSP], acc[HSP];
  const float* qp = qkv + qkv_index(b, active ? i : 0, h, 0, T, C, HS);
#pragma unroll
  for (int d = 0; d < HSP; ++d) {
    q[d] = active && d < HS ? qp[d] * scale : 0.0f;
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int last = min(T - 1, q0 + kRows - 1);  // the block's last query row sees keys 0..last
  for (int k0 = 0; k0 <= last; k0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    for (int e = threadIdx.x; e < kTile * HSP; e += blockDim.x) {
      const int r = e / HSP, d = e % HSP, j = k0 + r;
      const bool in = j < T && d < HS;
      ks[r][d] = in ? qkv[qkv_index(b, j, h, 1, T, C, HS) + d] : 0.0f;
      vs[r][d] = in ? qkv[qkv_index(b, j, h, 2, T, C, HS) + d] : 0.0f;
    }
    for (int r = threadIdx.x; r < kTile; r += blockDim.x) kdoc[r] = docb != nullptr && k0 + r < T ? docb[k0 + r] : 0;
    __syncthreads();
    if (!active) continue;
    const int n = min(kTile, i - k0 + 1);  // keys of this tile at or before row i (causal)
    if (docb != nullptr) {                 // skip a tile without a key of this row's document
      bool any = false;
      for (int r = 0; r < n; ++r) any |= kdoc[r] == my_doc;
      if (!any) continue;
    }
    // groups of kGroup keys: scores, one rescale of the accumulator per group, then p.v
#pragma unroll 1
    for (int r0 = 0; r0 < n; r0 += kGroup) {
      float s[kGroup];
      float group_max = -INFINITY;
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        float dot = 0.0f;
#pragma unroll
        for (int d = 0; d < HSP; ++d) dot += q[d] * ks[r0 + r][d];
        const bool visible = r0 + r < n && (docb == nullptr || kdoc[r0 + r] == my_doc);
        s[r] = visible ? dot : -INFINITY;
        group_max = fmaxf(group_max, s[r]);
      }
      const float m_new = fmaxf(m, group_max);
      if (m_new == -INFINITY) continue;  // nothing visible yet: no rescale of an empty sum
      const float correction = expf(m - m_new);  // exp(-inf) = 0 on the first visible group
      l *= correction;
#pragma unroll
      for (int d = 0; d < HSP; ++d) acc[d] *= correction;
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        const float p = expf(s[r] - m_new);  // 0 for the masked (-inf) entries
        l += p;
#pragma unroll
        for (int d = 0; d < HSP; ++d) acc[d] += p * vs[r0 + r][d];
      }
      m = m_new;
    }
  }
  if (!active) return;
  const float inv = 1.0f / l;  // l >= 1: the row's own key is visible and holds the maximum or less
  float* o = out + (static_cast<size_t>(b) * T + i) * C + static_cast<size_t>(h) * HS;
#pragma unroll
  for (int d = 0; d < HSP; ++d)
    if (d < HS) o[d] = acc[d] * inv;
  lse[static_cast<size_t>(bh) * T + i] = m + logf(l);
}

// D (B,NH,T) = rowwise dout . out
__global__ void attention_rowdot_kernel(float* D, const float* dout, const float* out, int B, int T, int C, int NH) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(B) * NH * T) return;
  const int HS = C / NH;
  const int i = static_cast<int>(idx % T), bh = static_cast<int>(idx / T), b = bh / NH, h = bh % NH;
  const size_t off = (static_cast<size_t>(b) * T + i) * C + static_cast<size_t>(h) * HS;
  float acc = 0.0f;
  for (int d = 0; d < HS; ++d) acc += dout[off + d] * out[off + d];
  D[idx] = acc;
}

// dq: one thread per query row i, visible keys j <= i streamed in tiles.
template <int HSP>
__global__ void __launch_bounds__(kRows) attention_backward_dq_kernel(float* dqkv, const float* dout, const float* qkv,
                                                                      const float* lse, const float* D,
                                                                      const int32_t* doc, int T, int C, int NH,
                                                                      int HS, float scale) {
  __shared__ float ks[kTile][HSP];
  __shared__ float vs[kTile][HSP];
  __shared__ int32_t kdoc[kTile];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int q0 = blockIdx.x * kRows, i = q0 + threadIdx.x;
  const bool active = i < T;
  const int32_t* docb = doc != nullptr ? doc + static_cast<size_t>(b) * T : nullptr;
  const int32_t my_doc = active && docb != nullptr ? docb[i] : 0;
  float q[HSP], dy[HSP], dq[HSP];
  const float* qp = qkv + qkv_index(b, active ? i : 0, h, 0, T, C, HS);
  const float* dyp = dout + (static_cast<size_t>(b) * T + (active ? i : 0)) * C + static_cast<size_t>(h) * HS;
#pragma unroll
  for (int d = 0; d < HSP; ++d) {
    q[d] = active && d < HS ? qp[d] * scale : 0.0f;
    dy[d] = active && d < HS ? dyp[d] : 0.0f;
    dq[d] = 0.0f;
  }
  const float lse_i = active ? lse[static_cast<size_t>(bh) * T + i] : 0.0f;
  const float D_i = active ? D[static_cast<size_t>(bh) * T + i] : 0.0f;
  const int last = min(T - 1, q0 + kRows - 1);
  for (int k0 = 0; k0 <= last; k0 += kTile) {
    __syncthreads();
    for (int e = threadIdx.x; e < kTile * HSP; e += blockDim.x) {
      const int r = e / HSP, d = e % HSP, j = k0 + r;
      const bool in = j < T && d < HS;
      ks[r][d] = in ? qkv[qkv_index(b, j, h, 1, T, C, HS) + d] : 0.0f;
      vs[r][d] = in ? qkv[qkv_index(b, j, h, 2, T, C, HS) + d] : 0.0f;
    }
    for (int r = threadIdx.x; r < kTile; r += blockDim.x) kdoc[r] = docb != nullptr && k0 + r < T ? docb[k0 + r] : 0;
    __syncthreads();
    if (!active) continue;
    const int n = min(kTile, i - k0 + 1);
    for (int r = 0; r < n; ++r) {
      if (docb != nullptr && kdoc[r] != my_doc) continue;  // another document's key
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HSP; ++d) {
        s += q[d] * ks[r][d];
        dp += dy[d] * vs[r][d];
      }
      const float ds = expf(s - lse_i) * (dp - D_i);
#pragma unroll
      for (int d = 0; d < HSP; ++d) dq[d] += ds * ks[r][d];
    }
  }
  if (!active) return;
  float* dqp = dqkv + qkv_index(b, i, h, 0, T, C, HS);
#pragma unroll
  for (int d = 0; d < HSP; ++d)
    if (d < HS) dqp[d] = dq[d] * scale;
}

// dk, dv: one thread per key row j, queries i >= j of its document streamed in tiles. The
// thread's own k and v rows sit in shared memory (padded rows: no bank conflicts) to save
// registers. Rows per block shrink with the head size to stay within 48 KB of shared memory.
template <int HSP>
struct DkvShape {
  static constexpr int kRows = HSP >= 64 ? 32 : 64;
  static constexpr int kTile = 32;
};

template <int HSP>
__global__ void __launch_bounds__(DkvShape<HSP>::kRows) attention_backward_dkv_kernel(
    float* dqkv, const float* dout, const float* qkv, const float* lse, const float* D, const int32_t* doc, int T,
    int C, int NH, int HS, float scale) {
  constexpr int kRowsK = DkvShape<HSP>::kRows, kTileQ = DkvShape<HSP>::kTile;
  __shared__ float qs[kTileQ][HSP];
  __shared__ float dys[kTileQ][HSP];
  __shared__ float lses[kTileQ], Ds[kTileQ];
  __shared__ int32_t qdoc[kTileQ];
  __shared__ float kown[kRowsK][HSP + 1];
  __shared__ float vown[kRowsK][HSP + 1];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int j0 = blockIdx.x * kRowsK, j = j0 + threadIdx.x;
  const bool active = j < T;
  const int32_t* docb = doc != nullptr ? doc + static_cast<size_t>(b) * T : nullptr;
  const int32_t my_doc = active && docb != nullptr ? docb[j] : 0;
  float dk[HSP], dv[HSP];
#pragma unroll
  for (int d = 0; d < HSP; ++d) dk[d] = dv[d] = 0.0f;
  {
    const float* kp = qkv + qkv_index(b, active ? j : 0, h, 1, T, C, HS);
    const float* vp = qkv + qkv_index(b, active ? j : 0, h, 2, T, C, HS);
    for (int d = 0; d < HSP; ++d) {
      kown[threadIdx.x][d] = active && d < HS ? kp[d] : 0.0f;
      vown[threadIdx.x][d] = active && d < HS ? vp[d] : 0.0f;
    }
  }
  // queries i >= j0 can see some key of this block, so the query tiles start at j0
  for (int i0 = j0; i0 < T; i0 += kTileQ) {
    __syncthreads();
    for (int e = threadIdx.x; e < kTileQ * HSP; e += blockDim.x) {
      const int r = e / HSP, d = e % HSP, i = i0 + r;
      const bool in = i < T && d < HS;
      qs[r][d] = in ? qkv[qkv_index(b, i, h, 0, T, C, HS) + d] * scale : 0.0f;
      dys[r][d] = in ? dout[(static_cast<size_t>(b) * T + i) * C + static_cast<size_t>(h) * HS + d] : 0.0f;
    }
    for (int r = threadIdx.x; r < kTileQ; r += blockDim.x) {
      const int i = i0 + r;
      lses[r] = i < T ? lse[static_cast<size_t>(bh) * T + i] : 0.0f;
      Ds[r] = i < T ? D[static_cast<size_t>(bh) * T + i] : 0.0f;
      qdoc[r] = docb != nullptr && i < T ? docb[i] : 0;
    }
    __syncthreads();
    if (!active) continue;
    const int r_begin = max(0, j - i0), r_end = min(kTileQ, T - i0);  // rows i = i0 + r with j <= i < T
    for (int r = r_begin; r < r_end; ++r) {
      if (docb != nullptr && qdoc[r] != my_doc) continue;  // a query of another document
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HSP; ++d) {
        s += qs[r][d] * kown[threadIdx.x][d];
        dp += dys[r][d] * vown[threadIdx.x][d];
      }
      const float p = expf(s - lses[r]);
      const float ds = p * (dp - Ds[r]);
#pragma unroll
      for (int d = 0; d < HSP; ++d) {
        dv[d] += p * dys[r][d];
        dk[d] += ds * qs[r][d];  // qs holds scale*q: dk_j = scale sum_i ds_ij q_i
      }
    }
  }
  if (!active) return;
  float* dkp = dqkv + qkv_index(b, j, h, 1, T, C, HS);
  float* dvp = dqkv + qkv_index(b, j, h, 2, T, C, HS);
#pragma unroll
  for (int d = 0; d < HSP; ++d)
    if (d < HS) {
      dkp[d] = dk[d];
      dvp[d] = dv[d];
    }
}

template <int HSP>
void launch_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int C, int NH, int HS,
                    float scale) {
  attention_forward_kernel<HSP><<<dim3(detail::ceil_div(T, kRows), B * NH), kRows>>>(out, lse, qkv, doc, T, C, NH, HS,
                                                                                     scale);
  CF_CUDA_LAUNCHED("attention_forward");
}

template <int HSP>
void launch_backward(float* dqkv, const float* D, const float* dout, const float* qkv, const float* lse,
                     const int32_t* doc, int B, int T, int C, int NH, int HS, float scale) {
  attention_backward_dq_kernel<HSP><<<dim3(detail::ceil_div(T, kRows), B * NH), kRows>>>(dqkv, dout, qkv, lse, D, doc,
                                                                                          T, C, NH, HS, scale);
  CF_CUDA_LAUNCHED("attention_backward (dq)");
  constexpr int kDkvRows = DkvShape<HSP>::kRows;
  attention_backward_dkv_kernel<HSP><<<dim3(detail::ceil_div(T, kDkvRows), B * NH), kDkvRows>>>(
      dqkv, dout, qkv, lse, D, doc, T, C, NH, HS, scale);
  CF_CUDA_LAUNCHED("attention_backward (dk, dv)");
}

// The head size of (C, NH), checked: 1..kMaxHeadSize, C = NH * HS, and B*NH within a grid's y.
int head_size(const char* what, int B, int C, int NH) {
  if (NH <= 0 || C % NH != 0)
    detail::throw_error(what, ("C = " + std::to_string(C) + " does not split into " + std::to_string(NH) + " heads")
                                  .c_str(), __FILE__, __LINE__);
  const int HS = C / NH;
  if (HS < 1 || HS > kMaxHeadSize)
    detail::throw_error(what, ("head size " + std::to_string(HS) + " is not supported by the CUDA attention kernels "
                               "(at most " + std::to_string(kMaxHeadSize) + ")").c_str(), __FILE__, __LINE__);
  if (static_cast<long long>(B) * NH > 65535)
    detail::throw_error(what, ("B * NH = " + std::to_string(static_cast<long long>(B) * NH) +
                               " exceeds the kernel grid's 65535").c_str(), __FILE__, __LINE__);
  return HS;
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int C, int NH) {
  const int HS = head_size("attention_forward", B, C, NH);
  if (B == 0 || T == 0) return;
  const float scale = 1.0f / sqrtf(static_cast<float>(HS));
  if (HS <= 8) return launch_forward<8>(out, lse, qkv, doc, B, T, C, NH, HS, scale);
  if (HS <= 16) return launch_forward<16>(out, lse, qkv, doc, B, T, C, NH, HS, scale);
  if (HS <= 32) return launch_forward<32>(out, lse, qkv, doc, B, T, C, NH, HS, scale);
  return launch_forward<64>(out, lse, qkv, doc, B, T, C, NH, HS, scale);
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        const int32_t* doc, int B, int T, int C, int NH) {
  const int HS = head_size("attention_backward", B, C, NH);
  if (B == 0 || T == 0) return;
  const float scale = 1.0f / sqrtf(static_cast<float>(HS));
  const size_t rows = static_cast<size_t>(B) * NH * T;
  auto* D = static_cast<float*>(detail::scratch(detail::kSlotAttentionD, rows * sizeof(float)));
  attention_rowdot_kernel<<<detail::ceil_div(rows, 256), 256>>>(D, dout, out, B, T, C, NH);
  CF_CUDA_LAUNCHED("attention_backward (rowdot)");
  if (HS <= 8) return launch_backward<8>(dqkv, D, dout, qkv, lse, doc, B, T, C, NH, HS, scale);
  if (HS <= 16) return launch_backward<16>(dqkv, D, dout, qkv, lse, doc, B, T, C, NH, HS, scale);
  if (HS <= 32) return launch_backward<32>(dqkv, D, dout, qkv, lse, doc, B, T, C, NH, HS, scale);
  return launch_backward<64>(dqkv, D, dout, qkv, lse, doc, B, T, C, NH, HS, scale);
}

}  // namespace chatforge::cuda
