// Our sgemm (ops/cpu/gemm.h) against a double-precision reference: every micro-kernel the
// CPU can run (AVX-512, AVX2, portable; forced with set_gemm_level, skipped where CPUID
// lacks it) and OpenBLAS, over shapes that hit every edge (1, odd, prime, tall, wide, deeper
// and wider than the blocking), all four transpose combinations, alpha/beta, bias, padded
// leading dimensions, threads 1 and 2, and beta = 0 over a C full of NaN. gemm_bf16 the
// same way against the reference on bf16-rounded inputs: the AMX and AVX512-BF16 kernels
// (each skipped where the CPU lacks it) and the emulation every CPU runs; the AMX kernel
// also over shapes around its 32 x 32 tiles and 32-depth steps; and the rounding itself.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/simd.h"
#include "ops/reference/reference_ops.h"

namespace chatforge {
namespace {

using ops::SimdLevel;

struct GemmCase {
  int M, N, K;
  bool ta, tb;
  float alpha, beta;
  bool bias;
  int pad;  // extra elements per row of A, B and C
};

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Runs one case at the current kernel (gemm_bf16 with bf16: the reference then multiplies
// the bf16-rounded inputs) and checks every element against the double reference. A third
// of the cases (by shape) also fuse the GELU into a buffer of its own (C keeps the value
// before it), a third apply it in place (gelu_out == C).
void check_case(const GemmCase& c, const std::string& case_name, bool bf16 = false) {
  const int gelu = (c.M + c.N + c.K) % 3;  // 0 none, 1 into G, 2 in place
  const std::string what = case_name + (gelu == 1 ? " gelu_out" : gelu == 2 ? " gelu in place" : "");
  std::mt19937 rng(c.M * 131 + c.N * 7 + c.K);
  const int lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad, ldc = c.N + c.pad;
  const std::vector<float> A = random_vector(static_cast<size_t>(c.ta ? c.K : c.M) * lda, rng);
  const std::vector<float> B = random_vector(static_cast<size_t>(c.tb ? c.N : c.K) * ldb, rng);
  const std::vector<float> bias = random_vector(c.N, rng);
  // Two guard rows after C: a kernel writing past the last row of the product (a partial
  // tile's missing rows) changes them.
  std::vector<float> C = random_vector(static_cast<size_t>(c.M + 2) * ldc, rng);
  if (c.beta == 0.0f) std::fill(C.begin(), C.end() - 2 * ldc, std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> C0 = C;
  std::vector<float> G(C.size(), 12345.0f);  // gelu == 1: its padding and guard rows stay 12345
  float* gelu_out = gelu == 1 ? G.data() : gelu == 2 ? C.data() : nullptr;
  (bf16 ? ops::gemm_bf16 : ops::sgemm)(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                                       C.data(), ldc, c.bias ? bias.data() : nullptr, gelu_out);
  const auto in = [bf16](float x) -> double { return bf16 ? ops::gemm_detail::bf16_round(x) : x; };
  for (size_t at = static_cast<size_t>(c.M) * ldc; at < C.size(); ++at) {
    ASSERT_EQ(C[at], C0[at]) << what << " wrote past the last row";
    ASSERT_EQ(G[at], 12345.0f) << what << " wrote GELU past the last row";
  }
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i) * ldc + j;
      if (j >= c.N) {  // padding between rows must stay untouched
        ASSERT_TRUE(std::isnan(C[at]) ? std::isnan(C0[at]) : C[at] == C0[at]) << what << " wrote padding";
        ASSERT_EQ(G[at], 12345.0f) << what << " wrote GELU into padding";
        continue;
      }
      double acc = 0, mag = 0;
      for (int k = 0; k < c.K; ++k) {
        const double a = in(c.ta ? A[static_cast<size_t>(k) * lda + i] : A[static_cast<size_t>(i) * lda + k]);
        const double b = in(c.tb ? B[static_cast<size_t>(j) * ldb + k] : B[static_cast<size_t>(k) * ldb + j]);
        acc += a * b, mag += std::fabs(a * b);
      }
      double ref = c.alpha * acc + (c.bias ? bias[j] : 0.0);
      if (c.beta != 0.0f) ref += static_cast<double>(c.beta) * C0[at];
      const double tol = 1e-5 * (std::fabs(c.alpha) * mag + 4.0) + 1e-6 * std::sqrt(c.K + 1.0);
      // GELU's slope stays under 1.13; its tanh is an approximation within 2e-7 (vec_math.h)
      const double gelu_tol = 1.2 * tol + 2e-6 * (1.0 + std::fabs(ref));
      if (gelu == 2) {
        ASSERT_NEAR(C[at], ops::reference::gelu_value(ref), gelu_tol) << what << " at (" << i << "," << j << ")";
        continue;
      }
      ASSERT_NEAR(C[at], ref, tol) << what << " at (" << i << "," << j << ")";
      if (gelu == 1) {
        ASSERT_NEAR(G[at], ops::reference::gelu_value(ref), gelu_tol) << what << " GELU at (" << i << "," << j << ")";
      }
    }
}

std::string describe_case(const GemmCase& c, const char* kernel, int threads) {
  return std::string(kernel) + " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) +
         " K=" + std::to_string(c.K) + (c.ta ? " A^T" : "") + (c.tb ? " B^T" : "") +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) + (c.bias ? " bias" : "") +
         " pad=" + std::to_string(c.pad) + " threads=" + std::to_string(threads);
}

// Shapes: 1, odd, prime, one tile, one tile + 1, tall, wide, deeper than KC, more rows than MC.
std::vector<GemmCase> edge_cases() {
  const int dims[][3] = {{1, 1, 1},    {1, 37, 5},  {37, 1, 5},   {3, 5, 1},     {7, 13, 11},  {12, 32, 16},
                         {13, 33, 17}, {6, 16, 8},  {97, 61, 67}, {257, 5, 31},  {5, 263, 29}, {31, 47, 601},
                         {700, 70, 9}, {9, 40, 300}};
  std::vector<GemmCase> out;
  int n = 0;
  for (const auto& d : dims)
    for (int t = 0; t < 4; ++t, ++n) {
      const float beta = n % 3 == 0 ? 0.0f : n % 3 == 1 ? 1.0f : -0.5f;
      out.push_back({d[0], d[1], d[2], (t & 1) != 0, (t & 2) != 0, n % 5 == 0 ? 0.75f : 1.0f, beta, n % 2 == 0,
                     n % 4 == 3 ? 3 : 0});
    }
  return out;
}

class GemmKernels : public ::testing::TestWithParam<SimdLevel> {
 protected:
  void SetUp() override {
    saved_ = ops::gemm_level();
    if (ops::set_gemm_level(GetParam()) != GetParam())
      GTEST_SKIP() << "this CPU lacks " << ops::simd_level_name(GetParam());
    ops::set_gemm_impl(ops::GemmImpl::kOwn);
  }
  void TearDown() override { ops::set_gemm_level(saved_); }
  SimdLevel saved_{};
};

TEST_P(GemmKernels, EdgeShapesTransposesEpiloguesAgainstDoubleReference) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const GemmCase& c : edge_cases()) check_case(c, describe_case(c, ops::simd_level_name(GetParam()), threads));
  }
  omp_set_num_threads(omp_get_num_procs());
}

// Every row count of a tile cut by the bottom edge (a kernel's tails), alone and below a full
// tile, with whole and cut column tiles, both transposes of A, every epilogue.
std::vector<GemmCase> bottom_edge_cases(int mr, int nr) {
  std::vector<GemmCase> out;
  for (int rows = 1; rows < mr; ++rows)
    for (int t = 0; t < 4; ++t)
      out.push_back({(t & 2 ? mr : 0) + rows, t & 1 ? 2 * nr : nr + 5, 19 + rows, (t & 1) != 0, t == 2,
                     t == 3 ? 0.5f : 1.0f, t == 0 ? 0.0f : t == 1 ? 1.0f : -0.5f, t != 1, t == 3 ? 2 : 0});
  return out;
}

TEST_P(GemmKernels, EveryRowCountOfABottomEdgeTile) {
  const ops::GemmBlocking bl = ops::gemm_blocking(GetParam());
  for (const GemmCase& c : bottom_edge_cases(bl.mr, bl.nr))
    check_case(c, describe_case(c, ops::simd_level_name(GetParam()), 1));
}

// Larger than the blocking in every direction: several KC blocks (beta = 1 accumulation
// across them) and MC blocks; then few rows and many columns (threads split the columns).
TEST_P(GemmKernels, BeyondTheCacheBlocks) {
  const ops::GemmBlocking bl = ops::gemm_blocking(GetParam());
  EXPECT_GT(bl.kc, 0);
  EXPECT_EQ(bl.mc % bl.mr, 0);
  EXPECT_EQ(bl.nc % bl.nr, 0);
  const int M = bl.mc + bl.mr + 3, K = 2 * bl.kc + 5, N = 2 * bl.nr + 7;
  for (int t = 0; t < 4; ++t) {
    const GemmCase c{M, N, K, (t & 1) != 0, (t & 2) != 0, 1.0f, t == 3 ? 1.0f : 0.0f, t % 2 == 0, 1};
    check_case(c, describe_case(c, ops::simd_level_name(GetParam()), omp_get_max_threads()));
  }
  // Few rows, many columns: the path where each thread packs its own B micro-panels.
  for (int t = 0; t < 4; ++t) {
    const GemmCase c{3 * bl.mr + 5, 5 * bl.nr + 3, 2 * bl.kc + 9, (t & 1) != 0, (t & 2) != 0, 0.5f,
                 t == 2 ? 1.0f : 0.0f, t != 1, 2};
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      check_case(c, describe_case(c, ops::simd_level_name(GetParam()), threads));
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

// Which way the threads split a product: columns with few rows, and for the AVX-512 kernel
// also for wide products over an A block of at most 3 MB (GPT-2's fc forward at B*T = 1024);
// rows otherwise (more rows, narrow, one thread, or the AVX2 kernel).
TEST(GemmThreads, WideProductsSplitTheColumnsOnTheAvx512Kernel) {
  using ops::gemm_detail::threads_split_columns;
  const ops::gemm_detail::MicroKernel avx512 = ops::gemm_detail::avx512_kernel();
  const ops::gemm_detail::MicroKernel avx2 = ops::gemm_detail::avx2_kernel();
  ops::GemmBlocking bl = ops::gemm_blocking(SimdLevel::kAvx512);
  bl.kc = 768, bl.mc = 252;
  EXPECT_TRUE(threads_split_columns(256, 768, avx512, bl, 2));     // few rows
  EXPECT_TRUE(threads_split_columns(1024, 3072, avx512, bl, 2));   // wide, A block 3 MB
  EXPECT_TRUE(threads_split_columns(768, 3072, avx512, bl, 2));
  EXPECT_FALSE(threads_split_columns(1024, 768, avx512, bl, 2));   // narrow
  EXPECT_FALSE(threads_split_columns(1024, 2047, avx512, bl, 2));  // N < 2M
  EXPECT_FALSE(threads_split_columns(2048, 8192, avx512, bl, 2));  // A block 6 MB
  EXPECT_FALSE(threads_split_columns(1024, 3072, avx512, bl, 1));  // one thread
  EXPECT_FALSE(threads_split_columns(1024, 3072, avx2, bl, 2));    // the AVX2 kernel
  EXPECT_FALSE(threads_split_columns(256, 32, avx512, bl, 2));     // too few column panels
}

// The same wide split at a small blocking (rows beyond 1.5 MC, N >= 2M), 1 and 2 threads, at
// every level (only AVX-512 takes the columns; the others check the rows path on it).
TEST_P(GemmKernels, WideProductsAgainstDoubleReference) {
  const ops::GemmBlocking saved = ops::blocking_in_use(GetParam());
  ops::GemmBlocking small = saved;
  small.mc = saved.mr, small.kc = 24;
  ops::set_gemm_blocking(GetParam(), small);
  for (int t = 0; t < 4; ++t) {
    const GemmCase c{3 * saved.mr + 5, 7 * saved.nr + 3, 53, (t & 1) != 0, (t & 2) != 0, 1.0f, t == 1 ? 1.0f : 0.0f,
                     t != 2, t == 3 ? 1 : 0};
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      check_case(c, describe_case(c, ops::simd_level_name(GetParam()), threads) + " wide");
    }
  }
  omp_set_num_threads(omp_get_num_procs());
  ops::set_gemm_blocking(GetParam(), saved);
}

// Tiny blocks force every loop of the nest to iterate: many NC panels (each packed into the
// other half of the double buffer), KC steps and MC blocks per thread.
TEST_P(GemmKernels, SmallBlockingIteratesEveryLoop) {
  const ops::GemmBlocking saved = ops::blocking_in_use(GetParam());
  ops::GemmBlocking small = saved;
  small.kc = 7, small.mc = 2 * saved.mr, small.nc = saved.nr;
  ops::set_gemm_blocking(GetParam(), small);
  for (int t = 0; t < 4; ++t) {
    const GemmCase c{5 * saved.mr + 1, 3 * saved.nr + 5, 45, (t & 1) != 0, (t & 2) != 0, 1.0f, t == 1 ? 1.0f : 0.0f,
                 true, t};
    check_case(c, describe_case(c, ops::simd_level_name(GetParam()), omp_get_max_threads()) + " small blocking");
  }
  ops::set_gemm_blocking(GetParam(), saved);
}

// Each A micro-panel runs over a group of nb B micro-panels: groups of 1, 2 and 3 over 5
// micro-panels a panel (the last group short), with the team's shared panels and with the
// few-rows path where each thread packs its own group; 1 and 2 threads.
TEST_P(GemmKernels, GroupsOfBMicroPanels) {
  const ops::GemmBlocking saved = ops::blocking_in_use(GetParam());
  for (int nb : {1, 2, 3}) {
    ops::GemmBlocking small = saved;
    small.kc = 16, small.mc = 2 * saved.mr, small.nc = 5 * saved.nr, small.nb = nb;
    ops::set_gemm_blocking(GetParam(), small);
    const GemmCase team{7 * saved.mr + 5, 11 * saved.nr + 3, 37, false, true, 1.0f, 1.0f, true, 1};
    const GemmCase columns{2 * saved.mr + 1, 9 * saved.nr + 7, 160, true, false, 0.5f, 0.0f, true, 2};
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (const GemmCase& c : {team, columns})
        check_case(c, describe_case(c, ops::simd_level_name(GetParam()), threads) + " nb " + std::to_string(nb));
    }
  }
  omp_set_num_threads(omp_get_num_procs());
  ops::set_gemm_blocking(GetParam(), saved);
}

INSTANTIATE_TEST_SUITE_P(Levels, GemmKernels,
                         ::testing::Values(SimdLevel::kAvx512, SimdLevel::kAvx2, SimdLevel::kScalar),
                         [](const auto& info) { return std::string(ops::simd_level_name(info.param)); });

// gemm_bf16 with each bf16 kernel: AMX tiles, AVX512-BF16, or the emulation (fp32 kernel,
// rounded inputs).
class GemmBf16 : public ::testing::TestWithParam<ops::Bf16Kernel> {
 protected:
  void SetUp() override {
    saved_ = ops::gemm_bf16_kernel();
    if (ops::set_gemm_bf16_kernel(GetParam()) != GetParam())
      GTEST_SKIP() << "this CPU lacks " << ops::bf16_kernel_name(GetParam());
  }
  void TearDown() override { ops::set_gemm_bf16_kernel(saved_); }
  std::string name() const { return std::string("bf16 ") + ops::bf16_kernel_name(GetParam()); }
  bool amx() const { return GetParam() == ops::Bf16Kernel::kAmx; }
  // The blocking gemm_bf16 runs with this kernel (KC in depths), and setting it.
  ops::GemmBlocking blocking() const {
    return amx() ? ops::amx_blocking_in_use() : ops::blocking_in_use(ops::gemm_level());
  }
  void set_blocking(const ops::GemmBlocking& b) const {
    if (amx()) return ops::set_amx_blocking(b);
    ops::set_gemm_blocking(ops::gemm_level(), b);
  }
  ops::Bf16Kernel saved_{};
};

TEST_P(GemmBf16, EdgeShapesTransposesEpiloguesAgainstDoubleReference) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const GemmCase& c : edge_cases()) check_case(c, describe_case(c, name().c_str(), threads), true);
  }
  omp_set_num_threads(omp_get_num_procs());
}

TEST_P(GemmBf16, EveryRowCountOfABottomEdgeTile) {
  const ops::GemmBlocking bl = blocking();
  for (const GemmCase& c : bottom_edge_cases(bl.mr, bl.nr))
    check_case(c, describe_case(c, name().c_str(), omp_get_max_threads()), true);
}

// Around the AMX kernel's 32 x 32 tile and 16-pair (32-depth) step: exact tiles, one over
// and one under, depths just past a step, odd and prime, a single row or column.
TEST_P(GemmBf16, ShapesAroundTheTilesAndDepthSteps) {
  const int dims[][3] = {{32, 32, 32},  {33, 31, 64}, {31, 33, 63},  {64, 96, 96}, {65, 97, 33},
                         {1, 1000, 33}, {1000, 1, 65}, {47, 53, 127}, {96, 64, 2}};
  int n = 0;
  for (const auto& d : dims)
    for (int t = 0; t < 4; ++t, ++n) {
      const GemmCase c{d[0], d[1], d[2], (t & 1) != 0, (t & 2) != 0, n % 3 == 0 ? 1.0f : -1.5f,
                   n % 4 == 0 ? 0.0f : n % 4 == 1 ? 1.0f : 0.5f, n % 3 != 1, n % 5 == 2 ? 5 : 0};
      check_case(c, describe_case(c, name().c_str(), omp_get_max_threads()), true);
    }
}

TEST_P(GemmBf16, BeyondTheCacheBlocksAndSmallBlocking) {
  const ops::GemmBlocking bl = blocking();
  for (int t = 0; t < 4; ++t) {
    const GemmCase c{bl.mc + bl.mr + 3, 2 * bl.nr + 7, 4 * bl.kc + 5, (t & 1) != 0, (t & 2) != 0, 1.0f,
                 t == 3 ? 1.0f : 0.0f, t % 2 == 0, 1};
    check_case(c, describe_case(c, name().c_str(), omp_get_max_threads()), true);
    const GemmCase few{3 * bl.mr + 5, 5 * bl.nr + 3, 2 * bl.kc + 9, (t & 1) != 0, (t & 2) != 0, 0.5f, 0.0f, t != 1, 2};
    check_case(few, describe_case(few, name().c_str(), omp_get_max_threads()), true);
  }
  // Odd KC: every depth block ends in a half-filled pair (AMX: and in zero-padded pairs);
  // then for AMX a KC of 40 depths, one 16-pair step and a padded one.
  for (int kc : {7, 40}) {
    ops::GemmBlocking small = bl;
    small.kc = kc, small.mc = 2 * bl.mr, small.nc = bl.nr;
    set_blocking(small);
    for (int t = 0; t < 4; ++t) {
      const GemmCase c{5 * bl.mr + 1, 3 * bl.nr + 5, 45 + kc, (t & 1) != 0, (t & 2) != 0, 1.0f, t == 1 ? 1.0f : 0.0f,
                   true, t};
      check_case(c, describe_case(c, name().c_str(), omp_get_max_threads()) + " small blocking kc=" + std::to_string(kc),
                 true);
    }
  }
  set_blocking(bl);
}

INSTANTIATE_TEST_SUITE_P(Kernels, GemmBf16,
                         ::testing::Values(ops::Bf16Kernel::kAmx, ops::Bf16Kernel::kAvx512Bf16,
                                           ops::Bf16Kernel::kEmulated),
                         [](const auto& info) { return std::string(ops::bf16_kernel_name(info.param)); });

// The kernel in use is the best the CPU has, and forcing one is clamped to it.
TEST(GemmBf16Selection, ForcedKernelsAreClampedToTheCpu) {
  const ops::Bf16Kernel saved = ops::gemm_bf16_kernel(), best = ops::cpu_bf16_kernel();
  EXPECT_EQ(ops::set_gemm_bf16_kernel(ops::Bf16Kernel::kAmx), best);
  EXPECT_EQ(best == ops::Bf16Kernel::kAmx, ops::amx_bf16_usable() && ops::gemm_level() == SimdLevel::kAvx512);
  EXPECT_EQ(ops::set_gemm_bf16_kernel(ops::Bf16Kernel::kEmulated), ops::Bf16Kernel::kEmulated);
  EXPECT_FALSE(ops::gemm_bf16_native());
  EXPECT_EQ(ops::set_gemm_bf16_native(true), best != ops::Bf16Kernel::kEmulated);
  EXPECT_EQ(ops::gemm_bf16_kernel(), best);
  if (ops::amx_bf16_usable()) {
    EXPECT_NE(std::string(ops::cpu_simd_features()).find("amx_bf16"), std::string::npos);
  }
  ops::set_gemm_bf16_kernel(saved);
}

TEST(GemmBf16Rounding, NearestEvenDenormalsToZeroNanStays) {
  const auto bits = [](uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return ops::gemm_detail::bf16_bits(f);
  };
  EXPECT_EQ(bits(0x3f800000u), 0x3f80);  // 1.0
  EXPECT_EQ(bits(0x3f808000u), 0x3f80);  // a tie rounds to even (down)
  EXPECT_EQ(bits(0x3f818000u), 0x3f82);  // a tie rounds to even (up)
  EXPECT_EQ(bits(0x3f808001u), 0x3f81);  // above the tie: up
  EXPECT_EQ(bits(0x7f7fffffu), 0x7f80);  // the largest float rounds to infinity
  EXPECT_EQ(bits(0xff800000u), 0xff80);  // -inf stays
  EXPECT_EQ(bits(0x00400000u), 0x0000);  // a denormal flushes to +0
  EXPECT_EQ(bits(0x80400000u), 0x8000);  // ... and to -0
  EXPECT_EQ(bits(0x7fa00000u) & 0x7fc0, 0x7fc0);  // a signalling NaN comes back quiet
  EXPECT_EQ(ops::gemm_detail::bf16_round(1.0f + 1.0f / 512), 1.0f);  // below bf16's last bit
}

TEST(GemmOpenblas, SameContractThroughTheFlag) {
  ops::set_gemm_impl(ops::GemmImpl::kOpenblas);
  for (const GemmCase& c : edge_cases()) check_case(c, describe_case(c, "openblas", omp_get_max_threads()));
  ops::set_gemm_impl(ops::GemmImpl::kOwn);
}

TEST(GemmOpenblas, KZeroScalesCAndAddsBias) {
  for (ops::GemmImpl impl : {ops::GemmImpl::kOwn, ops::GemmImpl::kOpenblas}) {
    ops::set_gemm_impl(impl);
    std::vector<float> C = {1, 2, 3, 4}, bias = {10, 20};
    ops::sgemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2, bias.data());
    EXPECT_EQ(C, (std::vector<float>{10.5f, 21, 11.5f, 22})) << ops::gemm_impl_name(impl);
  }
  ops::set_gemm_impl(ops::GemmImpl::kOwn);
}

}  // namespace
}  // namespace chatforge
