// Shared by the CUDA kernels (internal to src/ops/cuda): error checks that throw
// chatforge::Error, warp/block reductions, launch helpers and a grow-only scratch buffer.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace chatforge::cuda::detail {

// Throws chatforge::Error("CUDA error in WHAT: DETAIL (file:line)").
[[noreturn]] void throw_error(const char* what, const char* detail, const char* file, int line);

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) throw_error(what, cudaGetErrorString(e), file, line);
}

// A device buffer that only grows, for temporaries inside one op (reduction partials,
// bf16 copies of GEMM inputs, uploaded index lists). One per slot, so ops that run one
// after another never share one by accident. Not thread safe: ops run on one host thread.
enum Slot : int {
  kSlotEncoderWte,     // embedding.cu: token buckets of encoder_backward
  kSlotEncoderWpe,     // embedding.cu: position buckets of encoder_backward
  kSlotEmbeddingIds,   // embedding.cu: the host ids/positions of embedding_rows
  kSlotLayernorm,      // layernorm.cu: column partials
  kSlotSumSquares,     // elementwise.cu: block partials
  kSlotGemmWorkspace,  // matmul.cu: cuBLASLt workspace
  kSlotBf16Weight,     // matmul.cu: bf16 copies of the GEMM operands
  kSlotBf16Input,
  kSlotBf16Dout,
  kSlotBias,           // matmul.cu: bias-gradient partials
  kSlotAttentionD,     // attention.cu: rowwise dout . out of the backward pass
  kSlotCount
};
void* scratch(Slot slot, size_t bytes);

inline unsigned ceil_div(size_t a, size_t b) { return static_cast<unsigned>((a + b - 1) / b); }

#ifdef __CUDACC__  // device helpers: only for the .cu files

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over a block of up to 1024 threads (every thread gets the result). `shared` holds
// 32 values of T.
template <class T>
__device__ inline T block_sum(T v, T* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = (blockDim.x + 31) / 32;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T r = lane < nwarps ? shared[lane] : T(0);
  r = warp_sum(r);
  return r;
}
__device__ inline float block_max(float v, float* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = (blockDim.x + 31) / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float r = lane < nwarps ? shared[lane] : -INFINITY;
  return warp_max(r);
}

#endif  // __CUDACC__

}  // namespace chatforge::cuda::detail

#define CF_CUDA(call) ::chatforge::cuda::detail::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration at once (not asynchronously).
#define CF_CUDA_LAUNCHED(name) ::chatforge::cuda::detail::check(cudaGetLastError(), name, __FILE__, __LINE__)
