// CPU RMSNorm forward/backward (see ops.h): groups of D channels, H per row. Rows run in
// parallel; the weight gradient is reduced through per-thread partial sums added in thread
// order, so the result is deterministic for a given thread count (as LayerNorm's).
#include <omp.h>

#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace chatforge::ops {

namespace {
// Sum over D terms in 16 fixed lanes (vectorised, the same bits every run).
template <typename Fn>
inline float lane_sum(int D, Fn&& f) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= D; c += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += f(c + k);
  for (int k = 0; c < D; ++c, ++k) acc[k] += f(c);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int k = 0; k < w; ++k) acc[k] += acc[k + w];
  return acc[0];
}
}  // namespace

float rmsnorm_row(float* out, const float* x, const float* weight, int D, float eps) {
  const float s = 1.0f / std::sqrt(lane_sum(D, [&](int c) { return x[c] * x[c]; }) / D + eps);
  for (int c = 0; c < D; ++c) out[c] = x[c] * s * weight[c];
  return s;
}

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int H, int D, int ld,
                     float eps) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i)
    for (int h = 0; h < H; ++h) {
      const size_t at = static_cast<size_t>(i) * ld + static_cast<size_t>(h) * D;
      rstd[static_cast<size_t>(i) * H + h] = rmsnorm_row(out + at, inp + at, weight, D, eps);
    }
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int H, int D, int ld, bool accumulate) {
  const int nthreads = omp_get_max_threads();
  std::vector<float> partial(static_cast<size_t>(nthreads) * D, 0.0f);
#pragma omp parallel
  {
    float* pdw = partial.data() + static_cast<size_t>(omp_get_thread_num()) * D;
#pragma omp for schedule(static)
    for (int i = 0; i < N; ++i)
      for (int h = 0; h < H; ++h) {
        const size_t at = static_cast<size_t>(i) * ld + static_cast<size_t>(h) * D;
        const float* x = inp + at;
        const float* dy = dout + at;
        float* dx = dinp + at;
        const float s = rstd[static_cast<size_t>(i) * H + h];
        // forward was: y = x * s * w with s = (mean(x^2) + eps)^(-1/2), ds/dx_c = -s^3 x_c / D
        const float k = s * s * s * lane_sum(D, [&](int c) { return dy[c] * weight[c] * x[c]; }) / D;
        for (int c = 0; c < D; ++c) {
          const float g = s * dy[c] * weight[c] - k * x[c];  // read x and dy before dx may overwrite them
          pdw[c] += dy[c] * x[c] * s;
          dx[c] = accumulate ? dx[c] + g : g;
        }
      }
  }
  for (int t = 0; t < nthreads; ++t) {
    const float* pdw = partial.data() + static_cast<size_t>(t) * D;
    for (int c = 0; c < D; ++c) dweight[c] += pdw[c];
  }
}

}  // namespace chatforge::ops
