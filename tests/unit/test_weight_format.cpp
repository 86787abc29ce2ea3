// Reduced-precision inference weights: the f16 / bf16 conversions on known bit patterns
// (rounding to nearest even, subnormals, overflow), int8 per-row rounding error, every
// linear-layer schedule (matvec, team matvec inside a parallel region, sgemm over expanded
// blocks) against a double reference on the dequantized weights, and the whole inference
// pass with f16 / bf16 / int8 weights against the fp32 full forward of a model whose
// matrices were rounded the same way (so the format changes the weights, nothing else).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "fixtures.h"
#include "infer/engine.h"
#include "model/gpt_cached.h"
#include "model/infer_weights.h"
#include "op_test_util.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/half.h"
#include "ops/cpu/simd.h"
#include "ops/ops.h"
#include "ops/reference/reference_ops.h"

namespace chatforge {
namespace {

using ops::WeightFormat;
using testing::randn;
using testing::to_f;
constexpr WeightFormat kLowFormats[] = {WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8};

TEST(WeightFormat, HalfAndBfloat16KnownBits) {
  using namespace ops::half;
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);            // largest half
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);            // below the halfway point
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);            // halfway: to even = inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // tie to even (2)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie to even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie to even (up)
  EXPECT_EQ(f32_to_f16(0.1f), 0x2e66);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite half round-trips exactly
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
    ASSERT_EQ(f32_to_f16(-f16_to_f32(static_cast<uint16_t>(h))), h | 0x8000) << h;
  }
  for (uint32_t h = 0; h <= 0xffff; ++h) {  // every half against IEEE's definition, bit for bit
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float want = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                        : std::ldexp(1.0f + static_cast<float>(m) / 1024.0f, e - 15);
    if (e == 31) want = m == 0 ? INFINITY : ops::half::float_of(0x7f800000u | static_cast<uint32_t>(m) << 13);
    if (h & 0x8000) want = -want;
    ASSERT_EQ(ops::half::bits_of(f16_to_f32(static_cast<uint16_t>(h))), ops::half::bits_of(want)) << std::hex << h;
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // 1 + 2^-8: tie to even (down)
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // 1 + 3 * 2^-8: tie to even (up)
  EXPECT_EQ(f32_to_bf16(-3.140625f), 0xc049);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

TEST(WeightFormat, RoundingErrorIsBoundedPerFormat) {
  Rng rng(11);
  const int OC = 9, C = 37;
  const auto w = to_f(randn(static_cast<size_t>(OC) * C, rng, 0.05));
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8}) {
    std::vector<uint8_t> store(ops::weight_storage_bytes(OC, C, f));
    std::vector<float> scale(OC), back(w.size());
    ops::quantize_weights(store.data(), scale.data(), w.data(), OC, C, f);
    const ops::WeightMatrix m{f, store.data(), scale.data(), OC, C};
    ops::dequantize_rows(back.data(), m, 0, OC);
    for (int j = 0; j < OC; ++j) {
      float maxabs = 0;
      for (int c = 0; c < C; ++c) maxabs = std::fmax(maxabs, std::fabs(w[j * C + c]));
      for (int c = 0; c < C; ++c) {
        const float x = w[j * C + c], err = std::fabs(back[j * C + c] - x);
        const float bound = f == WeightFormat::kF32    ? 0.0f
                            : f == WeightFormat::kF16  ? std::fabs(x) * 0x1p-11f + 0x1p-25f
                            : f == WeightFormat::kBF16 ? std::fabs(x) * 0x1p-8f
                                                       : maxabs / 127.0f * 0.5f * 1.0001f;
        ASSERT_LE(err, bound) << ops::weight_format_name(f) << " j=" << j << " c=" << c;
      }
    }
  }
}

// out = inp @ dequantized(w)^T + bias (+ GELU) in double, the reference of linear_forward.
std::vector<double> reference_linear(const std::vector<float>& x, const ops::WeightMatrix& m, const float* bias, int N,
                                     bool gelu) {
  std::vector<float> wf(static_cast<size_t>(m.OC) * m.C);
  ops::dequantize_rows(wf.data(), m, 0, m.OC);
  std::vector<double> xd(x.begin(), x.end()), wd(wf.begin(), wf.end()), bd, out(static_cast<size_t>(N) * m.OC);
  if (bias) bd.assign(bias, bias + m.OC);
  ops::reference::matmul_forward(out.data(), xd.data(), wd.data(), bias ? bd.data() : nullptr, N, m.C, m.OC);
  if (gelu)
    for (double& v : out) v = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  return out;
}

// Every SIMD level this machine can run (the widest first), so the kernels an AVX2-only
// machine takes are checked on an AVX-512 one too; the level in use is restored after.
struct EachSimdLevel {
  ops::SimdLevel saved = ops::simd_level();
  std::vector<ops::SimdLevel> levels;
  EachSimdLevel() {
    for (ops::SimdLevel l : {ops::SimdLevel::kAvx512, ops::SimdLevel::kAvx2, ops::SimdLevel::kScalar})
      if (static_cast<int>(l) <= static_cast<int>(ops::set_simd_level(l))) levels.push_back(l);
    ops::set_simd_level(saved);
  }
  ~EachSimdLevel() { ops::set_simd_level(saved); }
};

// dequantize_row_segment's SIMD conversions (bf16, int8, f16) give the scalar ones' bits,
// for segments starting and ending anywhere in a row's 32-wide panel chunks.
TEST(WeightFormat, DequantizedSegmentsAreTheScalarBitsAtEverySimdLevel) {
  EachSimdLevel simd;
  Rng rng(5);
  const int OC = 3, C = 77;
  const auto w = to_f(randn(static_cast<size_t>(OC) * C, rng, 0.5));
  for (WeightFormat f : {WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8}) {
    std::vector<uint8_t> store(ops::weight_storage_bytes(OC, C, f));
    std::vector<float> scale(OC);
    ops::quantize_weights(store.data(), scale.data(), w.data(), OC, C, f);
    const ops::WeightMatrix m{f, store.data(), scale.data(), OC, C};
    for (const auto& [c0, n] : std::vector<std::pair<int, int>>{{0, 77}, {0, 32}, {3, 50}, {17, 60}, {31, 1}, {64, 13}}) {
      std::vector<float> want(n), got(n);
      ops::set_simd_level(ops::SimdLevel::kScalar);
      ops::dequantize_row_segment(want.data(), m, 2, c0, n);
      for (ops::SimdLevel level : simd.levels) {
        ops::set_simd_level(level);
        ops::dequantize_row_segment(got.data(), m, 2, c0, n);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * sizeof(float)))
            << ops::weight_format_name(f) << " " << ops::simd_level_name(level) << " c0=" << c0 << " n=" << n;
      }
    }
  }
}

TEST(WeightFormat, LinearForwardEveryFormatAndScheduleMatchesReference) {
  EachSimdLevel simd;
  for (ops::SimdLevel level : simd.levels) {
  ops::set_simd_level(level);
  SCOPED_TRACE(ops::simd_level_name(level));
  Rng rng(13);
  struct Case { int N, C, OC; bool bias, gelu; };
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8})
    for (const Case c : {Case{1, 64, 96, true, false}, Case{2, 17, 7, false, true}, Case{3, 48, 130, true, true},
                         Case{8, 100, 33, true, false}, Case{16, 5, 1, true, false}, Case{40, 70, 75, true, true}}) {
      const auto x = to_f(randn(static_cast<size_t>(c.N) * c.C, rng));
      const auto w = to_f(randn(static_cast<size_t>(c.OC) * c.C, rng, 0.1));
      const auto b = to_f(randn(c.OC, rng));
      std::vector<uint8_t> store(ops::weight_storage_bytes(c.OC, c.C, f));
      std::vector<float> scale(c.OC);
      ops::quantize_weights(store.data(), scale.data(), w.data(), c.OC, c.C, f);
      const ops::WeightMatrix m{f, store.data(), scale.data(), c.OC, c.C};
      const float* bias = c.bias ? b.data() : nullptr;
      // Prefill over bf16 weights multiplies in bf16: the activations rounded to bf16 first.
      auto x_in = x;
      if (ops::linear_rounds_to_bf16(f, c.N))
        for (float& v : x_in) v = ops::half::bf16_to_f32(ops::half::f32_to_bf16(v));
      const auto want = reference_linear(x_in, m, bias, c.N, c.gelu);
      std::vector<float> got(want.size(), NAN), team(want.size(), NAN);
      ops::linear_forward(got.data(), x.data(), m, bias, c.N, c.gelu);
      EXPECT_LT(testing::max_err(got, want), 2e-5) << ops::weight_format_name(f) << " N=" << c.N << " C=" << c.C;
      if (c.N <= 16) {  // the fused decode step's entry point, 3 threads sharing the channels
#pragma omp parallel num_threads(3)
        ops::linear_forward_team(team.data(), x.data(), m, bias, c.N, c.gelu);
        EXPECT_LT(testing::max_err(team, want), 2e-5) << ops::weight_format_name(f) << " team N=" << c.N;
      }
    }
  }
}

TEST(WeightFormat, PanelLayoutPlacesEveryElementOnce) {
  for (const auto& [OC, C] : {std::pair{1, 5}, std::pair{7, 17}, std::pair{8, 32}, std::pair{9, 70}, std::pair{12, 64}}) {
    const size_t padded = static_cast<size_t>((OC + 3) / 4 * 4);
    std::vector<int> hits(padded * C, 0);
    for (int j = 0; j < static_cast<int>(padded); ++j)
      for (int c = 0; c < C; ++c) ++hits.at(ops::panel_index(j, c, C));
    for (int h : hits) ASSERT_EQ(h, 1) << "OC=" << OC << " C=" << C;
    EXPECT_EQ(ops::weight_storage_bytes(OC, C, WeightFormat::kF16), padded * C * 2);
    EXPECT_EQ(ops::weight_storage_bytes(OC, C, WeightFormat::kF32), static_cast<size_t>(OC) * C * 4);
  }
  // a row's chunks are contiguous and the rows of a panel follow each other per chunk
  EXPECT_EQ(ops::panel_index(1, 0, 70), 32u);
  EXPECT_EQ(ops::panel_index(0, 32, 70), 128u);
  EXPECT_EQ(ops::panel_index(2, 64, 70), 256u + 2 * 6);
  EXPECT_EQ(ops::panel_index(5, 3, 70), 4u * 70 + 32 + 3);
}

// The fused decode step hands threads channel ranges that need not start on a panel.
TEST(WeightFormat, LinearForwardRangeOffPanelBoundaries) {
  EachSimdLevel simd;
  for (ops::SimdLevel level : simd.levels) {
  ops::set_simd_level(level);
  SCOPED_TRACE(ops::simd_level_name(level));
  Rng rng(17);
  const int C = 40, OC = 23;
  for (WeightFormat f : kLowFormats)
    for (int N : {1, 2, 5}) {
      const auto x = to_f(randn(static_cast<size_t>(N) * C, rng));
      const auto w = to_f(randn(static_cast<size_t>(OC) * C, rng, 0.1));
      const auto b = to_f(randn(OC, rng));
      std::vector<uint8_t> store(ops::weight_storage_bytes(OC, C, f));
      std::vector<float> scale(OC);
      ops::quantize_weights(store.data(), scale.data(), w.data(), OC, C, f);
      const ops::WeightMatrix m{f, store.data(), scale.data(), OC, C};
      const auto want = reference_linear(x, m, b.data(), N, false);
      std::vector<float> got(want.size(), NAN);
      for (const auto& [j0, j1] : {std::pair{0, 3}, std::pair{3, 6}, std::pair{6, 13}, std::pair{13, 23}})
        ops::linear_forward_range(got.data(), x.data(), m, b.data(), N, j0, j1, false);
      EXPECT_LT(testing::max_err(got, want), 2e-5) << ops::weight_format_name(f) << " N=" << N;
    }
  }
}

TEST(Simd, LevelIsClampedToWhatTheMachineRuns) {
  EachSimdLevel simd;
  ASSERT_FALSE(simd.levels.empty());
  EXPECT_EQ(simd.levels.back(), ops::SimdLevel::kScalar);  // always available
  const ops::SimdLevel top = ops::set_simd_level(ops::SimdLevel::kAvx512);
  EXPECT_LE(static_cast<int>(top), static_cast<int>(ops::cpu_simd_level()));
  EXPECT_LE(static_cast<int>(top), static_cast<int>(ops::built_simd_level()));
  EXPECT_EQ(ops::set_simd_level(ops::SimdLevel::kScalar), ops::SimdLevel::kScalar);
}

model::GptConfig tiny_config() {
  return testing::tiny_config({.heads = 4, .channels = 32, .vocab = 300, .context = 64});
}

// The model with its matrices (and the tied embedding) rounded through format f.
std::unique_ptr<model::Gpt> rounded_copy(const model::Gpt& m, WeightFormat f) {
  auto r = std::make_unique<model::Gpt>(m.config());
  std::copy(m.params().data(), m.params().data() + m.params().size(), r->params().data());
  const model::InferWeights iw(m, f);
  const model::GptParams p = r->weights();
  const int L = m.config().n_layer, C = m.config().n_embd;
  const size_t cc = static_cast<size_t>(C) * C;
  for (int l = 0; l < L; ++l) {
    ops::dequantize_rows(p.qkvw + l * 3 * cc, iw.qkv(l), 0, 3 * C);
    ops::dequantize_rows(p.attprojw + l * cc, iw.attproj(l), 0, C);
    ops::dequantize_rows(p.fcw + l * 4 * cc, iw.fc(l), 0, 4 * C);
    ops::dequantize_rows(p.fcprojw + l * 4 * cc, iw.fcproj(l), 0, C);
  }
  ops::dequantize_rows(p.wte, iw.head(), 0, m.config().padded_vocab_size());
  return r;
}

// The largest |logit - fp32 logit of the rounded model| over a 20-token prefill (per-op
// schedule, a GEMM over the stored matrices) then one token at a time (the fused decode step).
double max_logit_error_vs_rounded_model(const model::Gpt& m, WeightFormat f) {
  const int Vp = m.config().padded_vocab_size(), V = m.config().vocab_size;
  std::vector<int32_t> seq;
  for (int t = 0; t < 30; ++t) seq.push_back((t * 37 + 11) % V);
  auto r = rounded_copy(m, f);
  r->forward(seq.data(), 1, static_cast<int>(seq.size()));
  const model::InferWeights iw(m, f);
  model::KvCache cache(m.config(), 1, m.config().n_ctx);
  model::InferScratch scratch;
  std::vector<float> logits(Vp);
  double worst = 0;
  for (int t0 = 0; t0 < static_cast<int>(seq.size());) {
    const int n = t0 == 0 ? 20 : 1;
    model::InferSequence q{0, seq.data() + t0, n};
    model::infer_forward(m, iw, cache, {&q, 1}, logits.data(), scratch);
    t0 += n;
    const float* want = r->activations().logits + static_cast<size_t>(t0 - 1) * Vp;
    for (int j = 0; j < V; ++j) worst = std::max(worst, static_cast<double>(std::fabs(logits[j] - want[j])));
  }
  return worst;
}

// Sets the GEMM implementation for a scope.
struct GemmImplScope {
  ops::GemmImpl saved = ops::gemm_impl();
  explicit GemmImplScope(ops::GemmImpl impl) { ops::set_gemm_impl(impl); }
  ~GemmImplScope() { ops::set_gemm_impl(saved); }
};

TEST(WeightFormat, InferenceEqualsFp32ForwardOfTheRoundedModel) {
  model::Gpt m(tiny_config());
  m.init_weights(5);
  for (size_t i = 0; i < m.params().size(); ++i) m.params().data()[i] *= 4.0f;
  // Every format reads its stored values exactly: with fp32 activations (OpenBLAS's sgemm
  // for the prefill, as CHATFORGE_GEMM=openblas) the logits are the rounded model's.
  {
    GemmImplScope blas(ops::GemmImpl::kOpenblas);
    for (WeightFormat f : kLowFormats)
      EXPECT_LT(max_logit_error_vs_rounded_model(m, f), 2e-4) << ops::weight_format_name(f) << " (OpenBLAS prefill)";
  }
  // Our GEMM: the same, except that the prefill over bf16 weights multiplies in bf16
  // (activations rounded to 8 significant bits), so its logits differ by more (measured
  // 0.028 on Zen 4, native and emulated alike, against logits of rms 1.7: a misread matrix
  // moves them by about their own size).
  GemmImplScope own(ops::GemmImpl::kOwn);
  for (WeightFormat f : kLowFormats)
    EXPECT_LT(max_logit_error_vs_rounded_model(m, f), f == WeightFormat::kBF16 ? 0.1 : 2e-4) << ops::weight_format_name(f);
}

TEST(WeightFormat, EngineGreedyTokensStayCloseToFp32) {
  model::Gpt m(tiny_config());
  m.init_weights(9);
  for (size_t i = 0; i < m.params().size(); ++i) m.params().data()[i] *= 4.0f;
  auto request = [] {
    infer::GenerationRequest r;
    r.prompt = {3, 141, 59, 26, 53};
    r.sampling.temperature = 0;
    r.max_new_tokens = 40;
    return r;
  };
  const auto want = infer::Engine(m, 1).generate(request()).tokens;
  for (WeightFormat f : kLowFormats) {
    infer::Engine engine(m, 1, 0, f);
    EXPECT_EQ(engine.weights().format(), f);
    const auto got = engine.generate(request()).tokens;
    ASSERT_EQ(got.size(), want.size());
    int same_prefix = 0;
    while (same_prefix < static_cast<int>(want.size()) && got[same_prefix] == want[same_prefix]) ++same_prefix;
    // f16 keeps 11 significant bits, bf16 8, int8 ~7 per row: greedy paths part late, if at all
    EXPECT_GE(same_prefix, f == WeightFormat::kF16 ? 40 : 10) << ops::weight_format_name(f);
  }
}

TEST(WeightFormat, BytesPerTokenFollowTheFormat) {
  model::Gpt m(tiny_config());
  const double f32 = model::InferWeights(m, WeightFormat::kF32).bytes_per_token();
  const double f16 = model::InferWeights(m, WeightFormat::kF16).bytes_per_token();
  const double i8 = model::InferWeights(m, WeightFormat::kInt8).bytes_per_token();
  EXPECT_NEAR(f16 / f32, 0.5, 0.05);
  EXPECT_NEAR(i8 / f32, 0.25, 0.1);  // row scales and fp32 vectors weigh more in a tiny model
  EXPECT_EQ(model::InferWeights(m, WeightFormat::kF32).converted_bytes(), 0u);
  ops::WeightFormat f;
  EXPECT_TRUE(ops::parse_weight_format("bf16", &f));
  EXPECT_EQ(f, WeightFormat::kBF16);
  EXPECT_FALSE(ops::parse_weight_format("fp8", &f));
}

TEST(Threads, BlasSharesTheOpenMPPool) {
  // CMake links OpenBLAS's OpenMP build (openblas-openmp/): its threads are libgomp's, the
  // pool our kernels use, so prefill sgemm and decode matvec never run two pools at once.
  EXPECT_TRUE(ops::blas_shares_openmp_pool());
}

}  // namespace
}  // namespace chatforge

namespace chatforge {
namespace {

// The training matmuls over a stored (frozen) weight equal the plain fp32 ones over the
// dequantized weight: forward and the input gradient, one block and several (a 4.8 MB
// matrix spans two expanded blocks), odd sizes (a padded last panel). quantize_rows in
// pieces writes exactly what quantize_weights writes at once.
TEST(WeightFormat, StoredMatmulEqualsFp32MatmulOfTheRoundedWeight) {
  Rng rng(29);
  struct Case { int N, C, OC; };
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kInt8})
    for (const Case c : {Case{19, 50, 37}, Case{64, 4000, 301}}) {
      SCOPED_TRACE(std::string(ops::weight_format_name(f)) + " OC=" + std::to_string(c.OC));
      const auto x = to_f(randn(static_cast<size_t>(c.N) * c.C, rng));
      const auto dy = to_f(randn(static_cast<size_t>(c.N) * c.OC, rng));
      const auto w = to_f(randn(static_cast<size_t>(c.OC) * c.C, rng, 0.1));
      const auto b = to_f(randn(c.OC, rng));
      std::vector<uint8_t> store(ops::weight_storage_bytes(c.OC, c.C, f)), pieces(store.size());
      std::vector<float> scale(c.OC), scale2(c.OC);
      ops::quantize_weights(store.data(), scale.data(), w.data(), c.OC, c.C, f);
      for (int j = 0; j < c.OC; j += 5)  // blocks of 5 rows: off the 4-row panels
        ops::quantize_rows(pieces.data(), scale2.data(), w.data() + static_cast<size_t>(j) * c.C, j,
                           std::min(c.OC, j + 5), c.OC, c.C, f);
      EXPECT_EQ(store, pieces);
      const ops::WeightMatrix m{f, store.data(), scale.data(), c.OC, c.C};
      std::vector<float> rounded(w.size());
      ops::dequantize_rows(rounded.data(), m, 0, c.OC);
      std::vector<float> want(static_cast<size_t>(c.N) * c.OC), got(want.size(), NAN);
      ops::matmul_forward(want.data(), x.data(), rounded.data(), b.data(), c.N, c.C, c.OC);
      ops::stored_matmul_forward(got.data(), x.data(), m, b.data(), c.N);
      EXPECT_LT(testing::max_err(got, testing::to_d(want)), 1e-5);
      std::vector<float> dx_want(x.size()), dx(x.size(), NAN);
      ops::matmul_backward(dx_want.data(), nullptr, nullptr, dy.data(), x.data(), rounded.data(), c.N, c.C, c.OC);
      ops::stored_matmul_backward(dx.data(), dy.data(), m, c.N);
      EXPECT_LT(testing::max_err(dx, testing::to_d(dx_want)), 1e-5);
    }
}

}  // namespace
}  // namespace chatforge
