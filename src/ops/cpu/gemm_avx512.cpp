// The AVX-512 GEMM micro-kernel: a 12 x 32 tile in 24 zmm accumulators; per k it loads two
// zmm of packed B and broadcasts 12 values of packed A into 24 FMAs (the broadcasts fold
// into the FMAs' memory operands), so 2 FMA ports stay busy with 27 of 32 registers live.
// Compiled with a target attribute: this file builds into any x86-64 binary and runs only
// where CPUID reports AVX-512 (gemm.cpp decides).
#include <immintrin.h>

#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 12, kNr = 32;

#define CF_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

CF_AVX512 inline __m512 epilogue(__m512 acc, const float* c, __m512 alpha, __m512 beta, bool read_c,
                                 const float* bias) {
  __m512 v = _mm512_mul_ps(acc, alpha);
  if (read_c) v = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c), v);
  if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
  return v;
}

CF_AVX512 void kernel_12x32(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int i = 0; i < kMr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * kMr), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  const __m512 alpha = _mm512_set1_ps(e.alpha), beta = _mm512_set1_ps(e.beta);
  const bool read_c = e.beta != 0.0f;
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    _mm512_storeu_ps(ci, epilogue(acc[i][0], ci, alpha, beta, read_c, e.bias));
    _mm512_storeu_ps(ci + 16, epilogue(acc[i][1], ci + 16, alpha, beta, read_c, e.bias ? e.bias + 16 : nullptr));
  }
}

}  // namespace

MicroKernel avx512_kernel() { return {kMr, kNr, kernel_12x32}; }

}  // namespace chatforge::ops::gemm_detail
