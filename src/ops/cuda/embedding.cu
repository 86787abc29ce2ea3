// CUDA token + position embeddings. The backward is deterministic without atomics: the
// positions are bucketed by token id on the host (a counting sort of B*T ids), then one
// block per distinct token adds its positions' gradients in position order.
#include <algorithm>
#include <vector>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

__global__ void encoder_forward_kernel(float* out, const int32_t* inp, const float* wte, const float* wpe, int BT,
                                       int T, int C) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(BT) * C) return;
  const int n = static_cast<int>(idx / C), c = static_cast<int>(idx % C), t = n % T;
  out[idx] = wte[static_cast<size_t>(inp[n]) * C + c] + wpe[static_cast<size_t>(t) * C + c];
}

// dwpe[t,c] += sum over b of dout[b,t,c]
__global__ void wpe_backward_kernel(float* dwpe, const float* dout, int B, int T, int C) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(T) * C) return;
  float acc = 0.0f;
  for (int b = 0; b < B; ++b) acc += dout[static_cast<size_t>(b) * T * C + idx];
  dwpe[idx] += acc;
}

// Block k owns token tokens[k]; its positions are positions[offsets[k] .. offsets[k+1]).
__global__ void wte_backward_kernel(float* dwte, const float* dout, const int32_t* tokens, const int32_t* offsets,
                                    const int32_t* positions, int C) {
  const int k = blockIdx.x;
  const size_t row = static_cast<size_t>(tokens[k]) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = 0.0f;
    for (int i = offsets[k]; i < offsets[k + 1]; ++i) acc += dout[static_cast<size_t>(positions[i]) * C + c];
    dwte[row + c] += acc;
  }
}

}  // namespace

void encoder_forward(float* out, const int32_t* inp, const float* wte, const float* wpe, int B, int T, int C) {
  const size_t n = static_cast<size_t>(B) * T * C;
  encoder_forward_kernel<<<detail::ceil_div(n, 256), 256>>>(out, inp, wte, wpe, B * T, T, C);
  CF_CUDA_LAUNCHED("encoder_forward");
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, int B, int T, int C) {
  const int BT = B * T;
  wpe_backward_kernel<<<detail::ceil_div(static_cast<size_t>(T) * C, 256), 256>>>(dwpe, dout, B, T, C);
  CF_CUDA_LAUNCHED("encoder_backward (wpe)");
  // bucket the positions by token id: tokens (distinct, ascending), offsets, positions
  std::vector<int32_t> ids(BT);
  copy_to_host(ids.data(), inp, ids.size() * sizeof(int32_t));
  std::vector<int32_t> order(BT);
  for (int i = 0; i < BT; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return ids[a] < ids[b]; });
  std::vector<int32_t> host(BT + 2 * (BT + 1));  // positions | tokens | offsets
  int32_t* positions = host.data();
  int32_t* tokens = positions + BT;
  int32_t* offsets = tokens + BT + 1;
  int nt = 0;
  for (int i = 0; i < BT; ++i) {
    positions[i] = order[i];
    if (i == 0 || ids[order[i]] != ids[order[i - 1]]) {
      tokens[nt] = ids[order[i]];
      offsets[nt++] = i;
    }
  }
  offsets[nt] = BT;
  auto* dev = static_cast<int32_t*>(detail::scratch(0, host.size() * sizeof(int32_t)));
  copy_to_device(dev, host.data(), host.size() * sizeof(int32_t));
  wte_backward_kernel<<<nt, 256>>>(dwte, dout, dev + BT, dev + 2 * BT + 1, dev, C);
  CF_CUDA_LAUNCHED("encoder_backward (wte)");
}

}  // namespace chatforge::cuda
