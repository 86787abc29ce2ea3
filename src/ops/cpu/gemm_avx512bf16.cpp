// The AVX512-BF16 GEMM micro-kernel: a 12 x 32 tile in 24 zmm fp32 accumulators over packed
// bf16 pairs (gemm_kernels.h: each 32-bit slot holds depths 2p and 2p+1 of one row of A or
// one column of B, the lower depth in the low half). Per depth pair it loads two zmm of B
// (32 columns x 2 depths), broadcasts 12 slots of A and issues 24 vdpbf16ps: 64 FLOPs each,
// twice the fp32 kernel's work per instruction. Accumulation is fp32 throughout.
// Compiled with a target attribute; runs only where CPUID reports AVX512-BF16 (gemm.cpp).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "ops/cpu/gemm_avx512_epilogue.h"
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 12, kNr = 32;

#define CF_AVX512BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma")))

// kc: depth pairs. a, b: packed pair slots (float-sized), a[p*MR + i], b[p*NR + j].
CF_AVX512BF16 void kernel_12x32_bf16(int kc, const float* a, const float* b, float* c, size_t ldc,
                                     const Epilogue& e) {
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int i = 0; i < kMr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  const auto* ai32 = reinterpret_cast<const int32_t*>(a);
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(ai32 + 8 * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(ai32[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
    ai32 += kMr;
    b += kNr;
  }
  avx512_store_tile<kMr>(acc, c, ldc, e);
}

// Transposed B (the forward's weight, stored (N, K)): column j's depths are contiguous in
// source row j, so 32 of them convert to 16 pair slots with one vcvtne2ps2bf16; the slots
// then scatter to dst[p*NR + j]. kb depths (odd: the last pair's high half is 0).
CF_AVX512BF16 void pack_b_trans_bf16(const float* src, size_t ld, int kb, int cols, float* dst) {
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const int kp = (kb + 1) / 2;
  for (int j = 0; j < kNr; ++j) {
    if (j >= cols) {
      for (int p = 0; p < kp; ++p) d[p * kNr + j] = 0;
      continue;
    }
    const float* s = src + static_cast<size_t>(j) * ld;
    int k = 0;
    alignas(64) uint32_t pairs[16];
    for (; k + 32 <= kb; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k));
      _mm512_store_si512(pairs, (__m512i)v);
      for (int q = 0; q < 16; ++q) d[(k / 2 + q) * kNr + j] = pairs[q];
    }
    for (; k < kb; k += 2) {
      const float hi = k + 1 < kb ? s[k + 1] : 0.0f;
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_set1_ps(hi), _mm512_set1_ps(s[k]));
      // lane 0 of the low source is word 0, of the high source word 16: combine them
      alignas(64) uint16_t w[32];
      _mm512_store_si512(w, (__m512i)v);
      d[(k / 2) * kNr + j] = static_cast<uint32_t>(w[0]) | static_cast<uint32_t>(w[16]) << 16;
    }
  }
}

}  // namespace

MicroKernel avx512_bf16_kernel() {
  MicroKernel k{kMr, kNr, kernel_12x32_bf16, pack_b_trans_bf16};
  k.pair = 2;
  return k;
}

}  // namespace chatforge::ops::gemm_detail
