// What the backend table (test_backend_ops.cpp) rests on and does not cover: the CPU's
// vector math against the C library, and the double references against closed forms.
// Every backend op itself is checked against the references in test_backend_ops.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ops/cpu/vec_math.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

using namespace chatforge;
namespace ref = chatforge::ops::reference;

TEST(Ops, ReferenceAdamWMatchesClosedFormFirstStep) {
  // After one step from m = v = 0: m = (1-b1) g, v = (1-b2) g^2, so mhat = g, vhat = g^2
  // and the update is lr * g / (|g| + eps) = lr * sign(g) (plus decoupled decay).
  std::vector<double> p = {1.0, -2.0, 0.5}, g = {0.3, -0.1, 2.0}, m(3), v(3);
  const ops::AdamWParams hp;  // the defaults the trainer starts from
  ref::adamw_step(p.data(), g.data(), m.data(), v.data(), 3, 0.01, double(hp.beta1), double(hp.beta2), 1e-8, 0.1, 1,
                  1.0);
  EXPECT_NEAR(p[0], 1.0 * (1 - 0.001) - 0.01, 1e-9);
  EXPECT_NEAR(p[1], -2.0 * (1 - 0.001) + 0.01, 1e-9);
  EXPECT_NEAR(p[2], 0.5 * (1 - 0.001) - 0.01, 1e-9);
  EXPECT_NEAR(m[2], (1 - double(hp.beta1)) * 2.0, 1e-12);
  EXPECT_NEAR(v[2], (1 - double(hp.beta2)) * 4.0, 1e-12);
  // and the fp32 CPU kernel agrees with the closed form too
  std::vector<float> pf = {1.0f, -2.0f, 0.5f}, gf = {0.3f, -0.1f, 2.0f}, mf(3), vf(3);
  ops::AdamWParams h = hp;
  h.lr = 0.01f;
  h.weight_decay = 0.1f;
  ops::adamw_step(pf.data(), gf.data(), mf.data(), vf.data(), 3, h, 1, 1.0f);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(pf[i], p[i], 1e-6) << i;
}

TEST(Ops, ReferenceCrossEntropyOfUniformLogitsIsLogV) {
  // equal logits: every token has probability 1/V, so the loss is log V and the gradient
  // (1/V - onehot) * dloss; padded columns get nothing
  const int N = 2, V = 10, Vp = 16;
  std::vector<double> logits(N * Vp, 0.5), losses(N), lse(N);
  const int32_t targets[] = {3, 9};
  const double total = ref::crossentropy_forward(losses.data(), lse.data(), logits.data(), targets, nullptr, N, V, Vp);
  EXPECT_NEAR(total, 2 * std::log(10.0), 1e-12);
  ref::crossentropy_backward(logits.data(), lse.data(), targets, nullptr, 0.5, N, V, Vp);
  EXPECT_NEAR(logits[3], (0.1 - 1) * 0.5, 1e-12);
  EXPECT_NEAR(logits[4], 0.1 * 0.5, 1e-12);
  EXPECT_EQ(logits[V], 0.0);
}

TEST(Ops, VectorExpAndTanhAreAccurate) {
  double worst_exp = 0, worst_tanh = 0;
  for (double xd = -87.0; xd <= 88.0; xd += 0.001) {
    const float x = static_cast<float>(xd);  // compare at the float input itself
    const double want = std::exp(static_cast<double>(x));
    worst_exp = std::max(worst_exp, std::fabs(ops::vec::exp_approx(x) - want) / want);
  }
  for (double xd = -12.0; xd <= 12.0; xd += 0.0001) {
    const float x = static_cast<float>(xd);
    worst_tanh = std::max(worst_tanh, std::fabs(ops::vec::tanh_approx(x) - std::tanh(static_cast<double>(x))));
  }
  std::printf("exp max rel err %.3g, tanh max abs err %.3g\n", worst_exp, worst_tanh);
  EXPECT_LT(worst_exp, 3e-7);
  EXPECT_LT(worst_tanh, 3e-7);
  EXPECT_EQ(ops::vec::exp_approx(-1000.0f) < 1e-37f, true);
  EXPECT_EQ(ops::vec::tanh_approx(0.0f), 0.0f);
}
