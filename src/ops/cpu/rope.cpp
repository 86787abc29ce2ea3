// CPU rotary position embeddings (see ops.h), rotate-half as Hugging Face computes them:
// the angle pos * inv_freq[k] in float32 and its cos/sin in float32, as transformers'
// rotary embedding does, so logits agree to float rounding. Rows run in parallel; the
// cos/sin of a row are computed once and used for all its heads.
#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace chatforge::ops {
namespace {

void rope_rows(float* x, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS, int ld,
               float sign) {
  const int half = HS / 2;
#pragma omp parallel
  {
    std::vector<float> cs(static_cast<size_t>(half) * 2);
#pragma omp for schedule(static)
    for (int i = 0; i < N; ++i) {
      const float p = static_cast<float>(pos[i]);
      for (int k = 0; k < half; ++k) {
        const float a = p * inv_freq[k];
        cs[k] = std::cos(a) * scale;
        cs[half + k] = sign * std::sin(a) * scale;
      }
      for (int h = 0; h < H; ++h) {
        float* v = x + static_cast<size_t>(i) * ld + static_cast<size_t>(h) * HS;
#pragma omp simd
        for (int k = 0; k < half; ++k) {
          const float x0 = v[k], x1 = v[k + half], c = cs[k], s = cs[half + k];
          v[k] = x0 * c - x1 * s;
          v[k + half] = x1 * c + x0 * s;
        }
      }
    }
  }
}

}  // namespace

void rope_forward(float* x, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS, int ld) {
  rope_rows(x, pos, inv_freq, scale, N, H, HS, ld, 1.0f);
}

void rope_backward(float* dx, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS, int ld) {
  // forward was: x' = R(angle) x * scale, so dx = R(angle)^T dx' * scale = R(-angle) dx' * scale
  rope_rows(dx, pos, inv_freq, scale, N, H, HS, ld, -1.0f);
}

}  // namespace chatforge::ops
