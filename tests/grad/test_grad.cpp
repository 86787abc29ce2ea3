// Gradient checks: every reference backward (double) against central finite differences
// of its reference forward. A scalar objective sum(forward(x) * r) with a fixed random r
// makes d(objective)/dx = backward(r), which is what each check compares.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>

#include "op_test_util.h"
#include "ops/reference/reference_ops.h"

using namespace chatforge;
using namespace chatforge::testing;
namespace ref = chatforge::ops::reference;

namespace {
// Checks analytic[i] == d f / d x[i] for a sample of indices (or all when small).
void check_grad(std::vector<double>& x, const std::function<double()>& f, const std::vector<double>& analytic,
                const char* what) {
  const double h = 1e-6;
  const size_t stride = x.size() > 400 ? x.size() / 400 + 1 : 1;
  double worst = 0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const double old = x[i];
    x[i] = old + h;
    const double fp = f();
    x[i] = old - h;
    const double fm = f();
    x[i] = old;
    const double num = (fp - fm) / (2 * h);
    const double err = std::fabs(num - analytic[i]) / std::max(1.0, std::fabs(num));
    worst = std::max(worst, err);
  }
  EXPECT_LT(worst, 1e-6) << what;
}
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

TEST(Grad, Encoder) {
  Rng rng(11);
  const int B = 2, T = 3, C = 4, V = 5;
  std::vector<int32_t> ids = {0, 3, 3, 1, 4, 3};
  auto wte = randn(V * C, rng), wpe = randn(T * C, rng), r = randn(B * T * C, rng);
  std::vector<double> out(B * T * C), dwte(V * C), dwpe(T * C);
  auto f = [&] {
    ref::encoder_forward(out.data(), ids.data(), nullptr, wte.data(), wpe.data(), B, T, C);
    return dot(out, r);
  };
  ref::encoder_backward(dwte.data(), dwpe.data(), r.data(), ids.data(), nullptr, B, T, C);
  check_grad(wte, f, dwte, "dwte");
  check_grad(wpe, f, dwpe, "dwpe");
}

TEST(Grad, EncoderWithPositionIds) {
  // packed rows: positions restart at 0 for each document, so rows share wpe entries
  Rng rng(17);
  const int B = 2, T = 4, C = 3, V = 5;
  std::vector<int32_t> ids = {0, 3, 3, 1, 4, 3, 2, 2}, pos = {0, 1, 0, 1, 0, 0, 1, 2};
  auto wte = randn(V * C, rng), wpe = randn(T * C, rng), r = randn(B * T * C, rng);
  std::vector<double> out(B * T * C), dwte(V * C), dwpe(T * C);
  auto f = [&] {
    ref::encoder_forward(out.data(), ids.data(), pos.data(), wte.data(), wpe.data(), B, T, C);
    return dot(out, r);
  };
  ref::encoder_backward(dwte.data(), dwpe.data(), r.data(), ids.data(), pos.data(), B, T, C);
  check_grad(wte, f, dwte, "dwte");
  check_grad(wpe, f, dwpe, "dwpe");
  for (int c = 0; c < C; ++c) EXPECT_EQ(dwpe[3 * C + c], 0.0) << "position 3 is never used";
}

TEST(Grad, LayerNorm) {
  Rng rng(12);
  const int N = 5, C = 7;
  auto x = randn(N * C, rng), w = randn(C, rng), b = randn(C, rng), r = randn(N * C, rng);
  std::vector<double> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
  auto f = [&] {
    ref::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    return dot(out, r);
  };
  f();
  ref::layernorm_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), mean.data(), rstd.data(), N,
                          C);
  check_grad(x, f, dx, "dx");
  check_grad(w, f, dw, "dweight");
  check_grad(b, f, db, "dbias");
}

TEST(Grad, Matmul) {
  Rng rng(13);
  const int N = 6, C = 5, OC = 7;
  auto x = randn(N * C, rng), w = randn(OC * C, rng), b = randn(OC, rng), r = randn(N * OC, rng);
  std::vector<double> out(N * OC), dx(N * C), dw(OC * C), db(OC);
  auto f = [&] {
    ref::matmul_forward(out.data(), x.data(), w.data(), b.data(), N, C, OC);
    return dot(out, r);
  };
  ref::matmul_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), N, C, OC);
  check_grad(x, f, dx, "dx");
  check_grad(w, f, dw, "dweight");
  check_grad(b, f, db, "dbias");
}

// The flash-style reference backward (probabilities recomputed from lse, D = dout . out)
// against finite differences, for one document per row and for packed rows; odd T, T = 1.
TEST(Grad, Attention) {
  struct Case {
    int B, T, C, NH;
    std::vector<int32_t> doc;  // empty: one document per row
  };
  const Case cases[] = {
      {2, 5, 8, 2, {}},
      {1, 1, 6, 3, {}},
      {1, 1, 6, 3, {4}},
      {2, 7, 12, 3, {0, 0, 0, 1, 1, 2, 2, /**/ 3, 3, 3, 3, 3, 3, 9}},
      {1, 6, 8, 2, {5, 7, 5, 7, 7, 5}},  // interleaved ids: equal ids still form one document
  };
  for (const Case& c : cases) {
    Rng rng(14);
    const int B = c.B, T = c.T, C = c.C, NH = c.NH;
    const int32_t* doc = c.doc.empty() ? nullptr : c.doc.data();
    auto qkv = randn(B * T * 3 * C, rng), r = randn(B * T * C, rng);
    std::vector<double> out(B * T * C), lse(B * NH * T), dqkv(B * T * 3 * C);
    auto f = [&] {
      ref::attention_forward(out.data(), lse.data(), qkv.data(), doc, B, T, NH, NH, C / NH);
      return dot(out, r);
    };
    f();
    ref::attention_backward(dqkv.data(), r.data(), qkv.data(), out.data(), lse.data(), doc, B, T, NH, NH, C / NH);
    check_grad(qkv, f, dqkv, c.doc.empty() ? "dqkv" : "dqkv (documents)");
  }
}

TEST(Grad, Gelu) {
  Rng rng(15);
  const size_t n = 50;
  auto x = randn(n, rng, 3.0), r = randn(n, rng);
  std::vector<double> out(n), dx(n);
  auto f = [&] {
    ref::gelu_forward(out.data(), x.data(), n);
    return dot(out, r);
  };
  ref::gelu_backward(dx.data(), x.data(), r.data(), n);
  check_grad(x, f, dx, "dx");
}

TEST(Grad, CrossEntropyWithMask) {
  Rng rng(16);
  const int N = 6, V = 9, Vp = 16;
  auto logits = randn(N * Vp, rng, 2.0);
  std::vector<int32_t> targets = {0, 8, 3, 3, 5, 1};
  std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 1};
  std::vector<double> losses(N), lse(N);
  auto f = [&] { return ref::crossentropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), mask.data(), N, V, Vp); };
  f();
  std::vector<double> dl = logits;
  ref::crossentropy_backward(dl.data(), lse.data(), targets.data(), mask.data(), 1.0, N, V, Vp);
  check_grad(logits, f, dl, "dlogits");
}

TEST(Grad, RmsNormResidualStreamAndPerHead) {
  // H = 1 (the residual stream) and H = 3 heads inside a wider row (Qwen3's q/k norm)
  struct Groups {  // H heads of D channels in rows of ld
    int H, D, ld;
  };
  for (const Groups g : {Groups{1, 6, 6}, Groups{3, 4, 17}}) {
    const int H = g.H, D = g.D, ld = g.ld;  // plain locals: clang 14 cannot capture bindings
    Rng rng(21 + H);
    const int N = 3;
    auto x = randn(static_cast<size_t>(N) * ld, rng), w = randn(D, rng), r = randn(static_cast<size_t>(N) * ld, rng);
    for (int i = 0; i < N; ++i)  // channels outside the groups take no part
      for (int c = H * D; c < ld; ++c) r[static_cast<size_t>(i) * ld + c] = 0;
    std::vector<double> y(x.size()), rstd(N * H), dx(x.size(), 0.0), dw(D, 0.0);
    auto f = [&] {
      y.assign(x.size(), 0.0);
      ref::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, H, D, ld, 1e-6);
      return dot(y, r);
    };
    f();
    ref::rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), N, H, D, ld, true);
    check_grad(x, f, dx, "rmsnorm dx");
    check_grad(w, f, dw, "rmsnorm dw");
  }
}

TEST(Grad, RotaryEmbedding) {
  Rng rng(31);
  const int N = 4, H = 3, HS = 8, ld = 30;
  auto x = randn(static_cast<size_t>(N) * ld, rng), r = randn(x.size(), rng);
  std::vector<double> inv_freq(HS / 2);
  for (int k = 0; k < HS / 2; ++k) inv_freq[k] = std::pow(10000.0, -2.0 * k / HS);
  const std::vector<int32_t> pos = {0, 5, 17, 3};
  const double scale = 1.1;
  std::vector<double> y;
  auto f = [&] {
    y = x;
    ref::rope_forward(y.data(), pos.data(), inv_freq.data(), scale, N, H, HS, ld);
    return dot(y, r);
  };
  // d/dx sum(rope(x) * r) = rope_backward(r); channels past the H heads pass through
  std::vector<double> dx = r;
  ref::rope_backward(dx.data(), pos.data(), inv_freq.data(), scale, N, H, HS, ld);
  check_grad(x, f, dx, "rope dx");
}

TEST(Grad, SwiGlu) {
  Rng rng(41);
  const int N = 3, F = 5;
  auto x = randn(static_cast<size_t>(N) * 2 * F, rng, 2.0), r = randn(static_cast<size_t>(N) * F, rng);
  std::vector<double> y(static_cast<size_t>(N) * F), dx(x.size());
  auto f = [&] {
    ref::swiglu_forward(y.data(), x.data(), N, F);
    return dot(y, r);
  };
  ref::swiglu_backward(dx.data(), x.data(), r.data(), N, F);
  check_grad(x, f, dx, "swiglu dx");
}
