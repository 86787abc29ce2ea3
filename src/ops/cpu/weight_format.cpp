// Reduced-precision weight storage for inference (see ops.h, WeightFormat): names, and the
// conversions fp32 -> f16 / bf16 / int8 (into the panel layout) and back. Portable bit
// arithmetic, rounding to nearest even exactly like the hardware converters (F16C
// vcvtps2ph, AVX512-BF16), so a matrix converted here and one expanded by the matvec
// kernels agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
// GCC 12 flags its own vcvtph2ps intrinsic as maybe-uninitialized (GCC bug 105593)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

#include "core/error.h"
#include "ops/cpu/half.h"
#include "ops/cpu/simd.h"
#include "ops/ops.h"

namespace chatforge::ops {

bool parse_weight_format(const char* name, WeightFormat* out) {
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8})
    if (std::strcmp(name, weight_format_name(f)) == 0) {
      *out = f;
      return true;
    }
  return false;
}

size_t weight_format_bytes(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return 4;
    case WeightFormat::kF16:
    case WeightFormat::kBF16: return 2;
    case WeightFormat::kInt8: return 1;
  }
  return 4;
}

size_t weight_storage_bytes(int OC, int C, WeightFormat f) {
  const size_t rows = f == WeightFormat::kF32 ? OC : (OC + kPanelRows - 1) / kPanelRows * kPanelRows;
  return rows * static_cast<size_t>(C) * weight_format_bytes(f);
}

namespace {
// Row j of a stored matrix, as the format's elements, gathered from / scattered into its
// panels: a row's chunk k is contiguous (width of chunk k).
template <typename Fn>
void for_each_row_chunk(int j, int C, Fn&& fn) {
  for (int k0 = 0; k0 < C; k0 += kPanelCols) fn(k0, panel_index(j, k0, C), std::min(kPanelCols, C - k0));
}
}  // namespace

void quantize_weights(void* dst, float* scale, const float* src, int OC, int C, WeightFormat f) {
  if (f == WeightFormat::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(OC) * C * sizeof(float));
    return;
  }
  quantize_rows(dst, scale, src, 0, OC, OC, C, f);
  const int padded = (OC + kPanelRows - 1) / kPanelRows * kPanelRows;
  for (int j = OC; j < padded; ++j)  // zero rows completing the last panel
    for_each_row_chunk(j, C, [&](int, size_t at, int width) {
      std::memset(static_cast<uint8_t*>(dst) + at * weight_format_bytes(f), 0, width * weight_format_bytes(f));
    });
}

void quantize_rows(void* dst, float* scale, const float* src, int j0, int j1, int OC, int C, WeightFormat f) {
  CF_CHECK(0 <= j0 && j0 <= j1 && j1 <= OC, "quantize_rows: rows [{}, {}) of a {}-row matrix", j0, j1, OC);
  if (f == WeightFormat::kF32) {
    std::memcpy(static_cast<float*>(dst) + static_cast<size_t>(j0) * C, src,
                static_cast<size_t>(j1 - j0) * C * sizeof(float));
    return;
  }
#pragma omp parallel for schedule(static)
  for (int j = j0; j < j1; ++j) {
    const float* w = src + static_cast<size_t>(j - j0) * C;
    float inv = 0.0f;
    if (f == WeightFormat::kInt8) {
      float maxabs = 0.0f;
      for (int c = 0; c < C; ++c) maxabs = std::fmax(maxabs, std::fabs(w[c]));
      scale[j] = maxabs / 127.0f;
      inv = maxabs > 0.0f ? 127.0f / maxabs : 0.0f;
    }
    for_each_row_chunk(j, C, [&](int k0, size_t at, int width) {
      for (int c = 0; c < width; ++c) {
        const float x = w[k0 + c];
        if (f == WeightFormat::kF16) {
          static_cast<uint16_t*>(dst)[at + c] = half::f32_to_f16(x);
        } else if (f == WeightFormat::kBF16) {
          static_cast<uint16_t*>(dst)[at + c] = half::f32_to_bf16(x);
        } else {
          const float r = std::nearbyint(x * inv);
          static_cast<int8_t*>(dst)[at + c] = static_cast<int8_t>(r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r));
        }
      }
    });
  }
}

namespace {

// The first multiple-of-the-vector-width values of a bf16 / int8 run converted with this
// CPU's widest SIMD level in use; returns how many (the caller converts the rest). Exact:
// the same bits as half::bf16_to_f32 and sc * float(q).
int bf16_to_f32_simd(float* o, const uint16_t* s, int n) {
  int i = 0;
#if defined(__AVX512F__)
  if (simd_level() == SimdLevel::kAvx512) {
    for (; i + 16 <= n; i += 16) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
      _mm512_storeu_ps(o + i, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
    }
    return i;
  }
#endif
#if defined(__AVX2__)
  if (simd_level() != SimdLevel::kScalar)
    for (; i + 8 <= n; i += 8) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      _mm256_storeu_ps(o + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
    }
#endif
  return i;
}

int int8_to_f32_simd(float* o, const int8_t* s, int n, float sc) {
  int i = 0;
#if defined(__AVX512F__)
  if (simd_level() == SimdLevel::kAvx512) {
    const __m512 v = _mm512_set1_ps(sc);
    for (; i + 16 <= n; i += 16) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      _mm512_storeu_ps(o + i, _mm512_mul_ps(v, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
    }
    return i;
  }
#endif
#if defined(__AVX2__)
  if (simd_level() != SimdLevel::kScalar) {
    const __m256 v = _mm256_set1_ps(sc);
    for (; i + 8 <= n; i += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i));
      _mm256_storeu_ps(o + i, _mm256_mul_ps(v, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
#endif
  return i;
}

}  // namespace

void dequantize_row_segment(float* dst, const WeightMatrix& w, int row, int c0, int n) {
  if (w.format == WeightFormat::kF32) {
    std::memcpy(dst, static_cast<const float*>(w.data) + static_cast<size_t>(row) * w.C + c0, n * sizeof(float));
    return;
  }
  const float sc = w.format == WeightFormat::kInt8 ? w.scale[row] : 1.0f;
  for (int c = c0; c < c0 + n;) {  // one 32-wide chunk of the row panel at a time
    const int chunk0 = c / kPanelCols * kPanelCols, width = std::min(kPanelCols, w.C - chunk0);
    const int take = std::min(chunk0 + width, c0 + n) - c;
    const size_t at = panel_index(row, c, w.C);
    float* o = dst + (c - c0);
    if (w.format == WeightFormat::kF16) {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
      int i = 0;
#if defined(__AVX512F__)
      // vcvtph2ps is exact like f16_to_f32, and ~8x faster than its omp-simd form (the
      // prefill's GEMM converts every weight: f16 prefill 156 -> 250 tok/s)
      if (simd_level() == SimdLevel::kAvx512)
        for (; i + 16 <= take; i += 16)
          _mm512_storeu_ps(o + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i))));
#endif
      for (; i < take; ++i) o[i] = half::f16_to_f32(s[i]);
    } else if (w.format == WeightFormat::kBF16) {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
      // bf16 -> fp32 is the bits shifted up 16; the SIMD forms are ~10x the loop below,
      // which the LoRA step's packs of a bf16 base spent 12% of the step in
      const int i = bf16_to_f32_simd(o, s, take);
      for (int k = i; k < take; ++k) o[k] = half::bf16_to_f32(s[k]);
    } else {
      const int8_t* s = static_cast<const int8_t*>(w.data) + at;
      const int i = int8_to_f32_simd(o, s, take, sc);
      for (int k = i; k < take; ++k) o[k] = sc * static_cast<float>(s[k]);  // one rounding: as the SIMD forms
    }
    c += take;
  }
}

void dequantize_rows(float* dst, const WeightMatrix& w, int j0, int j1) {
  for (int j = j0; j < j1; ++j) dequantize_row_segment(dst + static_cast<size_t>(j - j0) * w.C, w, j, 0, w.C);
}

}  // namespace chatforge::ops
