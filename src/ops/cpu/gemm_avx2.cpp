// The AVX2/FMA GEMM micro-kernel: a 6 x 16 tile in 12 ymm accumulators; per k two ymm loads
// of packed B and six broadcasts of packed A feed 12 FMAs (15 of 16 registers live).
// Compiled with a target attribute: it builds into any x86-64 binary and runs only where
// CPUID reports AVX2 and FMA (gemm.cpp decides).
#include <immintrin.h>

#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 6, kNr = 16;

#define CF_AVX2 __attribute__((target("avx2,fma")))

CF_AVX2 inline __m256 epilogue(__m256 acc, const float* c, __m256 alpha, __m256 beta, bool read_c,
                               const float* bias) {
  __m256 v = _mm256_mul_ps(acc, alpha);
  if (read_c) v = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c), v);
  if (bias != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
  return v;
}

// Rows x 16 of C from an A micro-panel packed 6 wide (a[k*6 + i]; rows past Rows unread).
template <int Rows>
CF_AVX2 void kernel_x16(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  __m256 acc[Rows][2];
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  prefetch_c_tile(c, ldc, Rows, kNr);
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  const __m256 alpha = _mm256_set1_ps(e.alpha), beta = _mm256_set1_ps(e.beta);
  const bool read_c = e.beta != 0.0f;
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) {
    float* ci = c + i * ldc;
    _mm256_storeu_ps(ci, epilogue(acc[i][0], ci, alpha, beta, read_c, e.bias));
    _mm256_storeu_ps(ci + 8, epilogue(acc[i][1], ci + 8, alpha, beta, read_c, e.bias ? e.bias + 8 : nullptr));
  }
}

// A tile cut by the bottom edge: only its rows (1-5), straight into C.
void kernel_tail_x16(int rows, int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  dispatch_rows<kMr>(rows, [&](auto r) { kernel_x16<decltype(r)::value>(kc, a, b, c, ldc, e); });
}

}  // namespace

MicroKernel avx2_kernel() {
  MicroKernel uk{kMr, kNr, kernel_x16<kMr>};
  uk.run_tail = kernel_tail_x16;
  return uk;
}

}  // namespace chatforge::ops::gemm_detail
