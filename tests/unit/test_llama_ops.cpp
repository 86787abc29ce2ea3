// The Llama family's CPU kernels (RMSNorm, rotary embeddings, SwiGLU) against their double
// references (ops/reference), over shapes that do not divide the vector width, the
// per-head layout of Qwen3's q/k norm, and the accumulation rules of ops.h.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "op_test_util.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

using namespace chatforge;
using namespace chatforge::testing;
namespace ref = chatforge::ops::reference;

namespace {
constexpr double kTol = 2e-5;
}

TEST(LlamaOps, RmsNormForwardBackward) {
  for (const auto& [N, H, D, ld] : {std::tuple{1, 1, 8, 8}, std::tuple{7, 1, 37, 37}, std::tuple{33, 1, 96, 96},
                                    std::tuple{5, 4, 16, 96}, std::tuple{9, 2, 12, 40}}) {
    Rng rng(3 + N);
    auto x = randn(static_cast<size_t>(N) * ld, rng, 2.0), w = randn(D, rng), dy = randn(x.size(), rng);
    auto dx0 = randn(x.size(), rng);
    std::vector<double> y_r(x.size(), 0.0), rstd_r(N * H), dx_r = dx0, dw_r(D, 0.5);
    ref::rmsnorm_forward(y_r.data(), rstd_r.data(), x.data(), w.data(), N, H, D, ld, 1e-6);
    ref::rmsnorm_backward(dx_r.data(), dw_r.data(), dy.data(), x.data(), w.data(), rstd_r.data(), N, H, D, ld, true);
    auto xf = to_f(x), wf = to_f(w), dyf = to_f(dy);
    std::vector<float> y(x.size(), 0.0f), rstd(N * H), dx = to_f(dx0), dw(D, 0.5f);
    ops::rmsnorm_forward(y.data(), rstd.data(), xf.data(), wf.data(), N, H, D, ld, 1e-6f);
    ops::rmsnorm_backward(dx.data(), dw.data(), dyf.data(), xf.data(), wf.data(), rstd.data(), N, H, D, ld, true);
    EXPECT_LT(max_err(y, y_r), kTol) << N << "x" << H << "x" << D;
    EXPECT_LT(max_err(rstd, rstd_r), kTol);
    EXPECT_LT(max_err(dx, dx_r), kTol);  // += into non-zero values
    EXPECT_LT(max_err(dw, dw_r), kTol);
    // overwriting in place (the q/k norm's backward on dqkv): dinp aliases dout
    std::vector<double> gx_r(x.size(), 0.0), gw_r(D, 0.0);
    ref::rmsnorm_backward(gx_r.data(), gw_r.data(), dy.data(), x.data(), w.data(), rstd_r.data(), N, H, D, ld, false);
    std::vector<float> g = dyf, gw(D, 0.0f);
    ops::rmsnorm_backward(g.data(), gw.data(), g.data(), xf.data(), wf.data(), rstd.data(), N, H, D, ld, false);
    for (int i = 0; i < N; ++i)  // channels outside the groups are the gradient as it was
      for (int c = H * D; c < ld; ++c) gx_r[static_cast<size_t>(i) * ld + c] = dy[static_cast<size_t>(i) * ld + c];
    EXPECT_LT(max_err(g, gx_r), kTol);
  }
}

TEST(LlamaOps, RotaryEmbeddingForwardBackward) {
  for (const auto& [N, H, HS, ld, theta] : {std::tuple{1, 1, 8, 8, 10000.0}, std::tuple{6, 5, 64, 400, 1e6},
                                            std::tuple{9, 3, 6, 20, 500000.0}}) {
    Rng rng(5 + N);
    auto x = randn(static_cast<size_t>(N) * ld, rng);
    std::vector<double> inv(HS / 2);
    for (int k = 0; k < HS / 2; ++k) inv[k] = static_cast<float>(std::pow(theta, -2.0 * k / HS));
    std::vector<int32_t> pos(N);
    for (int i = 0; i < N; ++i) pos[i] = (i * 37) % 1000;
    std::vector<double> y_r = x;
    ref::rope_forward(y_r.data(), pos.data(), inv.data(), 1.0, N, H, HS, ld);
    auto y = to_f(x), invf = to_f(inv);
    ops::rope_forward(y.data(), pos.data(), invf.data(), 1.0f, N, H, HS, ld);
    // angles up to ~1000 radians in float32: absolute error ~1e-4 of a unit value is the
    // float rounding of the angle itself, the same in transformers
    EXPECT_LT(max_err(y, y_r), 2e-4) << N << "x" << H << "x" << HS;
    std::vector<double> back_r = y_r;
    ref::rope_backward(back_r.data(), pos.data(), inv.data(), 1.0, N, H, HS, ld);
    double undo = 0;  // the transpose of a rotation undoes it
    for (size_t i = 0; i < x.size(); ++i) undo = std::max(undo, std::fabs(back_r[i] - x[i]));
    EXPECT_LT(undo, 1e-12);
    ops::rope_backward(y.data(), pos.data(), invf.data(), 1.0f, N, H, HS, ld);
    EXPECT_LT(max_err(y, x), 4e-4);
  }
}

TEST(LlamaOps, SwiGluForwardBackward) {
  for (const auto& [N, F] : {std::pair{1, 1}, std::pair{3, 17}, std::pair{8, 100}}) {
    Rng rng(7 + F);
    auto x = randn(static_cast<size_t>(N) * 2 * F, rng, 3.0), dy = randn(static_cast<size_t>(N) * F, rng);
    std::vector<double> y_r(static_cast<size_t>(N) * F), dx_r(x.size());
    ref::swiglu_forward(y_r.data(), x.data(), N, F);
    ref::swiglu_backward(dx_r.data(), x.data(), dy.data(), N, F);
    auto xf = to_f(x), dyf = to_f(dy);
    std::vector<float> y(y_r.size()), dx(x.size());
    ops::swiglu_forward(y.data(), xf.data(), N, F);
    ops::swiglu_backward(dx.data(), xf.data(), dyf.data(), N, F);
    EXPECT_LT(max_err(y, y_r), kTol);
    EXPECT_LT(max_err(dx, dx_r), kTol);
  }
}
