// CPU LayerNorm forward/backward (see ops.h). Rows run in parallel; the weight/bias
// gradients are reduced through per-thread partial sums added in thread order, so the
// result is deterministic for a given thread count.
#include <omp.h>

#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace chatforge::ops {

namespace {
// Row sums over 16 lanes in a fixed pattern, added in a fixed order: vectorised (a plain
// `sum += x[c]` is one chain of dependent adds the compiler may not reorder) and the same
// bits every run. f(c) is the c-th term. 2048 rows x 384 channels, 2 threads: forward
// 0.85 -> 0.14 ms, backward 1.43 -> 0.78 ms (the small bench config calls each 13 times a step).
constexpr int kLanes = 16;
template <typename F>
inline float lane_sum(int C, F&& f) {
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += f(c + k);
  for (int k = 0; c < C; ++c, ++k) acc[k] += f(c);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int k = 0; k < w; ++k) acc[k] += acc[k + w];
  return acc[0];
}
}  // namespace

void layernorm_row(float* out, const float* x, const float* weight, const float* bias, int C, float* mean,
                   float* rstd) {
  const float m = lane_sum(C, [&](int c) { return x[c]; }) / C;
  const float var = lane_sum(C, [&](int c) {
                      const float d = x[c] - m;
                      return d * d;
                    }) / C;
  const float s = 1.0f / std::sqrt(var + 1e-5f);
  for (int c = 0; c < C; ++c) out[c] = (x[c] - m) * s * weight[c] + bias[c];
  if (mean) *mean = m;
  if (rstd) *rstd = s;
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i)
    layernorm_row(out + static_cast<size_t>(i) * C, inp + static_cast<size_t>(i) * C, weight, bias, C, &mean[i],
                  &rstd[i]);
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C) {
  const int nthreads = omp_get_max_threads();
  std::vector<float> partial(static_cast<size_t>(nthreads) * 2 * C, 0.0f);
#pragma omp parallel
  {
    float* pdw = partial.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * C;
    float* pdb = pdw + C;
#pragma omp for schedule(static)
    for (int i = 0; i < N; ++i) {
      const float* x = inp + static_cast<size_t>(i) * C;
      const float* dy = dout + static_cast<size_t>(i) * C;
      float* dx = dinp + static_cast<size_t>(i) * C;
      const float m = mean[i], s = rstd[i];
      // forward was: y = xhat * w + b with xhat = (x - mean) * rstd
      const float dnorm_mean = lane_sum(C, [&](int c) { return weight[c] * dy[c]; }) / C;
      const float dnorm_norm_mean = lane_sum(C, [&](int c) { return weight[c] * dy[c] * ((x[c] - m) * s); }) / C;
      for (int c = 0; c < C; ++c) {
        const float xhat = (x[c] - m) * s;
        const float dnorm = weight[c] * dy[c];
        pdb[c] += dy[c];
        pdw[c] += xhat * dy[c];
        dx[c] += (dnorm - dnorm_mean - xhat * dnorm_norm_mean) * s;
      }
    }
  }
  for (int t = 0; t < nthreads; ++t) {
    const float* pdw = partial.data() + static_cast<size_t>(t) * 2 * C;
    for (int c = 0; c < C; ++c) {
      dweight[c] += pdw[c];
      dbias[c] += pdw[C + c];
    }
  }
}

}  // namespace chatforge::ops
