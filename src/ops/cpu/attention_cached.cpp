// CPU attention of a few new queries over a key/value cache (decode and chunked prefill):
// one task per (query rows, head), scores in a per-thread buffer, softmax with the same
// vectorised exp as the full-sequence kernel. Memory-bound: each key/value row is read once
// per head. attention_cached_head is the unit a fused decode step hands to its threads.
#include <cmath>
#include <vector>

#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

void attention_cached_head(float* out, int ldo, const float* q, int ldq, const float* kcache, const float* vcache,
                           int pos0, int Tq, int C, int NH, int h, float* scores) {
  const int HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  for (int t = 0; t < Tq; ++t) {
    const float* qh = q + static_cast<size_t>(t) * ldq + h * HS;
    const int n = pos0 + t + 1;  // keys visible to this query
    float maxv = -INFINITY;
    for (int s = 0; s < n; ++s) {
      const float* k = kcache + static_cast<size_t>(s) * C + h * HS;
      float d = 0.0f;
#pragma omp simd reduction(+ : d)
      for (int i = 0; i < HS; ++i) d += qh[i] * k[i];
      d *= scale;
      scores[s] = d;
      maxv = d > maxv ? d : maxv;
    }
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int s = 0; s < n; ++s) {
      scores[s] = vec::exp_approx(scores[s] - maxv);
      sum += scores[s];
    }
    const float inv = 1.0f / sum;
    float* o = out + static_cast<size_t>(t) * ldo + h * HS;
    for (int i = 0; i < HS; ++i) o[i] = 0.0f;
    for (int s = 0; s < n; ++s) {
      const float p = scores[s] * inv;
      const float* v = vcache + static_cast<size_t>(s) * C + h * HS;
#pragma omp simd
      for (int i = 0; i < HS; ++i) o[i] += p * v[i];
    }
  }
}

void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache,
                              const float* vcache, int pos0, int Tq, int C, int NH) {
#pragma omp parallel
  {
    std::vector<float> scores(static_cast<size_t>(pos0) + Tq);
#pragma omp for collapse(2) schedule(static)
    for (int t = 0; t < Tq; ++t)
      for (int h = 0; h < NH; ++h)
        attention_cached_head(out + static_cast<size_t>(t) * ldo, ldo, q + static_cast<size_t>(t) * ldq, ldq, kcache,
                              vcache, pos0 + t, 1, C, NH, h, scores.data());
  }
}

}  // namespace chatforge::ops
