// The AVX-512 GEMM micro-kernel: a 12 x 32 tile in 24 zmm accumulators; per k it loads two
// zmm of packed B and broadcasts 12 values of packed A into 24 FMAs (one vbroadcastss per A
// value, shared by its row's two FMAs: 14 loads per 24 FMAs; folding the broadcast into
// each FMA's memory operand, 26 loads, ran 12% slower on Zen 5), so 2 FMA ports stay busy
// with 27 of 32 registers live.
// Compiled with a target attribute: this file builds into any x86-64 binary and runs only
// where CPUID reports AVX-512 (gemm.cpp decides).
#include <immintrin.h>

#include "ops/cpu/gemm_avx512_epilogue.h"
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 12, kNr = 32;

// Rows x 32 of C from an A micro-panel packed 12 wide (a[k*12 + i]; rows past Rows unread).
template <int Rows>
CF_AVX512 void kernel_x32(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  __m512 acc[Rows][2];
#pragma GCC unroll 12
  for (int i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_c_tile(c, ldc, Rows, kNr);
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    // KC is deeper than L1 holds (gemm.cpp): fetch A and B 8 steps ahead from L2.
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMr;
    b += kNr;
  }
  avx512_store_tile<Rows>(acc, c, ldc, e);
}

// The last micro-panel of a block with rows < 12 (M = B*T = 1024 leaves 4; attention's
// 64-row query blocks, 4 each): only those rows' FMAs, written straight into C, instead of
// a full tile into a buffer and a scalar copy.
void kernel_tail_x32(int rows, int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  dispatch_rows<kMr>(rows, [&](auto r) { kernel_x32<decltype(r)::value>(kc, a, b, c, ldc, e); });
}

// r[q] <- column q of the 16 x 16 block whose rows are r[0..15] (unpack, 2-lane shuffles,
// then two rounds of 128-bit lane shuffles). GCC 12 with -march=native on AVX-512 CPUs
// reports the intrinsics' own undefined pass-through operand (__Y) as maybe uninitialized:
// a false positive inside its header, silenced for it and its caller only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
CF_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

// The forward's B (the weight, stored (N, K)) packed 16 x 16 blocks at a time through
// registers instead of one scattered store per element (the scalar loop cost ~20% of a
// GPT-2 step at B*T = 256 rows, where B's packing is amortised over few rows).
CF_AVX512 void pack_b_trans_32(const float* src, size_t ld, int kb, int cols, float* dst) {
  int j = 0;
  for (; j + 16 <= cols; j += 16) {
    int k = 0;
    for (; k + 16 <= kb; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + (j + i) * ld + k);
      transpose16(r);
      for (int q = 0; q < 16; ++q) _mm512_store_ps(dst + (k + q) * kNr + j, r[q]);
    }
    for (; k < kb; ++k)
      for (int i = 0; i < 16; ++i) dst[k * kNr + j + i] = src[(j + i) * ld + k];
  }
  for (; j < kNr; ++j)
    for (int k = 0; k < kb; ++k) dst[k * kNr + j] = j < cols ? src[j * ld + k] : 0.0f;
}
// A 12-row micro-panel of a row-major op(A) into a[k*12 + i]: 16 x 16 blocks transposed
// through registers (the scalar loop's strided stores cost ~6% of the GPT-2 products).
// rows < 12 (the last panel of a block) loads zero rows instead.
template <bool kFull>
CF_AVX512 void pack_a_rows(const float* src, size_t ld, int rows, int kb, float* dst) {
  const __mmask16 tile = 0x0fff;
  for (int k = 0; k < kb; k += 16) {
    const int depth = kb - k < 16 ? kb - k : 16;
    const __mmask16 cols = static_cast<__mmask16>((1u << depth) - 1);
    __m512 r[16];
#pragma GCC unroll 12
    for (int i = 0; i < kMr; ++i)
      r[i] = kFull || i < rows ? _mm512_maskz_loadu_ps(cols, src + i * ld + k) : _mm512_setzero_ps();
    for (int i = kMr; i < 16; ++i) r[i] = _mm512_setzero_ps();
    transpose16(r);
    for (int q = 0; q < depth; ++q) _mm512_mask_storeu_ps(dst + (k + q) * kMr, tile, r[q]);
  }
}

// A block of op(A) (`rows` rows, kb deep) into 12-row micro-panels a[k*12 + i], one after
// another (rows past the block zero). op(A) = A: pack_a_rows per panel; op(A) = A^T (its
// columns ld apart): 32 depths at a time, panel by panel, so those rows stay in L1 while the
// panels take their 12 columns and each panel is written in one run (depth by depth across
// all the panels wrote 21 streams at once: 2.3-4.3x slower on Zen 5).
CF_AVX512 void pack_a_12(const float* src, size_t ld, bool trans, int rows, int kb, float* dst) {
  const size_t panel = static_cast<size_t>(kMr) * kb;
  if (!trans) {
    for (int q = 0; q < rows; q += kMr, dst += panel, src += kMr * ld)
      rows - q >= kMr ? pack_a_rows<true>(src, ld, kMr, kb, dst) : pack_a_rows<false>(src, ld, rows - q, kb, dst);
    return;
  }
  for (int k0 = 0; k0 < kb; k0 += 32) {
    const int k1 = k0 + 32 < kb ? k0 + 32 : kb;
    float* dq = dst;
    for (int q = 0; q < rows; q += kMr, dq += panel) {
      const __mmask16 m = rows - q >= kMr ? 0x0fff : static_cast<__mmask16>((1u << (rows - q)) - 1);
      for (int k = k0; k < k1; ++k) _mm512_mask_storeu_ps(dq + k * kMr, 0x0fff, _mm512_maskz_loadu_ps(m, src + k * ld + q));
    }
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// A plain B's micro-panel (src = B(k0, j0), rows ld apart) into dst[k*32 + j]: two
// (masked) row loads per depth, zero past cols.
CF_AVX512 void pack_b_plain_32(const float* src, size_t ld, int kb, int cols, float* dst) {
  const __mmask16 lo = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
  const __mmask16 hi = static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
  for (int k = 0; k < kb; ++k, src += ld, dst += kNr) {
    _mm512_store_ps(dst, _mm512_maskz_loadu_ps(lo, src));
    _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(hi, src + 16));
  }
}

}  // namespace

MicroKernel avx512_kernel() {
  MicroKernel uk{kMr, kNr, kernel_x32<kMr>, pack_b_trans_32};
  uk.pack_a = pack_a_12;
  uk.pack_b = pack_b_plain_32;
  uk.run_tail = kernel_tail_x32;
  uk.wide_columns = true;
  return uk;
}

}  // namespace chatforge::ops::gemm_detail
