// The portable GEMM micro-kernel (any CPU): a 4 x 8 tile in plain C++. The compiler may
// vectorise it for whatever -march allows; it is the path for CPUs without AVX2/FMA and
// the reference layout the SIMD kernels must match.
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 4, kNr = 8;

void kernel_4x8(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  float acc[kMr][kNr] = {};
  for (int k = 0; k < kc; ++k) {
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < kNr; ++j) {
      float v = e.alpha * acc[i][j];
      if (e.beta != 0.0f) v += e.beta * ci[j];
      if (e.bias != nullptr) v += e.bias[j];
      ci[j] = v;
    }
  }
}

}  // namespace

MicroKernel scalar_kernel() { return {kMr, kNr, kernel_4x8}; }

}  // namespace chatforge::ops::gemm_detail
