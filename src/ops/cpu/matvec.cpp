// CPU linear layers for inference over weights in any WeightFormat (ops.h): a matvec kernel
// for a few rows (decoding: bound by reading the weights once) and, for many rows
// (prefill), our GEMM (ops/cpu/gemm.h): fp32 weights directly, the reduced formats in blocks
// expanded to fp32, bf16 weights through the AVX512-BF16 GEMM where the CPU has it.
//
// Why a matvec: OpenBLAS sgemm with 1..8 rows packs and re-reads the weights (measured
// 5-30x slower than this on the build machine). Each thread owns one contiguous block of
// output channels (one sequential stream of weights), takes 4 rows at a time and computes
// them for every input row while they sit in L1. With AVX-512 the weights are read 16 per
// load (f16 by vcvtph2ps, bf16 by a 16-bit shift, int8 by vpmovsxbd + vcvtdq2ps: fp32
// accumulation always); fp32 rows one after the other with 4 FMA chains (block_dots), the
// reduced formats' panels 4 rows at a time with 2 chains per row, for every input row.
// Without AVX-512 (or with CHATFORGE_SIMD=avx2: ops/cpu/simd.h) an omp-simd loop does the
// same, expanding a reduced-format block to fp32 once when 3+ rows will read it.
//
// Reduced formats are stored in panels (ops.h) and read with a software prefetch 8 KB
// ahead. fp32 saturates the memory bus with the hardware prefetcher alone (28 GB/s of 28
// on the build machine), but a core reading f16 or int8 consumes bytes at half or a quarter
// of fp32's rate per instruction and the hardware prefetcher then ran too little ahead:
// f16 matvec over the 124M model's matrices, 2 threads, 15.0 GB/s row-major, 18.1 in
// panels, 24.8 in panels with the prefetch (int8: 11.8 -> 26.9 GB/s).
#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#include <immintrin.h>
#define CF_MATVEC_AVX512 1
// GCC 12 flags its own intrinsics (the self-initialised _mm*_undefined_* inside
// vcvtph2ps, vpmovzxwd, vextractf32x8 ...) as maybe-uninitialized: GCC bug 105593.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

#include "ops/cpu/gemm.h"
#include "ops/cpu/half.h"
#include "ops/cpu/simd.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {
namespace {

constexpr int kRows = kPanelRows;  // weight rows per block
constexpr size_t kPrefetchBytes = 8192;  // see the top: 2-16 KB measured alike, 32 KB worse
template <WeightFormat F>
constexpr size_t sizeof_format() {
  return F == WeightFormat::kF32 ? 4 : (F == WeightFormat::kInt8 ? 1 : 2);
}

#if CF_MATVEC_AVX512
// The AVX-512 kernels (run when simd_level() is kAvx512).
namespace wide {
// 16 weights from element idx on as fp32 (mask: the valid lanes of a row's tail).
template <WeightFormat F>
inline __m512 load16(const void* base, size_t idx, __mmask16 mask) {
  if constexpr (F == WeightFormat::kF32) {
    return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(base) + idx);
  } else if constexpr (F == WeightFormat::kF16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(base) + idx));
  } else if constexpr (F == WeightFormat::kBF16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(base) + idx));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  } else {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, static_cast<const int8_t*>(base) + idx)));
  }
}
template <WeightFormat F>
inline __m512 load16(const void* base, size_t idx) {
  if constexpr (F == WeightFormat::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(base) + idx);
  } else if constexpr (F == WeightFormat::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + idx)));
  } else if constexpr (F == WeightFormat::kBF16) {
    const __m512i w = _mm512_cvtepu16_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + idx)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  } else {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(base) + idx))));
  }
}

// 16 lanes -> 4 partial sums
inline __m128 fold(__m512 v) {
  const __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_maskz_extractf32x8_ps(0xff, v, 1));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

// dots[r] = horizontal sum of a_r + b_r, the 4 rows at once (GCC 12's _mm512_reduce_add_ps
// trips -Wmaybe-uninitialized)
inline void store_dots(float dots[4], __m512 a0, __m512 b0, __m512 a1, __m512 b1, __m512 a2, __m512 b2, __m512 a3,
                       __m512 b3) {
  const __m128 h01 = _mm_hadd_ps(fold(_mm512_add_ps(a0, b0)), fold(_mm512_add_ps(a1, b1)));
  const __m128 h23 = _mm_hadd_ps(fold(_mm512_add_ps(a2, b2)), fold(_mm512_add_ps(a3, b3)));
  _mm_storeu_ps(dots, _mm_hadd_ps(h01, h23));
}

// dots[r] = w[row r] . x for the kRows rows starting at element offsets off[r], one row
// after the other: the rows of a block are adjacent in a row-major matrix, so the weights
// are read as one sequential stream (x stays in L1). Reading the 4 rows interleaved (4
// streams 4*C bytes apart, 8 FMA chains across rows) read slower at the Qwen2.5-0.5B shape
// (C = 896, 24 layers + a 151936-row head, f32, 2 threads on Zen 5): 20.7-24.8 -> 23.3-27.8
// tok/s in alternating runs.
template <WeightFormat F>
inline void block_dots(float dots[kRows], const void* w, const size_t off[kRows], const float* x, int C) {
  for (int r = 0; r < kRows; ++r) {
    const size_t o = off[r];
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int c = 0;
    for (; c + 64 <= C; c += 64) {
      a0 = _mm512_fmadd_ps(load16<F>(w, o + c), _mm512_loadu_ps(x + c), a0);
      a1 = _mm512_fmadd_ps(load16<F>(w, o + c + 16), _mm512_loadu_ps(x + c + 16), a1);
      a2 = _mm512_fmadd_ps(load16<F>(w, o + c + 32), _mm512_loadu_ps(x + c + 32), a2);
      a3 = _mm512_fmadd_ps(load16<F>(w, o + c + 48), _mm512_loadu_ps(x + c + 48), a3);
    }
    for (; c < C; c += 16) {
      const __mmask16 m = C - c >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (C - c)) - 1);
      a0 = _mm512_fmadd_ps(load16<F>(w, o + c, m), _mm512_maskz_loadu_ps(m, x + c), a0);
    }
    const __m128 f = fold(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    const __m128 h = _mm_hadd_ps(f, f);
    dots[r] = _mm_cvtss_f32(_mm_hadd_ps(h, h));
  }
}

// dots[r] = w[row r] . x for the panel whose first element is w + base (layout in ops.h).
template <WeightFormat F>
inline void panel_dots(float dots[kRows], const void* w, size_t base, const float* x, int C) {
  constexpr int kLines = 2 * static_cast<int>(sizeof_format<F>());  // cache lines of one chunk
  const char* ahead = static_cast<const char*>(w) + base * sizeof_format<F>() + kPrefetchBytes;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  size_t p = base;
  int c = 0;
  for (; c + kPanelCols <= C; c += kPanelCols, p += kRows * kPanelCols) {  // whole chunks: 4 rows x 32
    for (int line = 0; line < kLines; ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
    ahead += 64 * kLines;
    const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
    a0 = _mm512_fmadd_ps(load16<F>(w, p), x0, a0);
    b0 = _mm512_fmadd_ps(load16<F>(w, p + 16), x1, b0);
    a1 = _mm512_fmadd_ps(load16<F>(w, p + 32), x0, a1);
    b1 = _mm512_fmadd_ps(load16<F>(w, p + 48), x1, b1);
    a2 = _mm512_fmadd_ps(load16<F>(w, p + 64), x0, a2);
    b2 = _mm512_fmadd_ps(load16<F>(w, p + 80), x1, b2);
    a3 = _mm512_fmadd_ps(load16<F>(w, p + 96), x0, a3);
    b3 = _mm512_fmadd_ps(load16<F>(w, p + 112), x1, b3);
  }
  if (c < C) {  // the last chunk, wt < 32 wide: row r at p + r * wt
    const int wt = C - c;
    const auto m0 = static_cast<__mmask16>(wt >= 16 ? 0xffff : (1u << wt) - 1);
    const auto m1 = static_cast<__mmask16>(wt > 16 ? (1u << (wt - 16)) - 1 : 0);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, x + c), x1 = _mm512_maskz_loadu_ps(m1, x + c + 16);
    a0 = _mm512_fmadd_ps(load16<F>(w, p, m0), x0, a0);
    b0 = _mm512_fmadd_ps(load16<F>(w, p + 16, m1), x1, b0);
    a1 = _mm512_fmadd_ps(load16<F>(w, p + wt, m0), x0, a1);
    b1 = _mm512_fmadd_ps(load16<F>(w, p + wt + 16, m1), x1, b1);
    a2 = _mm512_fmadd_ps(load16<F>(w, p + 2 * wt, m0), x0, a2);
    b2 = _mm512_fmadd_ps(load16<F>(w, p + 2 * wt + 16, m1), x1, b2);
    a3 = _mm512_fmadd_ps(load16<F>(w, p + 3 * wt, m0), x0, a3);
    b3 = _mm512_fmadd_ps(load16<F>(w, p + 3 * wt + 16, m1), x1, b3);
  }
  store_dots(dots, a0, b0, a1, b1, a2, b2, a3, b3);
}

// bf16 without widening: one 512-bit load holds a row's 32-weight chunk, two bf16 per
// 32-bit lane; `lane << 16` is the even weight as fp32 and `lane & 0xffff0000` the odd one,
// multiplied by x's even and odd elements (deinterleaved once per chunk for all 4 rows).
// 2 ALU uops per 32 weights instead of 4 (vpmovzxwd + shift per 16): bf16 decode at the
// 124M shape, 8-token context, 2 threads: 111 -> 128 tok/s (f16 in the same runs: 107-125).
template <>
inline void panel_dots<WeightFormat::kBF16>(float dots[kRows], const void* w, size_t base, const float* x, int C) {
  const auto* wp = static_cast<const uint16_t*>(w);
  const char* ahead = reinterpret_cast<const char*>(wp + base) + kPrefetchBytes;
  const __m512i even_idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd_idx = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  auto row = [&](__m512i v, __m512 xe, __m512 xo, __m512& a, __m512& b) {
    a = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), xe, a);
    b = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), xo, b);
  };
  size_t p = base;
  int c = 0;
  for (; c + kPanelCols <= C; c += kPanelCols, p += kRows * kPanelCols) {
    for (int line = 0; line < 4; ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
    ahead += 256;
    const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
    const __m512 xe = _mm512_permutex2var_ps(x0, even_idx, x1), xo = _mm512_permutex2var_ps(x0, odd_idx, x1);
    row(_mm512_loadu_si512(wp + p), xe, xo, a0, b0);
    row(_mm512_loadu_si512(wp + p + 32), xe, xo, a1, b1);
    row(_mm512_loadu_si512(wp + p + 64), xe, xo, a2, b2);
    row(_mm512_loadu_si512(wp + p + 96), xe, xo, a3, b3);
  }
  if (c < C) {  // the last chunk, wt < 32 wide: row r at p + r * wt (masked: zeros past wt)
    const int wt = C - c;
    const auto mw = static_cast<__mmask32>((1ull << wt) - 1);
    const auto m0 = static_cast<__mmask16>(wt >= 16 ? 0xffff : (1u << wt) - 1);
    const auto m1 = static_cast<__mmask16>(wt > 16 ? (1u << (wt - 16)) - 1 : 0);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, x + c), x1 = _mm512_maskz_loadu_ps(m1, x + c + 16);
    const __m512 xe = _mm512_permutex2var_ps(x0, even_idx, x1), xo = _mm512_permutex2var_ps(x0, odd_idx, x1);
    row(_mm512_maskz_loadu_epi16(mw, wp + p), xe, xo, a0, b0);
    row(_mm512_maskz_loadu_epi16(mw, wp + p + wt), xe, xo, a1, b1);
    row(_mm512_maskz_loadu_epi16(mw, wp + p + 2 * wt), xe, xo, a2, b2);
    row(_mm512_maskz_loadu_epi16(mw, wp + p + 3 * wt), xe, xo, a3, b3);
  }
  store_dots(dots, a0, b0, a1, b1, a2, b2, a3, b3);
}
}  // namespace wide
#endif

// The portable kernels: what a machine without AVX-512 runs (the compiler vectorises the
// omp-simd loops for whatever -march allows), and what CHATFORGE_SIMD=avx2 forces here.
namespace narrow {
// Each row read through a pointer of its stored type: indexing one untyped base with 64-bit
// offsets inside the loop (weight_at(w, off[r] + c)) made GCC 12 emit vgatherqps for what
// are contiguous rows (f32 decode with CHATFORGE_SIMD=avx2 at the GPT-2 124M shape: 18 tok/s,
// 20% of the bandwidth bound).
template <WeightFormat F> struct Stored { using type = uint16_t; };  // f16, bf16
template <> struct Stored<WeightFormat::kF32> { using type = float; };
template <> struct Stored<WeightFormat::kInt8> { using type = int8_t; };
template <WeightFormat F>
inline float widen(typename Stored<F>::type v) {
  if constexpr (F == WeightFormat::kF32) return v;
  else if constexpr (F == WeightFormat::kF16) return half::f16_to_f32(v);
  else if constexpr (F == WeightFormat::kBF16) return half::bf16_to_f32(v);
  else return static_cast<float>(v);
}
template <WeightFormat F>
inline const typename Stored<F>::type* row_at(const void* w, size_t off) {
  return static_cast<const typename Stored<F>::type*>(w) + off;
}
template <WeightFormat F>
inline void block_dots(float dots[kRows], const void* w, const size_t off[kRows], const float* x, int C) {
  const auto *w0 = row_at<F>(w, off[0]), *w1 = row_at<F>(w, off[1]), *w2 = row_at<F>(w, off[2]),
             *w3 = row_at<F>(w, off[3]);
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
  for (int c = 0; c < C; ++c) {
    const float xc = x[c];
    a0 += xc * widen<F>(w0[c]);
    a1 += xc * widen<F>(w1[c]);
    a2 += xc * widen<F>(w2[c]);
    a3 += xc * widen<F>(w3[c]);
  }
  dots[0] = a0, dots[1] = a1, dots[2] = a2, dots[3] = a3;
}
// Lane-wise sums per row over the whole panel, reduced once at the end (a reduction per
// 32-column chunk kept the reduced formats' batch-1 decode at 10-22% of the bound).
template <WeightFormat F>
inline void panel_dots(float dots[kRows], const void* w, size_t base, const float* x, int C) {
  float acc[kRows][kPanelCols] = {};
  size_t p = base;
  for (int k0 = 0; k0 < C; k0 += kPanelCols) {
    const int width = std::min(kPanelCols, C - k0);
    const float* xk = x + k0;
    for (int r = 0; r < kRows; ++r, p += width) {
      const auto* wr = row_at<F>(w, p);
      float* a = acc[r];
      if (width == kPanelCols) {
#pragma omp simd
        for (int c = 0; c < kPanelCols; ++c) a[c] += xk[c] * widen<F>(wr[c]);
      } else {
        for (int c = 0; c < width; ++c) a[c] += xk[c] * widen<F>(wr[c]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < kPanelCols; ++c) sum += acc[r][c];
    dots[r] = sum;
  }
}
}  // namespace narrow

// The kernels of one SIMD level: wide (AVX-512) or narrow (portable).
template <bool kWide>
struct Kernels {
  template <WeightFormat F>
  static void block_dots(float dots[kRows], const void* w, const size_t off[kRows], const float* x, int C) {
#if CF_MATVEC_AVX512
    if constexpr (kWide) return wide::block_dots<F>(dots, w, off, x, C);
#endif
    narrow::block_dots<F>(dots, w, off, x, C);
  }
  template <WeightFormat F>
  static void panel_dots(float dots[kRows], const void* w, size_t base, const float* x, int C) {
#if CF_MATVEC_AVX512
    if constexpr (kWide) return wide::panel_dots<F>(dots, w, base, x, C);
#endif
    narrow::panel_dots<F>(dots, w, base, x, C);
  }
};

// Output channels [j0, j1) of out (N, OC) for every input row, a block of 4 weight rows at a
// time (it stays in L1 for the next input row). The AVX-512 kernels read every format as
// stored. The portable ones, for f16/bf16/int8 with 3+ rows, expand each block to fp32
// once instead of converting it per row. (The AVX-512 kernels used to expand too, at a cost
// near the dots' own: batch-8 decode at the GPT-2 124M shape on Zen 5, 2 threads, read
// f16 84-88 -> 318-320 tok/s, bf16 77-87 -> 361-387, int8 130-131 -> 331-337 without it.)
template <WeightFormat F, bool kWide>
void matvec_range(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, int j0, int j1) {
  const int C = w.C, OC = w.OC;
#if CF_MATVEC_AVX512
  constexpr bool kExpand = F != WeightFormat::kF32 && !kWide;
#else
  constexpr bool kExpand = F != WeightFormat::kF32;
#endif
  if (kExpand && N >= 3) {
    thread_local std::vector<float> expanded;
    expanded.resize(static_cast<size_t>(kRows) * C);
    WeightMatrix block{WeightFormat::kF32, expanded.data(), nullptr, kRows, C};
    for (int j = j0; j < j1; j += kRows) {
      const int nj = std::min(kRows, j1 - j);
      dequantize_rows(expanded.data(), w, j, j + nj);
      // the bias and the output position are those of the whole matrix
      float* o = out + j;
      for (int i = 0; i < N; ++i) {
        float dots[kRows];
        size_t off[kRows];
        for (int r = 0; r < kRows; ++r) off[r] = static_cast<size_t>(r < nj ? r : 0) * C;
        Kernels<kWide>::template block_dots<WeightFormat::kF32>(dots, block.data, off, inp + static_cast<size_t>(i) * C, C);
        for (int r = 0; r < nj; ++r) o[static_cast<size_t>(i) * OC + r] = dots[r] + (bias ? bias[j + r] : 0.0f);
      }
    }
    return;
  }
  if constexpr (F == WeightFormat::kF32) {
    for (int j = j0; j < j1; j += kRows) {
      const int nj = std::min(kRows, j1 - j);
      size_t off[kRows];  // rows past the end alias the block's first row: computed, never stored
      for (int r = 0; r < kRows; ++r) off[r] = static_cast<size_t>(j + (r < nj ? r : 0)) * C;
      for (int i = 0; i < N; ++i) {
        float dots[kRows];
        Kernels<kWide>::template block_dots<F>(dots, w.data, off, inp + static_cast<size_t>(i) * C, C);
        float* o = out + static_cast<size_t>(i) * OC + j;
        for (int r = 0; r < nj; ++r) o[r] = dots[r] + (bias ? bias[j + r] : 0.0f);
      }
    }
  } else {  // whole panels; rows outside [j0, j1) (padding, a neighbour's share) computed, not stored
    for (int pj = j0 / kRows * kRows; pj < j1; pj += kRows) {
      const int r0 = std::max(j0 - pj, 0), r1 = std::min(kRows, j1 - pj);
      for (int i = 0; i < N; ++i) {
        float dots[kRows];
        Kernels<kWide>::template panel_dots<F>(dots, w.data, static_cast<size_t>(pj) * C, inp + static_cast<size_t>(i) * C, C);
        float* o = out + static_cast<size_t>(i) * OC + pj;
        for (int r = r0; r < r1; ++r) {
          const float s = F == WeightFormat::kInt8 ? w.scale[pj + r] : 1.0f;
          o[r] = dots[r] * s + (bias ? bias[pj + r] : 0.0f);
        }
      }
    }
  }
}

template <bool kWide>
void matvec_range_format(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, int j0,
                         int j1) {
  switch (w.format) {
    case WeightFormat::kF32: matvec_range<WeightFormat::kF32, kWide>(out, inp, w, bias, N, j0, j1); break;
    case WeightFormat::kF16: matvec_range<WeightFormat::kF16, kWide>(out, inp, w, bias, N, j0, j1); break;
    case WeightFormat::kBF16: matvec_range<WeightFormat::kBF16, kWide>(out, inp, w, bias, N, j0, j1); break;
    case WeightFormat::kInt8: matvec_range<WeightFormat::kInt8, kWide>(out, inp, w, bias, N, j0, j1); break;
  }
}

void matvec_range_any(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, int j0, int j1,
                      bool gelu) {
  if (j0 >= j1) return;
  if (simd_level() == SimdLevel::kAvx512)
    matvec_range_format<true>(out, inp, w, bias, N, j0, j1);
  else
    matvec_range_format<false>(out, inp, w, bias, N, j0, j1);
  if (gelu)  // on this thread's own outputs while they are still in L1
    for (int i = 0; i < N; ++i) {
      float* o = out + static_cast<size_t>(i) * w.OC;
#pragma omp simd
      for (int j = j0; j < j1; ++j) o[j] = vec::gelu(o[j]);
    }
}

// This thread's contiguous share of [0, OC), in whole blocks.
void thread_range(int OC, int* j0, int* j1) {
  const int nt = omp_get_num_threads(), id = omp_get_thread_num();
  const int nblocks = (OC + kRows - 1) / kRows;
  *j0 = std::min(OC, static_cast<int>(static_cast<long>(nblocks) * id / nt) * kRows);
  *j1 = std::min(OC, static_cast<int>(static_cast<long>(nblocks) * (id + 1) / nt) * kRows);
}

}  // namespace

void linear_forward_range(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, int j0,
                          int j1, bool gelu) {
  matvec_range_any(out, inp, w, bias, N, j0, j1, gelu);
}

void linear_forward_team(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, bool gelu) {
  int j0, j1;
  thread_range(w.OC, &j0, &j1);
  matvec_range_any(out, inp, w, bias, N, j0, j1, gelu);
}

void matvec_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
  const WeightMatrix w{WeightFormat::kF32, weight, nullptr, OC, C};
#pragma omp parallel
  linear_forward_team(out, inp, w, bias, N, false);
}

void TeamBarrier::wait() {
  const int gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {  // the last one in
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    return;
  }
  // ~2000 pause instructions (~20-50 us) catch the usual arrival skew of a decode step;
  // past that the late thread is probably not running: give it our CPU.
  constexpr int kSpins = 2000;
  for (int spin = 0; generation_.load(std::memory_order_acquire) == gen; ++spin) {
    if (spin < kSpins) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield();
    }
  }
}

namespace {
constexpr int kMatvecMaxRows = 16;  // beyond a dozen rows or so a GEMM wins
}  // namespace

bool linear_rounds_to_bf16(WeightFormat f, int N) {
  return f == WeightFormat::kBF16 && N > kMatvecMaxRows && gemm_impl() == GemmImpl::kOwn;
}

void linear_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, bool gelu) {
  if (N <= kMatvecMaxRows) {
#pragma omp parallel
    linear_forward_team(out, inp, w, bias, N, gelu);
    return;
  }
  // Our GEMM over blocks of rows expanded to fp32 (the training path over a stored weight).
  // bf16 weights multiply in bf16 (the expanded values are bf16 exactly, so only the
  // activations are rounded, as in `train --dtype bf16`): the AVX512-BF16 kernel where the
  // CPU has it, the same rounding on the fp32 kernel elsewhere.
  // The GELU fused in place, tile by tile (gemm.h's gelu_out).
  stored_matmul_forward(out, inp, w, bias, N, linear_rounds_to_bf16(w.format, N), gelu ? out : nullptr);
}

}  // namespace chatforge::ops
