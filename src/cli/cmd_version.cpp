// `chatforge version`: prints the version and how this binary was built (BLAS, threads,
// SIMD level) and the CPU's measured fp32 peak (ops/cpu/fma_peak.h).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "core/version.h"
#include "ops/cpu/fma_peak.h"
#include "ops/cpu/simd.h"
#include "ops/ops.h"

namespace chatforge::cli {
namespace {
void setup(CLI::App& cmd) {
  cmd.callback([] {
    std::printf("chatforge %s\n", CHATFORGE_VERSION);
    std::printf("cpu threads: %d (OMP_NUM_THREADS to change)\n", default_threads());
    std::printf("blas core: %s%s\n", ops::blas_core_name(),
                std::getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : " (detected)");
    const ops::SimdLevel in_use = ops::simd_level(), cpu = ops::cpu_simd_level(), built = ops::built_simd_level();
    const bool lowered = static_cast<int>(in_use) < std::min(static_cast<int>(cpu), static_cast<int>(built));
    std::printf("simd: %s (cpu %s, built %s%s)\n", ops::simd_level_name(in_use), ops::simd_level_name(cpu),
                ops::simd_level_name(built), lowered ? ", lowered by CHATFORGE_SIMD" : "");
    const ops::FmaPeak peak = ops::measure_fma_peak();
    std::printf("fp32 peak: %.0f GFLOP/s measured (%s FMA loop on %d threads; the MFU denominator)\n", peak.gflops,
                ops::simd_level_name(peak.level), peak.threads);
  });
}
}  // namespace
CF_REGISTER_COMMAND({"version", "print the version and build information", setup, 1000});
}  // namespace chatforge::cli
