// sgemm_stored / gemm_bf16_stored (ops/cpu/gemm.h): op(B) read from a stored matrix as the
// panels are packed must give exactly what sgemm / gemm_bf16 give over dequantize_rows' fp32
// copy (the same values reach the same kernels), bit for bit: every storage format, both
// orientations (w^T: a linear layer's forward; w: its input gradient), shapes with edge
// tiles, odd depths (a half-filled bf16 pair) and rows crossing the 32-wide storage chunks,
// every micro-kernel this CPU runs, the default blocking and a tiny one that iterates every
// loop, every bf16 kernel (AMX, AVX512-BF16, emulated: those the CPU runs), and both GEMM paths (few rows: each thread packs its own panels; many: shared ones).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/simd.h"
#include "ops/ops.h"

namespace chatforge {
namespace {

using ops::WeightFormat;

struct Stored {
  std::vector<uint8_t> bytes;
  std::vector<float> scale;
  ops::WeightMatrix w;
  std::vector<float> dense;  // dequantize_rows' fp32 copy (OC, C)
};

Stored make_stored(int OC, int C, WeightFormat f, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> src(static_cast<size_t>(OC) * C);
  for (float& x : src) x = u(rng);
  Stored s;
  s.bytes.assign(ops::weight_storage_bytes(OC, C, f), 0);
  s.scale.assign(OC, 0.0f);
  ops::quantize_weights(s.bytes.data(), s.scale.data(), src.data(), OC, C, f);
  s.w = ops::WeightMatrix{f, s.bytes.data(), f == WeightFormat::kInt8 ? s.scale.data() : nullptr, OC, C};
  s.dense.resize(src.size());
  ops::dequantize_rows(s.dense.data(), s.w, 0, OC);
  return s;
}

// One product both ways; `what` names it in a failure.
void check(int M, int OC, int C, WeightFormat f, bool trans, bool bf16, const std::string& what) {
  std::mt19937 rng(M * 31 + OC * 7 + C + static_cast<int>(f));
  const Stored s = make_stored(OC, C, f, rng);
  const int N = trans ? OC : C, K = trans ? C : OC;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> A(static_cast<size_t>(M) * K), bias(N);
  for (float& x : A) x = u(rng);
  for (float& x : bias) x = u(rng);
  std::vector<float> want(static_cast<size_t>(M) * N), got(want.size(), -7.0f);
  // the forward (w^T) with its GELU fused as a linear layer's: into buffers of their own
  std::vector<float> want_gelu(want.size(), -9.0f), got_gelu(want.size(), -8.0f);
  const float* b = trans ? bias.data() : nullptr;
  (bf16 ? ops::gemm_bf16 : ops::sgemm)(false, trans, M, N, K, 1.0f, A.data(), K, s.dense.data(), C, 0.0f, want.data(),
                                       N, b, trans ? want_gelu.data() : nullptr);
  (bf16 ? ops::gemm_bf16_stored : ops::sgemm_stored)(trans, M, N, K, 1.0f, A.data(), K, s.w, 0.0f, got.data(), N, b,
                                                     trans ? got_gelu.data() : nullptr);
  ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << what;
  if (trans) {
    ASSERT_EQ(0, std::memcmp(want_gelu.data(), got_gelu.data(), want.size() * sizeof(float))) << what << " GELU";
  }
}

const char* format_name(WeightFormat f) { return ops::weight_format_name(f); }

void check_all_formats(const std::string& where) {
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16, WeightFormat::kInt8})
    for (bool bf16 : {false, true})
      for (bool trans : {true, false})
        for (const auto& [M, OC, C] : std::vector<std::array<int, 3>>{
                 {1, 1, 1}, {7, 33, 45}, {13, 70, 97}, {37, 129, 64}, {300, 96, 200}, {64, 1000, 77}}) {
          const std::string what = where + " " + format_name(f) + (bf16 ? " bf16" : " fp32") +
                                   (trans ? " w^T " : " w ") + std::to_string(M) + "x" + std::to_string(OC) + "x" +
                                   std::to_string(C);
          check(M, OC, C, f, trans, bf16, what);
        }
}

TEST(GemmStored, EqualsTheGemmOverTheDequantizedCopyBitForBit) {
  const ops::SimdLevel saved = ops::gemm_level();
  for (ops::SimdLevel level : {ops::SimdLevel::kAvx512, ops::SimdLevel::kAvx2, ops::SimdLevel::kScalar}) {
    if (ops::set_gemm_level(level) != level) continue;  // this CPU lacks it
    check_all_formats(ops::simd_level_name(level));
  }
  ops::set_gemm_level(saved);
}

TEST(GemmStored, EveryBf16KernelEqualsItsGemmOverTheDequantizedCopy) {
  const ops::Bf16Kernel saved = ops::gemm_bf16_kernel();
  for (ops::Bf16Kernel k : {ops::Bf16Kernel::kAmx, ops::Bf16Kernel::kAvx512Bf16, ops::Bf16Kernel::kEmulated}) {
    if (ops::set_gemm_bf16_kernel(k) != k) continue;  // this CPU lacks it
    check_all_formats(ops::bf16_kernel_name(k));
  }
  ops::set_gemm_bf16_kernel(saved);
}

TEST(GemmStored, SmallBlockingIteratesEveryLoop) {
  const ops::SimdLevel level = ops::gemm_level();
  const ops::GemmBlocking saved = ops::blocking_in_use(level);
  ops::GemmBlocking small = saved;
  small.kc = 7, small.mc = 2 * saved.mr, small.nc = saved.nr;
  ops::set_gemm_blocking(level, small);
  check_all_formats("small blocking");
  ops::set_gemm_blocking(level, saved);
}

// The AMX kernel's own blocking, tiny: odd KC blocks end in half-filled pairs and in the
// zero slots that pad its depth to 16 pairs.
TEST(GemmStored, AmxSmallBlockingPadsEveryDepthBlock) {
  const ops::Bf16Kernel saved = ops::gemm_bf16_kernel();
  if (ops::set_gemm_bf16_kernel(ops::Bf16Kernel::kAmx) != ops::Bf16Kernel::kAmx) {
    ops::set_gemm_bf16_kernel(saved);
    GTEST_SKIP() << "this CPU lacks AMX-BF16";
  }
  const ops::GemmBlocking bl = ops::amx_blocking_in_use();
  for (int kc : {7, 40}) {
    ops::GemmBlocking small = bl;
    small.kc = kc, small.mc = 64, small.nc = 32;
    ops::set_amx_blocking(small);
    for (WeightFormat f : {WeightFormat::kBF16, WeightFormat::kInt8})
      for (bool trans : {true, false})
        check(45, 70, 97, f, trans, true, std::string("amx kc ") + std::to_string(kc) + (trans ? " w^T" : " w"));
  }
  ops::set_amx_blocking(bl);
  ops::set_gemm_bf16_kernel(saved);
}

TEST(GemmStored, AShapeThatDoesNotFitTheMatrixIsAnError) {
  std::mt19937 rng(1);
  const Stored s = make_stored(8, 12, WeightFormat::kBF16, rng);
  std::vector<float> A(64), C(64);
  EXPECT_THROW(ops::sgemm_stored(true, 2, 12, 8, 1.0f, A.data(), 8, s.w, 0.0f, C.data(), 12), Error);
  EXPECT_THROW(ops::gemm_bf16_stored(false, 2, 8, 12, 1.0f, A.data(), 12, s.w, 0.0f, C.data(), 8), Error);
}

}  // namespace
}  // namespace chatforge
