// The AVX-512 micro-kernels' shared pieces (gemm_avx512.cpp, gemm_avx512bf16.cpp): the
// target attribute and the epilogue that writes 16 accumulated values of a row of C:
// alpha * acc (+ beta * c, read only when read_c) (+ bias). Internal to those two files.
#pragma once
#include <immintrin.h>

#define CF_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

namespace chatforge::ops::gemm_detail {

CF_AVX512 inline __m512 avx512_epilogue(__m512 acc, const float* c, __m512 alpha, __m512 beta, bool read_c,
                                        const float* bias) {
  __m512 v = _mm512_mul_ps(acc, alpha);
  if (read_c) v = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c), v);
  if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
  return v;
}

}  // namespace chatforge::ops::gemm_detail
