// CPU elementwise ops: GELU (tanh form), residual add, scaling, sum of squares.
#include <cmath>
#include <vector>

#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

namespace {
constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;
}  // namespace

void gelu_forward(float* out, const float* inp, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = vec::gelu(inp[i]);
}

void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float th = vec::tanh_approx(kGeluK * (x + kGeluC * x * x * x));
    const float sech2 = 1.0f - th * th;
    // forward was: y = 0.5 x (1 + tanh(u)), u = k (x + c x^3)
    const float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * kGeluK * (1.0f + 3.0f * kGeluC * x * x);
    dinp[i] = grad * dout[i];
  }
}

void residual_forward(float* out, const float* a, const float* b, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void scale_inplace(float* x, size_t n, float s) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] *= s;
}

double sum_squares(const float* x, size_t n) {
  // Fixed-size chunks, each summed by one thread, then added in chunk order: the same
  // bits for any thread count and any run (an OpenMP reduction combines in finish order).
  constexpr size_t kChunk = 1 << 14;
  const size_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(nchunks);
#pragma omp parallel for schedule(static)
  for (size_t c = 0; c < nchunks; ++c) {
    const size_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    double acc = 0.0;
    for (size_t i = c * kChunk; i < end; ++i) acc += static_cast<double>(x[i]) * x[i];
    partial[c] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace chatforge::ops
