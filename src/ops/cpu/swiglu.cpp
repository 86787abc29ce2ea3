// CPU SwiGLU forward/backward (see ops.h): elementwise over (N, F), vectorised by the
// branch-free sigmoid of vec_math.h.
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

void swiglu_forward(float* out, const float* inp, int N, int F) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const float* g = inp + static_cast<size_t>(i) * 2 * F;
    const float* u = g + F;
    float* y = out + static_cast<size_t>(i) * F;
#pragma omp simd
    for (int j = 0; j < F; ++j) y[j] = g[j] * vec::sigmoid(g[j]) * u[j];
  }
}

void swiglu_backward(float* dinp, const float* inp, const float* dout, int N, int F) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const float* g = inp + static_cast<size_t>(i) * 2 * F;
    const float* u = g + F;
    const float* dy = dout + static_cast<size_t>(i) * F;
    float* dg = dinp + static_cast<size_t>(i) * 2 * F;
    float* du = dg + F;
#pragma omp simd
    for (int j = 0; j < F; ++j) {
      const float s = vec::sigmoid(g[j]);
      // forward was: y = g * s(g) * u
      dg[j] = dy[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
      du[j] = dy[j] * g[j] * s;
    }
  }
}

}  // namespace chatforge::ops
