// CUDA causal self-attention, flash style: each thread owns one query row (forward, dq)
// or one key row (dk, dv), key/query tiles stream through shared memory, and the softmax
// is computed online, so the (T,T) scores never reach global memory. Only the
// log-sum-exp of each row is kept for backward, which recomputes the probabilities.
// Deterministic: every output element is written by one thread, no atomics.
//   forward:  s_ij = scale q_i.k_j (j <= i),  lse_i = log sum_j exp s_ij,  out_i = sum_j p_ij v_j
//   backward: D_i = dout_i.out_i,  ds_ij = p_ij (dout_i.v_j - D_i),
//             dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i,  dv_j = sum_i p_ij dout_i
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kRows = 64;  // query (or key) rows per block: one per thread
constexpr int kTile = 32;  // rows of the streamed tile
constexpr int kGroup = 8;  // keys scored together before one rescale (forward)

// Pointer to row t, head h of part `part` (0 q, 1 k, 2 v) of sequence b in qkv (B,T,3C).
__device__ inline size_t qkv_index(int b, int t, int h, int part, int T, int C, int HS) {
  return (static_cast<size_t>(b) * T + t) * 3 * C + static_cast<size_t>(part) * C + h * HS;
}

template <int HS>
__global__ void __launch_bounds__(kRows) attention_forward_kernel(float* out, float* lse, const float* qkv, int T,
                                                                  int C, int NH, float scale) {
  __shared__ float ks[kTile][HS];
  __shared__ float vs[kTile][HS];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int q0 = blockIdx.x * kRows, i = q0 + threadIdx.x;
  const bool active = i < T;
  float q[HS], acc[HS];
  if (active) {
    const float* qp = qkv + qkv_index(b, i, h, 0, T, C, HS);
#pragma unroll
    for (int d = 0; d < HS; ++d) q[d] = qp[d] * scale;
  }
#pragma unroll
  for (int d = 0; d < HS; ++d) acc[d] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const int last = min(T - 1, q0 + kRows - 1);  // the block's last query row sees keys 0..last
  for (int k0 = 0; k0 <= last; k0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    for (int e = threadIdx.x; e < kTile * HS; e += blockDim.x) {
      const int r = e / HS, d = e % HS, j = k0 + r;
      ks[r][d] = j < T ? qkv[qkv_index(b, j, h, 1, T, C, HS) + d] : 0.0f;
      vs[r][d] = j < T ? qkv[qkv_index(b, j, h, 2, T, C, HS) + d] : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    const int n = min(kTile, i - k0 + 1);  // keys of this tile visible to row i (causal)
    // groups of kGroup keys: scores, one rescale of the accumulator per group, then p.v
#pragma unroll 1
    for (int r0 = 0; r0 < n; r0 += kGroup) {
      float s[kGroup];
      float group_max = -INFINITY;
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        float dot = 0.0f;
#pragma unroll
        for (int d = 0; d < HS; ++d) dot += q[d] * ks[r0 + r][d];
        s[r] = r0 + r < n ? dot : -INFINITY;
        group_max = fmaxf(group_max, s[r]);
      }
      const float m_new = fmaxf(m, group_max);
      const float correction = expf(m - m_new);  // exp(-inf) = 0 on the first group
      l *= correction;
#pragma unroll
      for (int d = 0; d < HS; ++d) acc[d] *= correction;
#pragma unroll
      for (int r = 0; r < kGroup; ++r) {
        const float p = expf(s[r] - m_new);  // 0 for the masked (-inf) entries
        l += p;
#pragma unroll
        for (int d = 0; d < HS; ++d) acc[d] += p * vs[r0 + r][d];
      }
      m = m_new;
    }
  }
  if (!active) return;
  const float inv = 1.0f / l;
  float* o = out + (static_cast<size_t>(b) * T + i) * C + h * HS;
#pragma unroll
  for (int d = 0; d < HS; ++d) o[d] = acc[d] * inv;
  lse[static_cast<size_t>(bh) * T + i] = m + logf(l);
}

// D (B,NH,T) = rowwise dout . out
__global__ void attention_rowdot_kernel(float* D, const float* dout, const float* out, int B, int T, int C, int NH) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(B) * NH * T) return;
  const int HS = C / NH;
  const int i = static_cast<int>(idx % T), bh = static_cast<int>(idx / T), b = bh / NH, h = bh % NH;
  const size_t off = (static_cast<size_t>(b) * T + i) * C + h * HS;
  float acc = 0.0f;
  for (int d = 0; d < HS; ++d) acc += dout[off + d] * out[off + d];
  D[idx] = acc;
}

// dq: one thread per query row i, keys j <= i streamed in tiles.
template <int HS>
__global__ void __launch_bounds__(kRows) attention_backward_dq_kernel(float* dqkv, const float* dout, const float* qkv,
                                                                      const float* lse, const float* D, int T, int C,
                                                                      int NH, float scale) {
  __shared__ float ks[kTile][HS];
  __shared__ float vs[kTile][HS];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int q0 = blockIdx.x * kRows, i = q0 + threadIdx.x;
  const bool active = i < T;
  float q[HS], dy[HS], dq[HS];
  float lse_i = 0.0f, D_i = 0.0f;
  if (active) {
    const float* qp = qkv + qkv_index(b, i, h, 0, T, C, HS);
    const float* dyp = dout + (static_cast<size_t>(b) * T + i) * C + h * HS;
#pragma unroll
    for (int d = 0; d < HS; ++d) {
      q[d] = qp[d] * scale;
      dy[d] = dyp[d];
    }
    lse_i = lse[static_cast<size_t>(bh) * T + i];
    D_i = D[static_cast<size_t>(bh) * T + i];
  }
#pragma unroll
  for (int d = 0; d < HS; ++d) dq[d] = 0.0f;
  const int last = min(T - 1, q0 + kRows - 1);
  for (int k0 = 0; k0 <= last; k0 += kTile) {
    __syncthreads();
    for (int e = threadIdx.x; e < kTile * HS; e += blockDim.x) {
      const int r = e / HS, d = e % HS, j = k0 + r;
      ks[r][d] = j < T ? qkv[qkv_index(b, j, h, 1, T, C, HS) + d] : 0.0f;
      vs[r][d] = j < T ? qkv[qkv_index(b, j, h, 2, T, C, HS) + d] : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    const int n = min(kTile, i - k0 + 1);
    for (int r = 0; r < n; ++r) {
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HS; ++d) {
        s += q[d] * ks[r][d];
        dp += dy[d] * vs[r][d];
      }
      const float ds = expf(s - lse_i) * (dp - D_i);
#pragma unroll
      for (int d = 0; d < HS; ++d) dq[d] += ds * ks[r][d];
    }
  }
  if (!active) return;
  float* dqp = dqkv + qkv_index(b, i, h, 0, T, C, HS);
#pragma unroll
  for (int d = 0; d < HS; ++d) dqp[d] = dq[d] * scale;
}

// dk, dv: one thread per key row j, queries i >= j streamed in tiles. The thread's own
// k and v rows sit in shared memory (padded rows: no bank conflicts) to save registers.
// Rows per block and tile rows shrink with the head size to stay within 48 KB of shared memory.
template <int HS>
struct DkvShape {
  static constexpr int kRows = HS >= 64 ? 32 : 64;
  static constexpr int kTile = 32;
};

template <int HS>
__global__ void __launch_bounds__(DkvShape<HS>::kRows) attention_backward_dkv_kernel(
    float* dqkv, const float* dout, const float* qkv, const float* lse, const float* D, int T, int C, int NH,
    float scale) {
  constexpr int kRows = DkvShape<HS>::kRows, kTile = DkvShape<HS>::kTile;
  __shared__ float qs[kTile][HS];
  __shared__ float dys[kTile][HS];
  __shared__ float lses[kTile], Ds[kTile];
  __shared__ float kown[kRows][HS + 1];
  __shared__ float vown[kRows][HS + 1];
  const int bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int j0 = blockIdx.x * kRows, j = j0 + threadIdx.x;
  const bool active = j < T;
  float dk[HS], dv[HS];
#pragma unroll
  for (int d = 0; d < HS; ++d) dk[d] = dv[d] = 0.0f;
  if (active) {
    const float* kp = qkv + qkv_index(b, j, h, 1, T, C, HS);
    const float* vp = qkv + qkv_index(b, j, h, 2, T, C, HS);
    for (int d = 0; d < HS; ++d) {
      kown[threadIdx.x][d] = kp[d];
      vown[threadIdx.x][d] = vp[d];
    }
  }
  // queries i >= j0 can see some key of this block, so the query tiles start at j0
  for (int i0 = j0; i0 < T; i0 += kTile) {
    __syncthreads();
    for (int e = threadIdx.x; e < kTile * HS; e += blockDim.x) {
      const int r = e / HS, d = e % HS, i = i0 + r;
      qs[r][d] = i < T ? qkv[qkv_index(b, i, h, 0, T, C, HS) + d] * scale : 0.0f;
      dys[r][d] = i < T ? dout[(static_cast<size_t>(b) * T + i) * C + h * HS + d] : 0.0f;
    }
    for (int r = threadIdx.x; r < kTile; r += blockDim.x) {
      const int i = i0 + r;
      lses[r] = i < T ? lse[static_cast<size_t>(bh) * T + i] : 0.0f;
      Ds[r] = i < T ? D[static_cast<size_t>(bh) * T + i] : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    const int r_begin = max(0, j - i0), r_end = min(kTile, T - i0);  // rows i = i0 + r with j <= i < T
    for (int r = r_begin; r < r_end; ++r) {
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HS; ++d) {
        s += qs[r][d] * kown[threadIdx.x][d];
        dp += dys[r][d] * vown[threadIdx.x][d];
      }
      const float p = expf(s - lses[r]);
      const float ds = p * (dp - Ds[r]);
#pragma unroll
      for (int d = 0; d < HS; ++d) {
        dv[d] += p * dys[r][d];
        dk[d] += ds * qs[r][d];  // qs holds scale*q: dk_j = scale sum_i ds_ij q_i
      }
    }
  }
  if (!active) return;
  float* dkp = dqkv + qkv_index(b, j, h, 1, T, C, HS);
  float* dvp = dqkv + qkv_index(b, j, h, 2, T, C, HS);
#pragma unroll
  for (int d = 0; d < HS; ++d) {
    dkp[d] = dk[d];
    dvp[d] = dv[d];
  }
}

template <int HS>
void launch_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH, float scale) {
  attention_forward_kernel<HS><<<dim3(detail::ceil_div(T, kRows), B * NH), kRows>>>(out, lse, qkv, T, C, NH, scale);
  CF_CUDA_LAUNCHED("attention_forward");
}

template <int HS>
void launch_backward(float* dqkv, const float* D, const float* dout, const float* qkv, const float* lse, int B, int T,
                     int C, int NH, float scale) {
  attention_backward_dq_kernel<HS><<<dim3(detail::ceil_div(T, kRows), B * NH), kRows>>>(dqkv, dout, qkv, lse, D, T,
                                                                                       C, NH, scale);
  CF_CUDA_LAUNCHED("attention_backward (dq)");
  constexpr int kDkvRows = DkvShape<HS>::kRows;
  attention_backward_dkv_kernel<HS><<<dim3(detail::ceil_div(T, kDkvRows), B * NH), kDkvRows>>>(dqkv, dout, qkv, lse,
                                                                                              D, T, C, NH, scale);
  CF_CUDA_LAUNCHED("attention_backward (dk, dv)");
}

[[noreturn]] void bad_head_size(int HS) {
  detail::throw_error("attention", ("head size " + std::to_string(HS) + " is not supported by the CUDA attention "
                                    "kernels (8, 16, 32 or 64)").c_str(), __FILE__, __LINE__);
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH) {
  const int HS = C / NH;
  const float scale = 1.0f / sqrtf(static_cast<float>(HS));
  switch (HS) {
    case 8: return launch_forward<8>(out, lse, qkv, B, T, C, NH, scale);
    case 16: return launch_forward<16>(out, lse, qkv, B, T, C, NH, scale);
    case 32: return launch_forward<32>(out, lse, qkv, B, T, C, NH, scale);
    case 64: return launch_forward<64>(out, lse, qkv, B, T, C, NH, scale);
    default: bad_head_size(HS);
  }
}

void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH) {
  const int HS = C / NH;
  const float scale = 1.0f / sqrtf(static_cast<float>(HS));
  float* D = scratch;
  attention_rowdot_kernel<<<detail::ceil_div(static_cast<size_t>(B) * NH * T, 256), 256>>>(D, dout, out, B, T, C, NH);
  CF_CUDA_LAUNCHED("attention_backward (rowdot)");
  switch (HS) {
    case 8: return launch_backward<8>(dqkv, D, dout, qkv, lse, B, T, C, NH, scale);
    case 16: return launch_backward<16>(dqkv, D, dout, qkv, lse, B, T, C, NH, scale);
    case 32: return launch_backward<32>(dqkv, D, dout, qkv, lse, B, T, C, NH, scale);
    case 64: return launch_backward<64>(dqkv, D, dout, qkv, lse, B, T, C, NH, scale);
    default: bad_head_size(HS);
  }
}

}  // namespace chatforge::cuda
