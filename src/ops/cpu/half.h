// Scalar IEEE half and bfloat16 conversions (round to nearest even, like F16C's vcvtps2ph
// with imm 0 and AVX512-BF16's vcvtneps2bf16), portable so that builds without those
// instructions store the same bits. Worked examples: f32_to_f16(1.0f) = 0x3c00,
// f32_to_f16(65520.0f) = 0x7c00 (inf), f32_to_bf16(1.00390625f) = 0x3f80 (tie to even).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace chatforge::ops::half {

inline uint32_t bits_of(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline float float_of(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (a < 0x38800000u) {  // below 2^-14: a half subnormal m * 2^-24 (scaling by 2^24 is exact)
    const auto m = static_cast<uint32_t>(std::nearbyint(float_of(a) * 16777216.0f));
    return static_cast<uint16_t>(sign | m);  // m = 0x400 is the smallest normal: same bits
  }
  uint32_t r = a - (112u << 23);  // rebias the exponent 127 -> 15
  r += 0xfffu + ((r >> 13) & 1u);  // round the 13 dropped bits to nearest even
  return static_cast<uint16_t>(sign | (r >> 13));
}

// Branch-free, so omp-simd loops over it vectorise (the portable matvec's f16 decode was
// scalar: 9-10 tok/s at the GPT-2 124M shape against f32's 50+): the 15 magnitude bits
// shifted into an fp32 whose exponent is 112 too small, then scaled by 2^112 — exact for
// normals and subnormals alike (a half subnormal lands on an fp32 subnormal, so this needs
// denormals honoured, which nothing here turns off); exponent 31 (inf, NaN) takes fp32's
// all-ones exponent instead.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, mag = static_cast<uint32_t>(h & 0x7fffu) << 13;
  const float scaled = float_of(mag) * 5.192296858534828e33f;  // 2^112
  const uint32_t v = (h & 0x7c00u) == 0x7c00u ? (mag | 0x7f800000u) : bits_of(scaled);
  return float_of(sign | v);
}

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = bits_of(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16_to_f32(uint16_t b) { return float_of(static_cast<uint32_t>(b) << 16); }

}  // namespace chatforge::ops::half
