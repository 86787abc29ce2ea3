// CUDA attention of new queries over a key/value cache (decode), for several sequences
// at the same position at once: one block per (sequence, query, head); the block's
// threads split the keys for the scores (kept in shared memory), then the channels for
// the weighted sum of values. Contract: ops::attention_cached_forward, per sequence.
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kThreads = 128;

__global__ void attention_cached_kernel(float* out, int ldo, size_t out_stride, const float* q, int ldq,
                                        size_t q_stride, const float* kcache, const float* vcache, size_t cache_stride,
                                        int pos0, int C, int NH, float scale) {
  extern __shared__ float scores[];  // pos0 + Tq floats
  __shared__ float reduce[32];
  const int h = blockIdx.x, t = blockIdx.y, s = blockIdx.z, HS = C / NH;
  const float* qh = q + s * q_stride + static_cast<size_t>(t) * ldq + h * HS;
  const float* kc = kcache + s * cache_stride + h * HS;
  const float* vc = vcache + s * cache_stride + h * HS;
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
  float* o = out + s * out_stride + static_cast<size_t>(t) * ldo + h * HS;
  for (int i = threadIdx.x; i < HS; i += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < n; ++j) acc += scores[j] * vc[static_cast<size_t>(j) * C + i];
    o[i] = acc * inv;
  }
}

}  // namespace

void attention_cached_forward(float* out, int ldo, size_t out_stride, const float* q, int ldq, size_t q_stride,
                              const float* kcache, const float* vcache, size_t cache_stride, int pos0, int Tq, int C,
                              int NH, int nseq) {
  const int HS = C / NH;
  const size_t smem = static_cast<size_t>(pos0 + Tq) * sizeof(float);
  if (smem > 48 * 1024)
    detail::throw_error("attention_cached_forward",
                        ("context of " + std::to_string(pos0 + Tq) + " positions exceeds the kernel's 12288").c_str(),
                        __FILE__, __LINE__);
  attention_cached_kernel<<<dim3(NH, Tq, nseq), kThreads, smem>>>(out, ldo, out_stride, q, ldq, q_stride, kcache,
                                                                  vcache, cache_stride, pos0, C, NH,
                                                                  1.0f / sqrtf(static_cast<float>(HS)));
  CF_CUDA_LAUNCHED("attention_cached_forward");
}

}  // namespace chatforge::cuda
