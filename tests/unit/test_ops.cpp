// Every fast CPU kernel against its scalar double reference (ops/reference), table-driven
// over shapes, including odd sizes that do not divide the vector width or block size.
#include <gtest/gtest.h>

#include <functional>

#include "op_test_util.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

using namespace chatforge;
using namespace chatforge::testing;
namespace ref = chatforge::ops::reference;

namespace {
struct Dims {
  int B, T, C, NH;
};
const Dims kShapes[] = {{1, 1, 8, 1}, {2, 5, 12, 3}, {3, 17, 64, 4}, {2, 33, 96, 6}};
constexpr double kTol = 2e-5;
}  // namespace

TEST(Ops, EncoderForwardBackward) {
  for (const Dims& d : kShapes) {
    Rng rng(1);
    const int V = 50, BT = d.B * d.T;
    std::vector<int32_t> ids(BT);
    for (auto& i : ids) i = static_cast<int32_t>(rng.below(V));
    auto wte = randn(V * d.C, rng), wpe = randn(d.T * d.C, rng), dout = randn(BT * d.C, rng);
    std::vector<double> out_r(BT * d.C), dwte_r(V * d.C, 0.5), dwpe_r(d.T * d.C, 0.5);
    ref::encoder_forward(out_r.data(), ids.data(), nullptr, wte.data(), wpe.data(), d.B, d.T, d.C);
    ref::encoder_backward(dwte_r.data(), dwpe_r.data(), dout.data(), ids.data(), nullptr, d.B, d.T, d.C);
    auto wte_f = to_f(wte), wpe_f = to_f(wpe), dout_f = to_f(dout);
    std::vector<float> out(BT * d.C), dwte(V * d.C, 0.5f), dwpe(d.T * d.C, 0.5f);
    ops::encoder_forward(out.data(), ids.data(), nullptr, wte_f.data(), wpe_f.data(), d.B, d.T, d.C);
    ops::encoder_backward(dwte.data(), dwpe.data(), dout_f.data(), ids.data(), nullptr, d.B, d.T, d.C);
    EXPECT_LT(max_err(out, out_r), kTol);
    EXPECT_LT(max_err(dwte, dwte_r), kTol);  // starts at 0.5: checks += accumulation
    EXPECT_LT(max_err(dwpe, dwpe_r), kTol);
  }
}

TEST(Ops, LayerNormForwardBackward) {
  for (const Dims& d : kShapes) {
    Rng rng(2);
    const int N = d.B * d.T, C = d.C;
    auto x = randn(N * C, rng, 2.0), w = randn(C, rng), b = randn(C, rng), dy = randn(N * C, rng);
    for (auto& v : x) v += 0.7;  // a non-zero mean
    std::vector<double> out_r(N * C), mean_r(N), rstd_r(N), dx_r(N * C, 0.25), dw_r(C, 0.5), db_r(C, 0.5);
    ref::layernorm_forward(out_r.data(), mean_r.data(), rstd_r.data(), x.data(), w.data(), b.data(), N, C);
    ref::layernorm_backward(dx_r.data(), dw_r.data(), db_r.data(), dy.data(), x.data(), w.data(), mean_r.data(),
                            rstd_r.data(), N, C);
    auto xf = to_f(x), wf = to_f(w), bf = to_f(b), dyf = to_f(dy);
    std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C, 0.25f), dw(C, 0.5f), db(C, 0.5f);
    ops::layernorm_forward(out.data(), mean.data(), rstd.data(), xf.data(), wf.data(), bf.data(), N, C);
    ops::layernorm_backward(dx.data(), dw.data(), db.data(), dyf.data(), xf.data(), wf.data(), mean.data(),
                            rstd.data(), N, C);
    EXPECT_LT(max_err(out, out_r), kTol);
    EXPECT_LT(max_err(mean, mean_r), kTol);
    EXPECT_LT(max_err(rstd, rstd_r), kTol);
    EXPECT_LT(max_err(dx, dx_r), kTol);  // += into the residual stream
    EXPECT_LT(max_err(dw, dw_r), kTol);
    EXPECT_LT(max_err(db, db_r), kTol);
  }
}

TEST(Ops, MatmulForwardBackward) {
  for (const Dims& d : kShapes) {
    for (bool with_bias : {true, false}) {
      Rng rng(3);
      const int N = d.B * d.T, C = d.C, OC = 3 * d.C + 1;
      auto x = randn(N * C, rng), w = randn(OC * C, rng), b = randn(OC, rng), dy = randn(N * OC, rng);
      std::vector<double> out_r(N * OC), dx_r(N * C), dw_r(OC * C, 0.5), db_r(OC, 0.5);
      const double* bp = with_bias ? b.data() : nullptr;
      ref::matmul_forward(out_r.data(), x.data(), w.data(), bp, N, C, OC);
      ref::matmul_backward(dx_r.data(), dw_r.data(), with_bias ? db_r.data() : nullptr, dy.data(), x.data(), w.data(),
                           N, C, OC);
      auto xf = to_f(x), wf = to_f(w), bf = to_f(b), dyf = to_f(dy);
      std::vector<float> out(N * OC), dx(N * C, 123.0f), dw(OC * C, 0.5f), db(OC, 0.5f);
      ops::matmul_forward(out.data(), xf.data(), wf.data(), with_bias ? bf.data() : nullptr, N, C, OC);
      ops::matmul_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, dyf.data(), xf.data(), wf.data(), N,
                           C, OC);
      EXPECT_LT(max_err(out, out_r), kTol);
      EXPECT_LT(max_err(dx, dx_r), kTol);  // overwritten (started at 123)
      EXPECT_LT(max_err(dw, dw_r), kTol);
      if (with_bias) {
        EXPECT_LT(max_err(db, db_r), kTol);
      }
    }
  }
}

// Document ids for B rows of T tokens: row b is cut into documents of varying lengths
// (the last row keeps one document), ids not in order (any equal ids form a document).
std::vector<int32_t> packed_docs(int B, int T, Rng& rng) {
  std::vector<int32_t> doc(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b) {
    int32_t id = 100 + b, left = b == B - 1 ? T : 1 + static_cast<int32_t>(rng.below(static_cast<uint64_t>(T)));
    for (int t = 0; t < T; ++t) {
      if (left-- == 0) {
        id = static_cast<int32_t>(rng.below(1000)) * 7 + 1;
        left = static_cast<int32_t>(rng.below(static_cast<uint64_t>(T))) ;
      }
      doc[static_cast<size_t>(b) * T + t] = id;
    }
  }
  return doc;
}

TEST(Ops, AttentionForwardBackward) {
  // shapes around the kernel's 64-query block: odd T, exactly one block, a partial last block
  const Dims shapes[] = {{1, 1, 8, 1}, {2, 5, 12, 3}, {3, 17, 64, 4}, {2, 33, 96, 6}, {1, 64, 16, 2},
                         {2, 130, 24, 3}, {1, 200, 16, 1}};
  for (const Dims& d : shapes)
    for (bool with_docs : {false, true}) {
      Rng rng(4);
      const int B = d.B, T = d.T, C = d.C, NH = d.NH;
      auto qkv = randn(B * T * 3 * C, rng), dy = randn(B * T * C, rng);
      const std::vector<int32_t> docs = packed_docs(B, T, rng);
      const int32_t* doc = with_docs ? docs.data() : nullptr;
      std::vector<double> out_r(B * T * C), lse_r(B * NH * T), dqkv_r(B * T * 3 * C);
      ref::attention_forward(out_r.data(), lse_r.data(), qkv.data(), doc, B, T, NH, NH, C / NH);
      ref::attention_backward(dqkv_r.data(), dy.data(), qkv.data(), out_r.data(), lse_r.data(), doc, B, T, NH, NH, C / NH);
      auto qkvf = to_f(qkv), dyf = to_f(dy);
      std::vector<float> out(B * T * C), lse(B * NH * T), dqkv(B * T * 3 * C, 7.0f);
      ops::attention_forward(out.data(), lse.data(), qkvf.data(), doc, B, T, NH, NH, C / NH);
      ops::attention_backward(dqkv.data(), dyf.data(), qkvf.data(), out.data(), lse.data(), doc, B, T, NH, NH, C / NH);
      EXPECT_LT(max_err(out, out_r), kTol) << "T=" << T << " docs=" << with_docs;
      EXPECT_LT(max_err(lse, lse_r), kTol) << "T=" << T << " docs=" << with_docs;
      EXPECT_LT(max_err(dqkv, dqkv_r), kTol) << "T=" << T << " docs=" << with_docs;  // overwritten (started at 7)
    }
}

TEST(Ops, AttentionDocumentsAreIndependent) {
  // a row holding documents [0,40) and [40,100) equals the two documents run alone
  Rng rng(41);
  const int T = 100, C = 32, NH = 4, split = 40;
  auto qkv = to_f(randn(static_cast<size_t>(T) * 3 * C, rng));
  std::vector<int32_t> doc(T);
  for (int t = 0; t < T; ++t) doc[t] = t < split ? 5 : 9;
  std::vector<float> packed(static_cast<size_t>(T) * C), lse(static_cast<size_t>(NH) * T);
  ops::attention_forward(packed.data(), lse.data(), qkv.data(), doc.data(), 1, T, NH, NH, C / NH);
  std::vector<float> alone(static_cast<size_t>(T) * C), lse1(static_cast<size_t>(NH) * T);
  ops::attention_forward(alone.data(), lse1.data(), qkv.data(), nullptr, 1, split, NH, NH, C / NH);
  ops::attention_forward(alone.data() + split * C, lse1.data(), qkv.data() + split * 3 * C, nullptr, 1, T - split, NH,
                         NH, C / NH);
  for (size_t i = 0; i < packed.size(); ++i) ASSERT_NEAR(packed[i], alone[i], 1e-6) << i;
}

TEST(Ops, GeluResidualScale) {
  Rng rng(5);
  const size_t n = 1001;
  auto x = randn(n, rng, 3.0), y = randn(n, rng), dy = randn(n, rng);
  std::vector<double> out_r(n), dx_r(n), res_r(n);
  ref::gelu_forward(out_r.data(), x.data(), n);
  ref::gelu_backward(dx_r.data(), x.data(), dy.data(), n);
  ref::residual_forward(res_r.data(), x.data(), y.data(), n);
  auto xf = to_f(x), yf = to_f(y), dyf = to_f(dy);
  std::vector<float> out(n), dx(n), res(n);
  ops::gelu_forward(out.data(), xf.data(), n);
  ops::gelu_backward(dx.data(), xf.data(), dyf.data(), n);
  ops::residual_forward(res.data(), xf.data(), yf.data(), n);
  EXPECT_LT(max_err(out, out_r), kTol);
  EXPECT_LT(max_err(dx, dx_r), kTol);
  EXPECT_LT(max_err(res, res_r), kTol);
  // in-place gelu backward (dinp aliases dout), as the model uses it
  std::vector<float> inplace = dyf;
  ops::gelu_backward(inplace.data(), xf.data(), inplace.data(), n);
  EXPECT_EQ(inplace, dx);
  double ss = 0;
  for (float v : xf) ss += static_cast<double>(v) * v;
  EXPECT_NEAR(ops::sum_squares(xf.data(), n), ss, 1e-9 * ss);
  ops::scale_inplace(xf.data(), n, 0.5f);
  EXPECT_FLOAT_EQ(xf[10], static_cast<float>(x[10]) * 0.5f);
}

TEST(Ops, CrossEntropyWithMaskAndPadding) {
  Rng rng(6);
  const int N = 37, V = 90, Vp = 128;
  auto logits = randn(N * Vp, rng, 3.0);
  std::vector<int32_t> targets(N);
  std::vector<uint8_t> mask(N);
  for (int i = 0; i < N; ++i) {
    targets[i] = static_cast<int32_t>(rng.below(V));
    mask[i] = rng.below(4) != 0;
  }
  for (const uint8_t* m : {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(mask.data())}) {
    std::vector<double> losses_r(N), lse_r(N), dl_r = logits;
    const double tot_r = ref::crossentropy_forward(losses_r.data(), lse_r.data(), logits.data(), targets.data(), m, N,
                                                   V, Vp);
    ref::crossentropy_backward(dl_r.data(), lse_r.data(), targets.data(), m, 0.1, N, V, Vp);
    auto lf = to_f(logits);
    std::vector<float> losses(N), lse(N);
    const double tot = ops::crossentropy_forward(losses.data(), lse.data(), lf.data(), targets.data(), m, N, V, Vp);
    ops::crossentropy_backward(lf.data(), lse.data(), targets.data(), m, 0.1f, N, V, Vp);
    EXPECT_NEAR(tot, tot_r, 1e-4);
    EXPECT_LT(max_err(losses, losses_r), kTol);
    EXPECT_LT(max_err(lf, dl_r), kTol);
    for (int i = 0; i < N; ++i)
      for (int v = V; v < Vp; ++v) ASSERT_EQ(lf[i * Vp + v], 0.0f);  // padding never gets gradient
  }
}

TEST(Ops, AdamWMatchesClosedFormFirstStep) {
  // After one step from m = v = 0: m = (1-b1) g, v = (1-b2) g^2, so mhat = g, vhat = g^2
  // and the update is lr * g / (|g| + eps) = lr * sign(g) (plus decoupled decay).
  std::vector<float> p = {1.0f, -2.0f, 0.5f}, g = {0.3f, -0.1f, 2.0f}, m(3), v(3);
  ops::AdamWParams hp;
  hp.lr = 0.01f;
  hp.weight_decay = 0.1f;
  ops::adamw_step(p.data(), g.data(), m.data(), v.data(), 3, hp, 1, 1.0f);
  EXPECT_NEAR(p[0], 1.0f * (1 - 0.001f) - 0.01f, 1e-6);
  EXPECT_NEAR(p[1], -2.0f * (1 - 0.001f) + 0.01f, 1e-6);
  EXPECT_NEAR(p[2], 0.5f * (1 - 0.001f) - 0.01f, 1e-6);
  EXPECT_NEAR(m[2], 0.1f * 2.0f, 1e-7);
  EXPECT_NEAR(v[2], 0.05f * 4.0f, 1e-6);
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
