// CUDA LayerNorm forward (plain and fused with the residual add) and backward. One warp
// per row; the weight/bias gradients are reduced in two fixed stages (row chunks, then
// chunks in order), so every run gives the same bits.
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kRowsPerBlock = 8;  // warps per block, one row each
constexpr int kChunks = 128;      // row chunks of the column reductions

// If a is given: x = a + b is written to residual_out first (the fused variant), else x = inp.
__global__ void layernorm_forward_kernel(float* residual_out, float* out, float* mean, float* rstd, const float* inp,
                                         const float* a, const float* b, const float* weight, const float* bias,
                                         int N, int C) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  const float* x = inp + off;
  if (a != nullptr) {
    for (int c = lane; c < C; c += 32) residual_out[off + c] = a[off + c] + b[off + c];
    __syncwarp();
    x = residual_out + off;
  }
  float sum = 0.0f;
  for (int c = lane; c < C; c += 32) sum += x[c];
  const float m = detail::warp_sum(sum) / C;
  float var = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float d = x[c] - m;
    var += d * d;
  }
  const float s = 1.0f / sqrtf(detail::warp_sum(var) / C + 1e-5f);
  float* o = out + off;
  for (int c = lane; c < C; c += 32) o[c] = (x[c] - m) * s * weight[c] + bias[c];
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

__global__ void layernorm_backward_dinp_kernel(float* dinp, const float* dout, const float* inp, const float* weight,
                                               const float* mean, const float* rstd, int N, int C) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  const float *x = inp + off, *dy = dout + off;
  const float m = mean[row], s = rstd[row];
  // forward was: y = xhat * w + b with xhat = (x - mean) * rstd
  float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float xhat = (x[c] - m) * s;
    const float dnorm = weight[c] * dy[c];
    dnorm_mean += dnorm;
    dnorm_norm_mean += dnorm * xhat;
  }
  dnorm_mean = detail::warp_sum(dnorm_mean) / C;
  dnorm_norm_mean = detail::warp_sum(dnorm_norm_mean) / C;
  for (int c = lane; c < C; c += 32) {
    const float xhat = (x[c] - m) * s;
    dinp[off + c] += (weight[c] * dy[c] - dnorm_mean - xhat * dnorm_norm_mean) * s;
  }
}

// Stage 1: partial[chunk, 0:C] = sum of xhat*dy, partial[chunk, C:2C] = sum of dy over
// the chunk's rows. Threads run over columns (coalesced); grid (ceil(C/256), kChunks).
__global__ void layernorm_backward_partial_kernel(float* partial, const float* dout, const float* inp,
                                                  const float* mean, const float* rstd, int N, int C, int rows_per) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
  if (c >= C) return;
  const int r0 = chunk * rows_per, r1 = min(N, r0 + rows_per);
  float dw = 0.0f, db = 0.0f;
  for (int r = r0; r < r1; ++r) {
    const size_t i = static_cast<size_t>(r) * C + c;
    dw += (inp[i] - mean[r]) * rstd[r] * dout[i];
    db += dout[i];
  }
  partial[static_cast<size_t>(chunk) * 2 * C + c] = dw;
  partial[static_cast<size_t>(chunk) * 2 * C + C + c] = db;
}

// Stage 2: dweight += sum of chunks in order (and dbias).
__global__ void layernorm_backward_final_kernel(float* dweight, float* dbias, const float* partial, int C,
                                                int chunks) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float dw = 0.0f, db = 0.0f;
  for (int k = 0; k < chunks; ++k) {
    dw += partial[static_cast<size_t>(k) * 2 * C + c];
    db += partial[static_cast<size_t>(k) * 2 * C + C + c];
  }
  dweight[c] += dw;
  dbias[c] += db;
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C) {
  if (N == 0) return;
  layernorm_forward_kernel<<<detail::ceil_div(N, kRowsPerBlock), 32 * kRowsPerBlock>>>(
      nullptr, out, mean, rstd, inp, nullptr, nullptr, weight, bias, N, C);
  CF_CUDA_LAUNCHED("layernorm_forward");
}

void residual_layernorm_forward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N, int C) {
  if (N == 0) return;
  layernorm_forward_kernel<<<detail::ceil_div(N, kRowsPerBlock), 32 * kRowsPerBlock>>>(
      residual_out, out, mean, rstd, nullptr, a, b, weight, bias, N, C);
  CF_CUDA_LAUNCHED("residual_layernorm_forward");
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C) {
  if (N == 0 || C == 0) return;
  layernorm_backward_dinp_kernel<<<detail::ceil_div(N, kRowsPerBlock), 32 * kRowsPerBlock>>>(dinp, dout, inp, weight,
                                                                                               mean, rstd, N, C);
  CF_CUDA_LAUNCHED("layernorm_backward (dinp)");
  const int chunks = N < kChunks ? N : kChunks;
  const int rows_per = static_cast<int>(detail::ceil_div(N, chunks));
  auto* partial = static_cast<float*>(
      detail::scratch(detail::kSlotLayernorm, static_cast<size_t>(chunks) * 2 * C * sizeof(float)));
  layernorm_backward_partial_kernel<<<dim3(detail::ceil_div(C, 256), chunks), 256>>>(partial, dout, inp, mean, rstd,
                                                                                     N, C, rows_per);
  CF_CUDA_LAUNCHED("layernorm_backward (partial)");
  layernorm_backward_final_kernel<<<detail::ceil_div(C, 256), 256>>>(dweight, dbias, partial, C, chunks);
  CF_CUDA_LAUNCHED("layernorm_backward (final)");
}

}  // namespace chatforge::cuda
