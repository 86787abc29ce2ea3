// `chatforge version`: prints the version and how this binary was built (BLAS, threads,
// SIMD level, CPUID's SIMD features, the GEMM in use) and the CPU's measured fp32 and bf16
// peaks (ops/cpu/fma_peak.h).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "core/version.h"
#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/simd.h"
#include "ops/ops.h"

namespace chatforge::cli {
namespace {
void setup_version(CLI::App& cmd) {
  cmd.callback([] {
    std::printf("chatforge %s\n", CHATFORGE_VERSION);
    std::printf("cpu threads: %d (OMP_NUM_THREADS to change)\n", default_threads());
    std::printf("blas core: %s%s\n", ops::blas_core_name(),
                std::getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : " (detected)");
    const ops::SimdLevel in_use = ops::simd_level(), cpu = ops::cpu_simd_level(), built = ops::built_simd_level();
    const bool lowered = static_cast<int>(in_use) < std::min(static_cast<int>(cpu), static_cast<int>(built));
    std::printf("simd: %s (cpu %s, built %s%s)\n", ops::simd_level_name(in_use), ops::simd_level_name(cpu),
                ops::simd_level_name(built), lowered ? ", lowered by CHATFORGE_SIMD" : "");
    std::printf("cpu features: %s\n", ops::cpu_simd_features());
    std::printf("gemm: %s (%s micro-kernel%s; CHATFORGE_GEMM=openblas for OpenBLAS)\n",
                ops::gemm_impl_name(ops::gemm_impl()), ops::simd_level_name(ops::gemm_level()),
                ops::gemm_impl() == ops::GemmImpl::kOpenblas ? " unused" : "");
    const ops::FmaPeak peak = ops::measure_fma_peak();
    std::printf("fp32 peak: %.0f GFLOP/s measured (%s FMA loop on %d threads; the MFU denominator)\n", peak.gflops,
                ops::simd_level_name(peak.level), peak.threads);
    std::printf("bf16 gemm: %s kernel (best on this cpu: %s; CHATFORGE_BF16=amx|avx512bf16|emulate to lower)\n",
                ops::bf16_kernel_name(ops::gemm_bf16_kernel()), ops::bf16_kernel_name(ops::cpu_bf16_kernel()));
    // "bf16 peak" is the peak of the instruction the bf16 GEMM runs (the bf16 MFU denominator).
    const double vdp = ops::measure_bf16_peak_gflops(peak.threads);
    const double amx = ops::gemm_bf16_kernel() == ops::Bf16Kernel::kAmx ? ops::measure_amx_bf16_peak_gflops(peak.threads) : 0;
    if (amx > 0)
      std::printf("bf16 peak: %.0f GFLOP/s measured (AMX tdpbf16ps loop on %d threads; vdpbf16ps: %.0f)\n", amx,
                  peak.threads, vdp);
    else if (vdp > 0)
      std::printf("bf16 peak: %.0f GFLOP/s measured (vdpbf16ps loop on %d threads)\n", vdp, peak.threads);
    else
      std::printf("bf16 peak: n/a (no AVX512-BF16 on this CPU)\n");
  });
}
}  // namespace
CF_REGISTER_COMMAND({"version", "print the version and build information", setup_version, 1000});
}  // namespace chatforge::cli
