// CUDA elementwise ops and the optimizer: GELU (tanh form), residual add, scaling, the
// deterministic sum of squares (fixed grid, partials added in order on the host), and
// AdamW with the exact operation order of the CPU kernel (torch.optim.AdamW).
#include <cmath>
#include <vector>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;
constexpr int kSumBlocks = 1024;

__global__ void gelu_forward_kernel(float* out, const float* inp, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float x = inp[i];
  out[i] = 0.5f * x * (1.0f + tanhf(kGeluK * (x + kGeluC * x * x * x)));
}

__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float x = inp[i];
  const float th = tanhf(kGeluK * (x + kGeluC * x * x * x));
  const float sech2 = 1.0f - th * th;
  // forward was: y = 0.5 x (1 + tanh(u)), u = k (x + c x^3)
  const float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * kGeluK * (1.0f + 3.0f * kGeluC * x * x);
  dinp[i] = grad * dout[i];
}

__global__ void add_kernel(float* out, const float* a, const float* b, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

__global__ void scale_kernel(float* x, size_t n, float s) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] *= s;
}

__global__ void sum_squares_kernel(double* partial, const float* x, size_t n) {
  __shared__ double shared[32];
  double acc = 0.0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    acc += static_cast<double>(x[i]) * x[i];
  acc = detail::block_sum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void adamw_kernel(float* params, const float* grads, float* m, float* v, size_t n, float beta1,
                             float beta2, float eps, float step_size, float bias2_sqrt, float decay, float grad_scale) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float g = grads[i] * grad_scale;
  const float mi = beta1 * m[i] + (1.0f - beta1) * g;
  const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  const float p = params[i] * decay;
  params[i] = p - step_size * (mi / (sqrtf(vi) / bias2_sqrt + eps));
}

}  // namespace

void gelu_forward(float* out, const float* inp, size_t n) {
  if (n == 0) return;
  gelu_forward_kernel<<<detail::ceil_div(n, 256), 256>>>(out, inp, n);
  CF_CUDA_LAUNCHED("gelu_forward");
}

void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) {
  if (n == 0) return;
  gelu_backward_kernel<<<detail::ceil_div(n, 256), 256>>>(dinp, inp, dout, n);
  CF_CUDA_LAUNCHED("gelu_backward");
}

void residual_forward(float* out, const float* a, const float* b, size_t n) {
  if (n == 0) return;
  add_kernel<<<detail::ceil_div(n, 256), 256>>>(out, a, b, n);
  CF_CUDA_LAUNCHED("residual_forward");
}

void scale_inplace(float* x, size_t n, float s) {
  if (n == 0) return;
  scale_kernel<<<detail::ceil_div(n, 256), 256>>>(x, n, s);
  CF_CUDA_LAUNCHED("scale_inplace");
}

double sum_squares(const float* x, size_t n) {
  if (n == 0) return 0.0;
  auto* partial = static_cast<double*>(detail::scratch(detail::kSlotSumSquares, kSumBlocks * sizeof(double)));
  sum_squares_kernel<<<kSumBlocks, 256>>>(partial, x, n);
  CF_CUDA_LAUNCHED("sum_squares");
  std::vector<double> host(kSumBlocks);
  copy_to_host(host.data(), partial, kSumBlocks * sizeof(double));
  double total = 0.0;
  for (double p : host) total += p;
  return total;
}

void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const ops::AdamWParams& hp, int t,
                float grad_scale) {
  if (n == 0) return;
  // the same float expressions as the CPU kernel (src/ops/cpu/adamw.cpp)
  const float bias1 = 1.0f - std::pow(hp.beta1, static_cast<float>(t));
  const float bias2_sqrt = std::sqrt(1.0f - std::pow(hp.beta2, static_cast<float>(t)));
  const float step_size = hp.lr / bias1;
  const float decay = 1.0f - hp.lr * hp.weight_decay;
  adamw_kernel<<<detail::ceil_div(n, 256), 256>>>(params, grads, m, v, n, hp.beta1, hp.beta2, hp.eps, step_size,
                                                  bias2_sqrt, decay, grad_scale);
  CF_CUDA_LAUNCHED("adamw_step");
}

}  // namespace chatforge::cuda
