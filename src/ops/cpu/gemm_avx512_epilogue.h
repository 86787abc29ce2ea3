// The AVX-512 micro-kernels' shared pieces (gemm_avx512.cpp, gemm_avx512bf16.cpp): the
// target attribute and the epilogue that writes an MR x 32 tile of fp32 accumulators into
// C: alpha * acc (+ beta * c, read only when beta != 0) (+ bias). Internal to those files.
#pragma once
#include <immintrin.h>

#include "ops/cpu/gemm_kernels.h"

#define CF_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

namespace chatforge::ops::gemm_detail {

CF_AVX512 inline __m512 avx512_epilogue(__m512 acc, const float* c, __m512 alpha, __m512 beta, bool read_c,
                                        const float* bias) {
  __m512 v = _mm512_mul_ps(acc, alpha);
  if (read_c) v = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c), v);
  if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
  return v;
}

// acc[i][h]: row i, columns 16h..16h+15 of the tile at c (rows ldc apart).
template <int Mr>
CF_AVX512 inline void avx512_store_tile(const __m512 (&acc)[Mr][2], float* c, size_t ldc, const Epilogue& e) {
  const __m512 alpha = _mm512_set1_ps(e.alpha), beta = _mm512_set1_ps(e.beta);
  const bool read_c = e.beta != 0.0f;
#pragma GCC unroll 12
  for (int i = 0; i < Mr; ++i) {
    float* ci = c + i * ldc;
    _mm512_storeu_ps(ci, avx512_epilogue(acc[i][0], ci, alpha, beta, read_c, e.bias));
    _mm512_storeu_ps(ci + 16,
                     avx512_epilogue(acc[i][1], ci + 16, alpha, beta, read_c, e.bias ? e.bias + 16 : nullptr));
  }
}

}  // namespace chatforge::ops::gemm_detail
