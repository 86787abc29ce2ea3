// Reduced-precision weight storage for inference (see ops.h, WeightFormat): names, and the
// conversions fp32 -> f16 / bf16 / int8 (into the panel layout) and back. Portable bit
// arithmetic, rounding to nearest even exactly like the hardware converters (F16C
// vcvtps2ph, AVX512-BF16), so a matrix converted here and one expanded by the matvec
// kernels agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>

#if defined(__AVX512F__)
#include <immintrin.h>
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

void dequantize_rows(float* dst, const WeightMatrix& w, int j0, int j1) {
  const int C = w.C;
  if (w.format == WeightFormat::kF32) {
    std::memcpy(dst, static_cast<const float*>(w.data) + static_cast<size_t>(j0) * C,
                static_cast<size_t>(j1 - j0) * C * sizeof(float));
    return;
  }
  for (int j = j0; j < j1; ++j) {
    float* o = dst + static_cast<size_t>(j - j0) * C;
    const float sc = w.format == WeightFormat::kInt8 ? w.scale[j] : 1.0f;
    for_each_row_chunk(j, C, [&](int k0, size_t at, int width) {
      if (w.format == WeightFormat::kF16) {
        const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
        int c = 0;
#if defined(__AVX512F__)
        // vcvtph2ps is exact like f16_to_f32, and ~8x faster than its omp-simd form (the
        // prefill's sgemm path expands every weight: f16 prefill 156 -> 250 tok/s)
        if (simd_level() == SimdLevel::kAvx512)
          for (; c + 16 <= width; c += 16)
            _mm512_storeu_ps(o + k0 + c, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + c))));
#endif
        for (; c < width; ++c) o[k0 + c] = half::f16_to_f32(s[c]);
      } else if (w.format == WeightFormat::kBF16) {
        const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
#pragma omp simd
        for (int c = 0; c < width; ++c) o[k0 + c] = half::bf16_to_f32(s[c]);
      } else {
        const int8_t* s = static_cast<const int8_t*>(w.data) + at;
#pragma omp simd
        for (int c = 0; c < width; ++c) o[k0 + c] = sc * static_cast<float>(s[c]);
      }
    });
  }
}

}  // namespace chatforge::ops
