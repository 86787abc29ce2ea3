// Measures this machine's OpenBLAS sgemm peak (GFLOP/s) with the current thread count —
// the best of several square multiplies, the BLAS-relative MFU denominator — and the
// hardware fp32 FMA peak (ops/cpu/fma_peak.h, what `chatforge train` divides by).
// Usage: bench_sgemm_peak [N=2048] [reps=5]     Prints: RESULT sgemm_gflops=... fma_gflops=...
#include <cblas.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/rng.h"
#include "core/timer.h"
#include "ops/cpu/fma_peak.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2048;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  chatforge::Rng rng(1);
  for (auto& x : a) x = rng.uniform_f() - 0.5f;
  for (auto& x : b) x = rng.uniform_f() - 0.5f;
  double best = 0;
  for (int r = 0; r < reps + 1; ++r) {
    chatforge::Timer t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    const double gflops = 2.0 * n * n * static_cast<double>(n) / t.seconds() / 1e9;
    if (r > 0 && gflops > best) best = gflops;  // the first run warms caches and threads
  }
  const chatforge::ops::FmaPeak fma = chatforge::ops::measure_fma_peak(0, 0.2, 5);
  std::printf("RESULT sgemm_gflops=%.1f n=%d fma_gflops=%.1f fma_level=%s\n", best, n, fma.gflops,
              chatforge::ops::simd_level_name(fma.level));
  return 0;
}
