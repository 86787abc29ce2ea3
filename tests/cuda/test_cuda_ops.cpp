// Every CUDA kernel (forward and backward) against the CPU ops on the same random inputs,
// in one table: each row runs an op on both backends and returns the largest difference
// of all its outputs relative to their scale; fp32 rows must agree tightly, bf16
// rows (GEMM inputs rounded to bf16) loosely. Then the whole model: GptCuda against Gpt
// for a loss, every gradient and an AdamW step. Skipped when no CUDA device is present.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "model/gpt.h"
#include "model/gpt_cuda.h"
#include "model/gpt_cuda_decode.h"
#include "op_test_util.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"

namespace chatforge {
namespace {

using cuda::DeviceArray;

std::vector<float> randf(size_t n, Rng& rng, double scale = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

template <class T>
DeviceArray<T> dev(const std::vector<T>& host) {
  DeviceArray<T> d(host.size());
  d.upload(host.data(), host.size());
  return d;
}

template <class T>
std::vector<T> host(const DeviceArray<T>& d) {
  std::vector<T> h(d.size());
  d.download(h.data(), h.size());
  return h;
}

// Max |got - want| / max |want| (1 when want is all zeros): the error relative to the
// output's scale, so small outputs (gradients of a mean loss) are held to the same bar.
double diff(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double e = 0, m = 0.0;
  for (float w : want) m = std::max(m, static_cast<double>(std::fabs(w)));
  if (m == 0.0) m = 1.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    e = std::max(e, std::isfinite(d) ? d : INFINITY);
  }
  return e / m;
}

struct OpCase {
  std::string name;
  std::function<double()> run;  // the largest difference over the op's outputs
  double tolerance;
};

// gtest prints a parameter when a row fails: its name, not its bytes.
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

// --- the rows ---------------------------------------------------------------------------

double encoder_case() {
  Rng rng(1);
  const int B = 3, T = 17, C = 40, V = 50;
  std::vector<int32_t> inp(B * T);
  for (auto& x : inp) x = static_cast<int32_t>(rng.below(V));
  inp[5] = inp[6] = inp[30] = 7;  // repeated ids accumulate into one row
  auto wte = randf(V * C, rng), wpe = randf(T * C, rng), dout = randf(B * T * C, rng);
  std::vector<float> out(B * T * C), dwte(V * C, 0.5f), dwpe(T * C, -0.25f);
  ops::encoder_forward(out.data(), inp.data(), nullptr, wte.data(), wpe.data(), B, T, C);
  auto d_out = dev(std::vector<float>(B * T * C)), d_wte = dev(wte), d_wpe = dev(wpe);
  auto d_inp = dev(inp);
  cuda::encoder_forward(d_out.data(), d_inp.data(), d_wte.data(), d_wpe.data(), B, T, C);
  double e = diff(host(d_out), out);
  auto d_dwte = dev(dwte), d_dwpe = dev(dwpe), d_dout = dev(dout);
  ops::encoder_backward(dwte.data(), dwpe.data(), dout.data(), inp.data(), nullptr, B, T, C);
  cuda::encoder_backward(d_dwte.data(), d_dwpe.data(), d_dout.data(), d_inp.data(), B, T, C);
  e = std::max(e, diff(host(d_dwte), dwte));
  return std::max(e, diff(host(d_dwpe), dwpe));
}

double layernorm_case(int N, int C, bool fused) {
  Rng rng(2);
  auto a = randf(N * C, rng, 2.0), b = randf(N * C, rng), w = randf(C, rng), bias = randf(C, rng);
  auto dout = randf(N * C, rng), dinp0 = randf(N * C, rng);
  std::vector<float> x = a;
  if (fused)
    for (int i = 0; i < N * C; ++i) x[i] = a[i] + b[i];
  std::vector<float> out(N * C), mean(N), rstd(N), dinp = dinp0, dw(C, 0.1f), db(C, 0.2f);
  ops::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(), N, C);
  auto d_a = dev(a), d_b = dev(b), d_w = dev(w), d_bias = dev(bias);
  DeviceArray<float> d_out(N * C), d_mean(N), d_rstd(N), d_res(N * C);
  double e = 0;
  if (fused) {
    cuda::residual_layernorm_forward(d_res.data(), d_out.data(), d_mean.data(), d_rstd.data(), d_a.data(), d_b.data(),
                                     d_w.data(), d_bias.data(), N, C);
    e = diff(host(d_res), x);
  } else {
    cuda::layernorm_forward(d_out.data(), d_mean.data(), d_rstd.data(), d_a.data(), d_w.data(), d_bias.data(), N, C);
  }
  e = std::max({e, diff(host(d_out), out), diff(host(d_mean), mean), diff(host(d_rstd), rstd)});
  ops::layernorm_backward(dinp.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), mean.data(),
                          rstd.data(), N, C);
  auto d_dinp = dev(dinp0), d_dw = dev(std::vector<float>(C, 0.1f)), d_db = dev(std::vector<float>(C, 0.2f));
  auto d_dout = dev(dout), d_x = dev(x);
  cuda::layernorm_backward(d_dinp.data(), d_dw.data(), d_db.data(), d_dout.data(), d_x.data(), d_w.data(),
                           d_mean.data(), d_rstd.data(), N, C);
  return std::max({e, diff(host(d_dinp), dinp), diff(host(d_dw), dw), diff(host(d_db), db)});
}

double matmul_case(int N, int C, int OC, bool with_bias, bool bf16) {
  Rng rng(3);
  auto inp = randf(N * C, rng), w = randf(OC * C, rng, 0.1), bias = randf(OC, rng), dout = randf(N * OC, rng);
  std::vector<float> out(N * OC), dinp(N * C), dw(OC * C, 0.5f), db(OC, 0.25f);
  const float* bp = with_bias ? bias.data() : nullptr;
  ops::matmul_forward(out.data(), inp.data(), w.data(), bp, N, C, OC);
  ops::matmul_backward(dinp.data(), dw.data(), with_bias ? db.data() : nullptr, dout.data(), inp.data(), w.data(), N,
                       C, OC);
  const auto p = bf16 ? cuda::Precision::kBf16 : cuda::Precision::kFp32;
  auto d_inp = dev(inp), d_w = dev(w), d_bias = dev(bias), d_dout = dev(dout);
  DeviceArray<float> d_out(N * OC), d_dinp(N * C);
  auto d_dw = dev(std::vector<float>(OC * C, 0.5f)), d_db = dev(std::vector<float>(OC, 0.25f));
  cuda::matmul_forward(d_out.data(), d_inp.data(), d_w.data(), with_bias ? d_bias.data() : nullptr, N, C, OC, p);
  cuda::matmul_backward(d_dinp.data(), d_dw.data(), with_bias ? d_db.data() : nullptr, d_dout.data(), d_inp.data(),
                        d_w.data(), N, C, OC, p);
  double e = std::max({diff(host(d_out), out), diff(host(d_dinp), dinp), diff(host(d_dw), dw)});
  if (with_bias) e = std::max(e, diff(host(d_db), db));
  return e;
}

double attention_case(int B, int T, int C, int NH) {
  Rng rng(4);
  auto qkv = randf(static_cast<size_t>(B) * T * 3 * C, rng), dout = randf(static_cast<size_t>(B) * T * C, rng);
  std::vector<float> out(B * T * C), lse(static_cast<size_t>(B) * NH * T), dqkv(qkv.size());
  ops::attention_forward(out.data(), lse.data(), qkv.data(), nullptr, B, T, C, NH);
  ops::attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), nullptr, B, T, C, NH);
  auto d_qkv = dev(qkv), d_dout = dev(dout);
  DeviceArray<float> d_out(out.size()), d_lse(static_cast<size_t>(B) * NH * T), d_dqkv(qkv.size()),
      d_scratch(static_cast<size_t>(B) * NH * T);
  cuda::attention_forward(d_out.data(), d_lse.data(), d_qkv.data(), B, T, C, NH);
  cuda::attention_backward(d_dqkv.data(), d_scratch.data(), d_dout.data(), d_qkv.data(), d_out.data(), d_lse.data(),
                           B, T, C, NH);
  // The CPU kernel keeps the same (B, NH, T) log-sum-exp rows.
  return std::max({diff(host(d_out), out), diff(host(d_dqkv), dqkv), diff(host(d_lse), lse)});
}

double attention_cached_case() {
  Rng rng(5);
  const int C = 64, NH = 4, pos0 = 9, Tq = 3, nseq = 2, ldq = 3 * C, ldo = C;
  const size_t cache = static_cast<size_t>(pos0 + Tq) * C;
  auto q = randf(static_cast<size_t>(nseq) * Tq * ldq, rng), kc = randf(nseq * cache, rng),
       vc = randf(nseq * cache, rng);
  std::vector<float> out(static_cast<size_t>(nseq) * Tq * ldo);
  for (int s = 0; s < nseq; ++s)
    ops::attention_cached_forward(out.data() + s * Tq * ldo, ldo, q.data() + s * Tq * ldq, ldq, kc.data() + s * cache,
                                  vc.data() + s * cache, pos0, Tq, C, NH);
  auto d_q = dev(q), d_k = dev(kc), d_v = dev(vc);
  DeviceArray<float> d_out(out.size());
  cuda::attention_cached_forward(d_out.data(), ldo, static_cast<size_t>(Tq) * ldo, d_q.data(), ldq,
                                 static_cast<size_t>(Tq) * ldq, d_k.data(), d_v.data(), cache, pos0, Tq, C, NH, nseq);
  return diff(host(d_out), out);
}

double elementwise_case() {
  Rng rng(6);
  const size_t n = 5000;
  auto x = randf(n, rng, 3.0), y = randf(n, rng), dout = randf(n, rng);
  std::vector<float> g(n), dg(n), r(n), s = x;
  ops::gelu_forward(g.data(), x.data(), n);
  ops::gelu_backward(dg.data(), x.data(), dout.data(), n);
  ops::residual_forward(r.data(), x.data(), y.data(), n);
  ops::scale_inplace(s.data(), n, 0.37f);
  auto d_x = dev(x), d_y = dev(y), d_dout = dev(dout), d_s = dev(x);
  DeviceArray<float> d_g(n), d_r(n);
  cuda::gelu_forward(d_g.data(), d_x.data(), n);
  cuda::gelu_backward(d_dout.data(), d_x.data(), d_dout.data(), n);  // in place, as the model calls it
  cuda::residual_forward(d_r.data(), d_x.data(), d_y.data(), n);
  cuda::scale_inplace(d_s.data(), n, 0.37f);
  const double sq = ops::sum_squares(x.data(), n), dsq = cuda::sum_squares(d_x.data(), n);
  return std::max({diff(host(d_g), g), diff(host(d_dout), dg), diff(host(d_r), r), diff(host(d_s), s),
                   std::fabs(sq - dsq) / sq});
}

double crossentropy_case(bool with_mask) {
  Rng rng(7);
  const int N = 37, V = 300, Vp = 384;
  auto logits = randf(N * Vp, rng, 3.0);
  std::vector<int32_t> targets(N);
  std::vector<uint8_t> mask(N);
  for (int i = 0; i < N; ++i) {
    mask[i] = rng.below(4) != 0;
    targets[i] = mask[i] || !with_mask ? static_cast<int32_t>(rng.below(V)) : -1;  // masked ids are never read
  }
  const uint8_t* mp = with_mask ? mask.data() : nullptr;
  std::vector<float> losses(N), lse(N), grad = logits;
  const double total = ops::crossentropy_forward(losses.data(), lse.data(), logits.data(), targets.data(), mp, N, V, Vp);
  ops::crossentropy_backward(grad.data(), lse.data(), targets.data(), mp, 0.03f, N, V, Vp);
  auto d_logits = dev(logits);
  auto d_targets = dev(targets);
  auto d_mask = dev(mask);
  DeviceArray<float> d_losses(N), d_lse(N);
  const double d_total = cuda::crossentropy_forward(d_losses.data(), d_lse.data(), d_logits.data(), d_targets.data(),
                                                    with_mask ? d_mask.data() : nullptr, N, V, Vp);
  cuda::crossentropy_backward(d_logits.data(), d_lse.data(), d_targets.data(), with_mask ? d_mask.data() : nullptr,
                              0.03f, N, V, Vp);
  return std::max({diff(host(d_losses), losses), diff(host(d_lse), lse), diff(host(d_logits), grad),
                   std::fabs(total - d_total) / std::max(1.0, std::fabs(total))});
}

double adamw_case() {
  Rng rng(8);
  const size_t n = 3000;
  auto p = randf(n, rng), g = randf(n, rng), m = randf(n, rng, 0.1), v = randf(n, rng, 0.1);
  for (auto& x : v) x = std::fabs(x);
  ops::AdamWParams hp;
  hp.lr = 1e-3f;
  hp.weight_decay = 0.1f;
  auto d_p = dev(p), d_g = dev(g), d_m = dev(m), d_v = dev(v);
  ops::adamw_step(p.data(), g.data(), m.data(), v.data(), n, hp, 7, 0.5f);
  cuda::adamw_step(d_p.data(), d_g.data(), d_m.data(), d_v.data(), n, hp, 7, 0.5f);
  return std::max({diff(host(d_p), p), diff(host(d_m), m), diff(host(d_v), v)});
}

std::vector<OpCase> cases() {
  return {
      {"encoder", encoder_case, 1e-6},
      {"layernorm", [] { return layernorm_case(70, 96, false); }, 1e-5},
      {"layernorm_wide", [] { return layernorm_case(9, 1000, false); }, 1e-5},
      {"residual_layernorm", [] { return layernorm_case(33, 64, true); }, 1e-5},
      {"matmul_fp32", [] { return matmul_case(65, 48, 80, true, false); }, 1e-5},
      {"matmul_fp32_nobias", [] { return matmul_case(130, 64, 384, false, false); }, 1e-5},
      {"matmul_bf16", [] { return matmul_case(65, 48, 80, true, true); }, 3e-2},
      {"attention_hs16", [] { return attention_case(2, 37, 64, 4); }, 1e-4},
      {"attention_hs32_long", [] { return attention_case(1, 130, 64, 2); }, 1e-4},
      {"attention_hs64", [] { return attention_case(2, 70, 128, 2); }, 1e-4},
      {"attention_hs8", [] { return attention_case(3, 20, 16, 2); }, 1e-4},
      {"attention_cached", attention_cached_case, 1e-5},
      {"gelu_residual_scale_sumsq", elementwise_case, 1e-5},
      {"crossentropy_masked", [] { return crossentropy_case(true); }, 1e-5},
      {"crossentropy_unmasked", [] { return crossentropy_case(false); }, 1e-5},
      {"adamw", adamw_case, 1e-6},
  };
}

class CudaOps : public ::testing::TestWithParam<OpCase> {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device: " << cuda::no_device_reason();
    cuda::set_device(0);
  }
};

TEST_P(CudaOps, MatchesCpu) {
  const OpCase& c = GetParam();
  const double e = c.run();
  cuda::synchronize();
  EXPECT_LE(e, c.tolerance) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Table, CudaOps, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<OpCase>& i) { return i.param.name; });

// Head sizes the kernels have no instance for are refused with a clear error.
TEST(CudaAttention, UnsupportedHeadSizeIsAnError) {
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device: " << cuda::no_device_reason();
  cuda::set_device(0);
  DeviceArray<float> qkv(3 * 128 * 4), out(128 * 4), lse(4);
  try {
    cuda::attention_forward(out.data(), lse.data(), qkv.data(), 1, 4, 128, 1);
    FAIL() << "head size 128 was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("head size 128"), std::string::npos) << e.what();
  }
}

// --- the whole model ------------------------------------------------------------------------

// One training step of a small GPT on both backends: the loss, every gradient and the
// parameters after one AdamW update. fp32 must match closely, bf16 loosely.
void model_step(bool bf16, double loss_tol, double grad_tol, double param_tol) {
  model::GptConfig cfg;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_embd = 64;
  cfg.vocab_size = 301;  // padded to 384: the padded rows must stay zero
  cfg.n_ctx = 48;
  model::Gpt cpu(cfg);
  cpu.init_weights(42);
  model::GptCuda gpu(cfg, bf16);
  gpu.upload_params(cpu.params().data());
  const int B = 3, T = 40;
  Rng rng(9);
  std::vector<int32_t> inp(B * T), targets(B * T);
  std::vector<uint8_t> mask(B * T);
  for (int i = 0; i < B * T; ++i) {
    inp[i] = static_cast<int32_t>(rng.below(cfg.vocab_size));
    targets[i] = static_cast<int32_t>(rng.below(cfg.vocab_size));
    mask[i] = i % 5 != 0;
  }
  float count = 0;
  for (auto m : mask) count += m;
  cpu.zero_grad();
  gpu.zero_grad();
  const double l_cpu = cpu.forward_loss(inp.data(), targets.data(), mask.data(), B, T) / count;
  const double l_gpu = gpu.forward_loss(inp.data(), targets.data(), mask.data(), B, T) / count;
  EXPECT_NEAR(l_gpu, l_cpu, loss_tol);
  cpu.backward(inp.data(), targets.data(), mask.data(), 1.0f / count);
  gpu.backward(1.0f / count);
  std::vector<float> g(gpu.num_params());
  gpu.download_grads(g.data());
  for (const auto& t : cpu.layout().tensors()) {
    std::vector<float> want(cpu.grads().data() + t.offset, cpu.grads().data() + t.offset + t.numel());
    std::vector<float> got(g.begin() + t.offset, g.begin() + t.offset + t.numel());
    EXPECT_LE(diff(got, want), grad_tol) << "gradient of " << t.name;
  }
  const double norm_cpu = std::sqrt(ops::sum_squares(cpu.grads().data(), cpu.grads().size()));
  EXPECT_NEAR(std::sqrt(gpu.grad_sum_squares()), norm_cpu, grad_tol * std::max(1.0, norm_cpu));
  // one AdamW step on both (the optimizer of train/ walks the same tensors)
  ops::AdamWParams hp;
  hp.lr = 1e-3f;
  hp.weight_decay = 0.1f;
  std::vector<float> m(cpu.params().size(), 0.0f), v(cpu.params().size(), 0.0f);
  for (const auto& t : cpu.layout().tensors()) {
    ops::AdamWParams p = hp;
    if (!t.weight_decay()) p.weight_decay = 0.0f;
    ops::adamw_step(cpu.params().data() + t.offset, cpu.grads().data() + t.offset, m.data() + t.offset,
                    v.data() + t.offset, t.numel(), p, 1, 1.0f);
  }
  gpu.adamw_update(hp, 1, 1.0f);
  std::vector<float> p(gpu.num_params());
  gpu.download_params(p.data());
  std::vector<float> want(cpu.params().data(), cpu.params().data() + cpu.params().size());
  EXPECT_LE(diff(p, want), param_tol);
}

class CudaModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device: " << cuda::no_device_reason();
    cuda::set_device(0);
  }
};

TEST_F(CudaModel, Fp32TrainingStepMatchesCpu) { model_step(false, 1e-5, 1e-4, 1e-6); }

// bf16 GEMM inputs: the loss and gradients move by bf16 rounding (8 bits of mantissa).
// AdamW's first step is lr * sign(g): a gradient near zero may flip sign, so parameters
// agree only to 2 lr there (the gradients are the real check).
TEST_F(CudaModel, Bf16TrainingStepTracksCpu) { model_step(true, 2e-2, 5e-2, 2.5e-3); }

TEST_F(CudaModel, DeterministicAcrossRuns) {
  model::GptConfig cfg;
  cfg.n_layer = 1;
  cfg.n_head = 2;
  cfg.n_embd = 32;
  cfg.vocab_size = 200;
  cfg.n_ctx = 32;
  model::Gpt cpu(cfg);
  cpu.init_weights(3);
  std::vector<int32_t> inp(2 * 32), targets(2 * 32);
  for (size_t i = 0; i < inp.size(); ++i) inp[i] = static_cast<int32_t>(i * 7 % 200), targets[i] = (i * 13) % 200;
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    model::GptCuda gpu(cfg, false);
    gpu.upload_params(cpu.params().data());
    gpu.forward_loss(inp.data(), targets.data(), nullptr, 2, 32);
    gpu.backward(1.0f / 64);
    std::vector<float> g(gpu.num_params());
    gpu.download_grads(g.data());
    if (run == 0) first = g;
    else EXPECT_EQ(g, first) << "two identical backward passes gave different bits";
  }
}

// The KV-cache decoder gives, position by position, the logits of the full forward pass
// on the CPU (two sequences decoded together, each its own tokens).
TEST_F(CudaModel, CachedDecodeMatchesFullForward) {
  model::GptConfig cfg;
  cfg.n_layer = 2;
  cfg.n_head = 2;
  cfg.n_embd = 64;
  cfg.vocab_size = 150;
  cfg.n_ctx = 24;
  model::Gpt cpu(cfg);
  cpu.init_weights(11);
  model::GptCuda gpu(cfg, false);
  gpu.upload_params(cpu.params().data());
  model::GptCudaDecoder dec(gpu, 2);
  const int T = 12, Vp = cfg.padded_vocab_size();
  std::vector<int32_t> seq[2];
  for (int t = 0; t < T; ++t) {
    seq[0].push_back((t * 37 + 5) % cfg.vocab_size);
    seq[1].push_back((t * 11 + 90) % cfg.vocab_size);
  }
  for (int s = 0; s < 2; ++s) {
    cpu.forward(seq[s].data(), 1, T);
    dec.reset();
    std::vector<float> want_all(cpu.activations().logits, cpu.activations().logits + static_cast<size_t>(T) * Vp);
    // decode both sequences together, compare sequence s at every position
    for (int t = 0; t < T; ++t) {
      const auto logits = dec.step({seq[0][t], seq[1][t]});
      std::vector<float> got(logits.begin() + s * cfg.vocab_size, logits.begin() + (s + 1) * cfg.vocab_size);
      std::vector<float> want(want_all.begin() + static_cast<size_t>(t) * Vp,
                              want_all.begin() + static_cast<size_t>(t) * Vp + cfg.vocab_size);
      EXPECT_LE(diff(got, want), 1e-4) << "sequence " << s << " position " << t;
    }
  }
}

}  // namespace
}  // namespace chatforge
