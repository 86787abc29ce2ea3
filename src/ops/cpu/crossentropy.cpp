// CPU softmax + cross-entropy over the real vocabulary (first V of Vp columns), with a
// per-token loss mask. Forward keeps the log-sum-exp of each row so backward needs one
// exp per logit and no second max/sum pass.
#include <cmath>
#include <vector>

#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                            const uint8_t* mask, int N, int V, int Vp) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const float* row = logits + static_cast<size_t>(i) * Vp;
    float maxv = row[0];
#pragma omp simd reduction(max : maxv)
    for (int v = 1; v < V; ++v) maxv = row[v] > maxv ? row[v] : maxv;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int v = 0; v < V; ++v) sum += vec::exp_approx(row[v] - maxv);
    lse[i] = maxv + std::log(sum);
    const bool on = mask == nullptr || mask[i] != 0;
    losses[i] = on ? lse[i] - row[targets[i]] : 0.0f;
  }
  double total = 0.0;  // summed in row order: deterministic
  for (int i = 0; i < N; ++i) total += losses[i];
  return total;
}

void crossentropy_backward(float* logits, const float* lse, const int32_t* targets, const uint8_t* mask, float dloss,
                           int N, int V, int Vp) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    float* row = logits + static_cast<size_t>(i) * Vp;
    const bool on = mask == nullptr || mask[i] != 0;
    if (!on) {
      for (int v = 0; v < Vp; ++v) row[v] = 0.0f;
      continue;
    }
    // forward was: loss = lse - logit[target], so dlogit = softmax - onehot(target)
    const float l = lse[i];
#pragma omp simd
    for (int v = 0; v < V; ++v) row[v] = vec::exp_approx(row[v] - l) * dloss;
    row[targets[i]] -= dloss;
    for (int v = V; v < Vp; ++v) row[v] = 0.0f;
  }
}

}  // namespace chatforge::ops
