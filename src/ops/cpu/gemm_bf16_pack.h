// The bf16 kernels' SIMD packing pieces (gemm_avx512bf16.cpp, gemm_amx.cpp, gemm_bf16_pack.cpp):
// fp32 lines rounded to bf16 pair slots (gemm_kernels.h: slot = depth 2p in the low half,
// 2p+1 in the high half) as vcvtne2ps2bf16 rounds (nearest even, denormals to zero), and
// 16 x 16 transposes of 32-bit slots. Compiled with the AVX512-BF16 target attribute; the
// callers run them only where CPUID reports AVX512-BF16. Internal to those files.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#define CF_AVX512BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma")))

// GCC 12 flags its own _mm512_unpack*_epi32 (the self-initialised _mm512_undefined_* inside)
// as uninitialized: GCC bug 105593 (fma_peak.cpp does the same).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace chatforge::ops::gemm_detail::bf16_pack {

// The first n of 16 lanes (n clamped to [0, 16]).
inline __mmask16 lanes(int n) { return n >= 16 ? 0xffff : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1); }

// Depths [k, k+32) of a depth-contiguous line as 16 pair slots (zero beyond kb).
CF_AVX512BF16 inline __m512i row_slots(const float* s, int k, int kb) {
  const int n = kb - k;
  if (n >= 32) return (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k));
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(lanes(n - 16), s + k + 16),
                                      _mm512_maskz_loadu_ps(lanes(n), s + k));
}

// 16 pair slots of 16 lines at depths (d, d+1): lo and hi hold the 16 lines' values at d
// and d+1; slot r = bf16(lo[r]) | bf16(hi[r]) << 16.
CF_AVX512BF16 inline __m512i interleave_slots(__m512 lo, __m512 hi) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

// The slots of depths (d, d+1) of 16 lines that run across the depth (depth d of line l at
// src + d*ld + l; only the first `mask` lines read, the rest zero; depths >= kb zero).
CF_AVX512BF16 inline __m512i strided_pair(const float* src, size_t ld, __mmask16 mask, int d, int kb) {
  const __m512 lo = d < kb ? _mm512_maskz_loadu_ps(mask, src + d * ld) : _mm512_setzero_ps();
  const __m512 hi = d + 1 < kb ? _mm512_maskz_loadu_ps(mask, src + (d + 1) * ld) : _mm512_setzero_ps();
  return interleave_slots(lo, hi);
}

// In-place transpose of a 16 x 16 matrix of 32-bit elements (r[row] lane col).
CF_AVX512BF16 inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i+j], 128-bit lane L: column 4L+j, rows 4i..4i+3
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int j = 0; j < 4; ++j) {  // a 4 x 4 transpose of 128-bit lanes
    const __m512i a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x44), b = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xee);
    const __m512i c = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x44), d = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xee);
    t[j] = _mm512_shuffle_i32x4(a, c, 0x88), t[4 + j] = _mm512_shuffle_i32x4(a, c, 0xdd);
    t[8 + j] = _mm512_shuffle_i32x4(b, d, 0x88), t[12 + j] = _mm512_shuffle_i32x4(b, d, 0xdd);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// 16 lines that each run along the depth (line l at src + l*ld, depths contiguous; lines
// >= n are zero): for each 32-depth block, the 16 x 16 slots go to dst + blk*blk_stride +
// q*q_stride + l*l_stride (in 32-bit slots). q_stride 1: the lines' slots stay in rows (the
// AMX kernel's A); otherwise they are transposed (a pair-row of 16 lines per q, l_stride 1:
// a transposed B's panel).
void pack_depth_contiguous(const float* src, size_t ld, int n, int kb, uint32_t* dst, size_t blk_stride,
                           size_t q_stride, size_t l_stride, int blocks);

}  // namespace chatforge::ops::gemm_detail::bf16_pack

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
