// Branch-free float exp and tanh that GCC vectorises (AVX2/AVX-512) inside simd loops;
// libm's expf/tanhf are scalar calls and were ~15% of a training step (GELU and the
// vocabulary softmax). Accuracy: exp within 2 ulp over the clamped range [-87.3, 88.7];
// tanh within 2e-7 absolute. Checked against the double references in test_ops.
#pragma once
#include <cstdint>
#include <cstring>

namespace chatforge::ops::vec {

// exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 (two-step Cody-Waite), exp(r)
// by a degree-6 polynomial on |r| <= ln2/2.
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // round to nearest by the 1.5*2^23 trick: plain adds, so the loop vectorises
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)); for |x| < 0.0625 the odd Taylor series
// keeps the relative error small near zero.
inline float tanh_approx(float x) {
  const float ax = x < 0 ? -x : x;
  const float e = exp_approx(2.0f * (ax > 9.0f ? 9.0f : ax));
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float x2 = x * x;
  const float small = ax * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  const float t = ax < 0.0625f ? small : big;
  return x < 0 ? -t : t;
}

// GPT-2's tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); one definition for
// gelu_forward and the fused linear+GELU of decoding, so both round the same.
inline float gelu(float x) {
  constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
  constexpr float kGeluC = 0.044715f;
  return 0.5f * x * (1.0f + tanh_approx(kGeluK * (x + kGeluC * x * x * x)));
}

// 1 / (1 + exp(-x)), the SiLU's gate; exp clamped by exp_approx, so far tails give 0 or 1.
inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

}  // namespace chatforge::ops::vec
