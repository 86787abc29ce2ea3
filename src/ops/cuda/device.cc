// Device management and memory for the CUDA backend (see cuda_ops.h), the error helper
// every kernel file uses, and the grow-only scratch buffers. Host-only code compiled by
// the C++ compiler (nvcc cannot parse fmt); it ends in .cc so the cpu ops glob skips it.
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {

namespace detail {

void throw_error(const char* what, const char* detail, const char* file, int line) {
  fail("CUDA error in {}: {} ({}:{})", what, detail, file, line);
}

void* scratch(Slot slot, size_t bytes) {
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
  };
  static Buffer slots[kSlotCount];
  CF_ASSERT(slot >= 0 && slot < kSlotCount);
  Buffer& s = slots[slot];
  if (s.bytes < bytes) {
    // cudaFree waits for the kernels still reading the old buffer
    if (s.p) CF_CUDA(cudaFree(s.p));
    s.p = nullptr;
    s.bytes = 0;
    const size_t want = bytes + bytes / 4;  // some headroom: shapes grow a little at a time
    s.p = device_alloc(want);
    s.bytes = want;
  }
  return s.p;
}

}  // namespace detail

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

std::string no_device_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  cudaGetLastError();
  if (e != cudaSuccess) return cudaGetErrorString(e);
  return n == 0 ? "no CUDA device found" : "";
}

void set_device(int index) {
  const int n = device_count();
  CF_CHECK(n > 0, "--device cuda:{}: no usable CUDA GPU ({})", index, no_device_reason());
  CF_CHECK(index >= 0 && index < n, "--device cuda:{}: this machine has {} CUDA device(s) (cuda:0..cuda:{})", index,
           n, n - 1);
  CF_CUDA(cudaSetDevice(index));
}

int current_device() {
  int dev = 0;
  CF_CUDA(cudaGetDevice(&dev));
  return dev;
}

std::string device_name(int index) {
  cudaDeviceProp prop{};
  CF_CUDA(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

double bf16_peak_tflops() {
  int dev = 0, sms = 0, major = 0;
  CF_CUDA(cudaGetDevice(&dev));
  CF_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CF_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  // The tensor-core peak is quoted at the boost clock (CUDA 13 dropped the clock-rate
  // attribute), so this uses the published per-SM rates at the published boost clocks.
  // dense bf16 FLOP per SM per clock: 1024 x 2 on Ampere (A100: 108 SM x 1.41 GHz -> 312 TF),
  // 2048 x 2 on Hopper (H100 SXM: 132 SM x 1.83 GHz -> 989 TF)
  if (major >= 9) return sms * 4096.0 * 1.83e9 / 1e12;
  if (major == 8) return sms * 2048.0 * 1.41e9 / 1e12;
  return sms * 1024.0 * 1.5e9 / 1e12;
}

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail("out of GPU memory: {} MB requested, {} MB free of {} MB ({}); try a smaller --batch-size", bytes >> 20,
         free_b >> 20, total_b >> 20, cudaGetErrorString(e));
  }
  return p;
}

void device_free(void* p) noexcept {
  if (p) cudaFree(p);  // never throws: called from destructors
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) CF_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) CF_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_device(void* dst, const void* src, size_t bytes) {
  if (bytes) CF_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) {
  if (width && rows) CF_CUDA(cudaMemcpy2D(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyDeviceToDevice));
}
void zero(void* p, size_t bytes) {
  if (bytes) CF_CUDA(cudaMemset(p, 0, bytes));
}
void synchronize() { CF_CUDA(cudaDeviceSynchronize()); }

}  // namespace chatforge::cuda
