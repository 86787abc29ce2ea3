// CUDA attention of new queries over a key/value cache (prefill and decode of one
// sequence): one block per (head, query); the block's threads split the keys for the
// scores (kept in shared memory), then the channels for the weighted sum of values.
// Contract: ops::attention_cached_forward.
#include <string>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kThreads = 128;
constexpr size_t kDefaultSharedBytes = 48 * 1024;  // without opting in

__global__ void attention_cached_kernel(float* out, int ldo, const float* q, int ldq, const float* kcache,
                                        const float* vcache, int pos0, int C, int NH, float scale) {
  extern __shared__ float scores[];  // pos0 + Tq floats
  __shared__ float reduce[32];
  const int h = blockIdx.x, t = blockIdx.y, HS = C / NH;
  const float* qh = q + static_cast<size_t>(t) * ldq + static_cast<size_t>(h) * HS;
  const float* kc = kcache + static_cast<size_t>(h) * HS;
  const float* vc = vcache + static_cast<size_t>(h) * HS;
  const int n = pos0 + t + 1;  // keys visible to this query
  float maxv = -INFINITY;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float* k = kc + static_cast<size_t>(j) * C;
    float d = 0.0f;
    for (int i = 0; i < HS; ++i) d += qh[i] * k[i];
    d *= scale;
    scores[j] = d;
    maxv = fmaxf(maxv, d);
  }
  maxv = detail::block_max(maxv, reduce);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(scores[j] - maxv);
    scores[j] = e;
    sum += e;
  }
  sum = detail::block_sum(sum, reduce);  // its __syncthreads also publishes scores[]
  const float inv = 1.0f / sum;
  float* o = out + static_cast<size_t>(t) * ldo + static_cast<size_t>(h) * HS;
  for (int i = threadIdx.x; i < HS; i += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < n; ++j) acc += scores[j] * vc[static_cast<size_t>(j) * C + i];
    o[i] = acc * inv;
  }
}

[[noreturn]] void refuse(const std::string& why) {
  detail::throw_error("attention_cached_forward", why.c_str(), __FILE__, __LINE__);
}

}  // namespace

void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache, const float* vcache,
                              int pos0, int Tq, int C, int NH) {
  if (Tq <= 0) return;
  if (NH <= 0 || C % NH != 0)
    refuse("C = " + std::to_string(C) + " does not split into " + std::to_string(NH) + " heads");
  if (pos0 < 0) refuse("negative cache position " + std::to_string(pos0));
  if (Tq > 65535) refuse(std::to_string(Tq) + " new queries exceed the kernel grid's 65535");
  const size_t smem = static_cast<size_t>(pos0 + Tq) * sizeof(float);
  if (smem > kDefaultSharedBytes) {
    // longer contexts: opt in to more dynamic shared memory (up to the device's limit)
    static size_t granted = kDefaultSharedBytes;
    if (smem > granted) {
      int dev = 0, optin = 0;
      CF_CUDA(cudaGetDevice(&dev));
      CF_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
      const size_t limit = static_cast<size_t>(optin) - sizeof(float) * 32;  // the static reduce[] takes some
      if (smem > limit)
        refuse("context of " + std::to_string(pos0 + Tq) + " positions exceeds the kernel's " +
               std::to_string(limit / sizeof(float)));
      CF_CUDA(cudaFuncSetAttribute(attention_cached_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(limit)));
      granted = limit;
    }
  }
  attention_cached_kernel<<<dim3(NH, Tq), kThreads, smem>>>(out, ldo, q, ldq, kcache, vcache, pos0, C, NH,
                                                            1.0f / sqrtf(static_cast<float>(C / NH)));
  CF_CUDA_LAUNCHED("attention_cached_forward");
}

}  // namespace chatforge::cuda
