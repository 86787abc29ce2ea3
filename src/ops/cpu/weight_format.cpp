// Reduced-precision weight storage for inference (see ops.h, WeightFormat): names, and the
// conversions fp32 -> f16 / bf16 / int8 and back. Portable bit arithmetic, rounding to
// nearest even exactly like the hardware converters (F16C vcvtps2ph, AVX512-BF16), so a
// matrix converted here and one expanded by the matvec kernels agree bit for bit.
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "ops/cpu/half.h"
#include "ops/ops.h"

namespace chatforge::ops {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kF16: return "f16";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kInt8: return "int8";
  }
  return "?";
}

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

void quantize_weights(void* dst, float* scale, const float* src, int OC, int C, WeightFormat f) {
  const size_t n = static_cast<size_t>(OC) * C;
  switch (f) {
    case WeightFormat::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case WeightFormat::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < n; ++i) d[i] = half::f32_to_f16(src[i]);
      return;
    }
    case WeightFormat::kBF16: {
      auto* d = static_cast<uint16_t*>(dst);
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < n; ++i) d[i] = half::f32_to_bf16(src[i]);
      return;
    }
    case WeightFormat::kInt8: {
      auto* d = static_cast<int8_t*>(dst);
#pragma omp parallel for schedule(static)
      for (int j = 0; j < OC; ++j) {
        const float* w = src + static_cast<size_t>(j) * C;
        float maxabs = 0.0f;
        for (int c = 0; c < C; ++c) maxabs = std::fmax(maxabs, std::fabs(w[c]));
        scale[j] = maxabs / 127.0f;
        const float inv = maxabs > 0.0f ? 127.0f / maxabs : 0.0f;
        int8_t* q = d + static_cast<size_t>(j) * C;
        for (int c = 0; c < C; ++c) {
          const float r = std::nearbyint(w[c] * inv);
          q[c] = static_cast<int8_t>(r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r));
        }
      }
      return;
    }
  }
}

void dequantize_rows(float* dst, const WeightMatrix& w, int j0, int j1) {
  const size_t C = w.C, begin = static_cast<size_t>(j0) * C, n = static_cast<size_t>(j1 - j0) * C;
  switch (w.format) {
    case WeightFormat::kF32:
      std::memcpy(dst, static_cast<const float*>(w.data) + begin, n * sizeof(float));
      return;
    case WeightFormat::kF16: {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + begin;
#pragma omp simd
      for (size_t i = 0; i < n; ++i) dst[i] = half::f16_to_f32(s[i]);
      return;
    }
    case WeightFormat::kBF16: {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + begin;
#pragma omp simd
      for (size_t i = 0; i < n; ++i) dst[i] = half::bf16_to_f32(s[i]);
      return;
    }
    case WeightFormat::kInt8: {
      const int8_t* s = static_cast<const int8_t*>(w.data) + begin;
      for (int j = j0; j < j1; ++j) {
        const float sc = w.scale[j];
        const int8_t* q = s + static_cast<size_t>(j - j0) * C;
        float* o = dst + static_cast<size_t>(j - j0) * C;
#pragma omp simd
        for (size_t c = 0; c < C; ++c) o[c] = sc * static_cast<float>(q[c]);
      }
      return;
    }
  }
}

}  // namespace chatforge::ops
