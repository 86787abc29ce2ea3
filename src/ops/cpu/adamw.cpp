// CPU AdamW, written to match torch.optim.AdamW (foreach=False) operation by operation:
//   p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
#include <cmath>

#include "ops/ops.h"

namespace chatforge::ops {

void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const AdamWParams& hp, int t,
                float grad_scale) {
  const float bias1 = 1.0f - std::pow(hp.beta1, static_cast<float>(t));
  const float bias2_sqrt = std::sqrt(1.0f - std::pow(hp.beta2, static_cast<float>(t)));
  const float step_size = hp.lr / bias1;
  const float decay = 1.0f - hp.lr * hp.weight_decay;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = grads[i] * grad_scale;
    const float mi = hp.beta1 * m[i] + (1.0f - hp.beta1) * g;
    const float vi = hp.beta2 * v[i] + (1.0f - hp.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = params[i] * decay;
    params[i] = p - step_size * (mi / (std::sqrt(vi) / bias2_sqrt + hp.eps));
  }
}

}  // namespace chatforge::ops
