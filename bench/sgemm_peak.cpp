// Measures this machine's OpenBLAS sgemm peak (GFLOP/s) with the current thread count —
// the best of several square multiplies after a warm-up one (ops::measure_sgemm_gflops),
// the BLAS-relative MFU denominator — and the hardware fp32 FMA peak (ops/cpu/fma_peak.h,
// what `chatforge train` divides by).
// Usage: bench_sgemm_peak [N=2048] [reps=5]     Prints: RESULT sgemm_gflops=... fma_gflops=...
#include <cstdio>
#include <cstdlib>

#include "ops/cpu/fma_peak.h"
#include "ops/ops.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2048;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const double sgemm = chatforge::ops::measure_sgemm_gflops(n, reps);
  const chatforge::ops::FmaPeak fma = chatforge::ops::measure_fma_peak(0, 0.2, 5);
  std::printf("RESULT sgemm_gflops=%.1f n=%d fma_gflops=%.1f fma_level=%s\n", sgemm, n, fma.gflops,
              chatforge::ops::simd_level_name(fma.level));
  return 0;
}
