// CUDA fused softmax + cross-entropy over the first V of Vp columns with the loss mask
// (contract of ops.h): one block per row; the forward keeps the log-sum-exp so backward
// turns logits into dlogits in place with one exp per column.
#include <vector>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kThreads = 512;

__global__ void crossentropy_forward_kernel(float* losses, float* lse, const float* logits, const int32_t* targets,
                                            const uint8_t* mask, int V, int Vp) {
  __shared__ float shared[32];
  const int i = blockIdx.x;
  const float* row = logits + static_cast<size_t>(i) * Vp;
  float maxv = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) maxv = fmaxf(maxv, row[v]);
  maxv = detail::block_max(maxv, shared);
  float sum = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) sum += expf(row[v] - maxv);
  sum = detail::block_sum(sum, shared);
  if (threadIdx.x == 0) {
    const float l = maxv + logf(sum);
    lse[i] = l;
    const bool on = mask == nullptr || mask[i] != 0;
    const int t = on ? targets[i] : 0;
    // a target outside the vocabulary (callers check ids) poisons the loss instead of reading out of bounds
    losses[i] = !on ? 0.0f : (t >= 0 && t < V ? l - row[t] : NAN);
  }
}

__global__ void crossentropy_backward_kernel(float* logits, const float* lse, const int32_t* targets,
                                             const uint8_t* mask, float dloss, int V, int Vp) {
  const int i = blockIdx.x;
  float* row = logits + static_cast<size_t>(i) * Vp;
  const bool on = mask == nullptr || mask[i] != 0;
  const float l = lse[i];
  const int target = on ? targets[i] : -1;
  // forward was: loss = lse - logit[target], so dlogit = (softmax - onehot(target)) * dloss
  for (int v = threadIdx.x; v < Vp; v += blockDim.x) {
    float d = 0.0f;
    if (on && v < V) {
      d = expf(row[v] - l) * dloss;
      if (v == target) d -= dloss;
    }
    row[v] = d;
  }
}

}  // namespace

double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                            const uint8_t* mask, int N, int V, int Vp) {
  if (N == 0) return 0.0;
  crossentropy_forward_kernel<<<N, kThreads>>>(losses, lse, logits, targets, mask, V, Vp);
  CF_CUDA_LAUNCHED("crossentropy_forward");
  std::vector<float> host(N);
  copy_to_host(host.data(), losses, host.size() * sizeof(float));
  double total = 0.0;  // in row order, as the CPU kernel
  for (float l : host) total += l;
  return total;
}

void crossentropy_backward(float* logits, const float* lse, const int32_t* targets, const uint8_t* mask, float dloss,
                           int N, int V, int Vp) {
  if (N == 0) return;
  crossentropy_backward_kernel<<<N, kThreads>>>(logits, lse, targets, mask, dloss, V, Vp);
  CF_CUDA_LAUNCHED("crossentropy_backward");
}

}  // namespace chatforge::cuda
