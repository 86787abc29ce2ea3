// The measured FMA peak (ops/cpu/fma_peak.h): it reports the threads and SIMD level it ran
// with, and its rate is physically possible — at most 2 FMA ports x lanes x 2 FLOPs at
// 6.5 GHz per thread (a figure above that means the loop was optimised away or the FLOPs
// miscounted) and positive (no lower bound: a busy or sanitized machine is slow, not wrong).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ops/cpu/fma_peak.h"
#include "ops/cpu/simd.h"

namespace chatforge {
namespace {

double physical_bound_gflops(ops::SimdLevel level, int threads) {
  const int lanes = level == ops::SimdLevel::kAvx512 ? 16 : level == ops::SimdLevel::kAvx2 ? 8 : 1;
  return threads * 2.0 * lanes * 2.0 * 6.5;
}

TEST(FmaPeak, RateIsPhysicallyPossibleAtEveryLevel) {
  const ops::SimdLevel saved = ops::simd_level();
  for (ops::SimdLevel level : {ops::SimdLevel::kAvx512, ops::SimdLevel::kAvx2, ops::SimdLevel::kScalar}) {
    const ops::SimdLevel used = ops::set_simd_level(level);
    if (used != level) continue;  // this CPU or build lacks it
    const ops::FmaPeak p = ops::measure_fma_peak(1, 0.02, 2);
    EXPECT_EQ(p.threads, 1);
    EXPECT_EQ(p.level, level);
    ASSERT_TRUE(std::isfinite(p.gflops)) << ops::simd_level_name(level);
    const double bound = physical_bound_gflops(level, 1);
    EXPECT_LE(p.gflops, bound) << ops::simd_level_name(level) << ": more FLOPs than the hardware can do";
    // No lower bound: a slow rate is a busy or sanitized machine, not a wrong count (the
    // suite has no timed assertions).
    EXPECT_GT(p.gflops, 0.0) << ops::simd_level_name(level);
  }
  ops::set_simd_level(saved);
}

TEST(FmaPeak, CachedPerThreadCountAndLevel) {
  const ops::FmaPeak a = ops::measure_fma_peak(1, 0.02, 2);
  const ops::FmaPeak b = ops::measure_fma_peak(1, 0.02, 2);
  EXPECT_EQ(a.gflops, b.gflops);  // the second call is the cached measurement
  const ops::FmaPeak two = ops::measure_fma_peak(2, 0.02, 2);
  EXPECT_EQ(two.threads, 2);
  EXPECT_LE(two.gflops, physical_bound_gflops(two.level, 2));
}

// vdpbf16ps: 64 FLOPs per instruction, at most 2 per cycle per core at 6.5 GHz; 0 exactly
// where the CPU lacks AVX512-BF16.
TEST(FmaPeak, Bf16DotProductPeakIsPhysicallyPossible) {
  const double g = ops::measure_bf16_peak_gflops(1, 0.02, 2);
  if (!ops::cpu_has_avx512_bf16()) {
    EXPECT_EQ(g, 0.0);
    GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  }
  const double bound = 2.0 * 64 * 6.5;
  EXPECT_LE(g, bound) << "more bf16 FLOPs than the hardware can do";
  EXPECT_GT(g, 0.0);  // no lower bound: a busy or sanitized machine is slow, not wrong
  EXPECT_NE(std::string(ops::cpu_simd_features()).find("avx512_bf16"), std::string::npos);
}

// tdpbf16ps: 16 x 16 x 32 products (16384 FLOPs) per instruction, at most one per 16 cycles
// per core (1024 FLOPs a cycle) at 6.5 GHz; 0 exactly where AMX-BF16 is not usable.
TEST(FmaPeak, AmxBf16PeakIsPhysicallyPossible) {
  const double g = ops::measure_amx_bf16_peak_gflops(1, 0.02, 2);
  if (!ops::amx_bf16_usable()) {
    EXPECT_EQ(g, 0.0);
    GTEST_SKIP() << "no AMX-BF16 on this CPU (or no tile permission)";
  }
  EXPECT_LE(g, 1024.0 * 6.5) << "more AMX bf16 FLOPs than the hardware can do";
  EXPECT_GT(g, 0.0);
  EXPECT_NE(std::string(ops::cpu_simd_features()).find("amx_bf16"), std::string::npos);
}

}  // namespace
}  // namespace chatforge
