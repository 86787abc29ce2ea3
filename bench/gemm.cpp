// GEMM throughput at the GPT-2 124M training shapes: for each linear layer (qkv, attn proj,
// fc, mlp proj, lm head) the forward (out = inp @ W^T), dgrad (dinp = dout @ W) and wgrad
// (dW += dout^T @ inp) products, timed with our sgemm (gemm.h) or OpenBLAS's, as GFLOP/s and
// as a fraction of the measured fp32 FMA peak (fma_peak.h) on the same threads.
// OPENBLAS_CORETYPE is read when the library loads, so scripts/bench/gemm.sh runs one process
// per core type. `bf16` times gemm_bf16 (bf16 inputs, fp32 accumulation) with the kernel
// CHATFORGE_BF16 leaves (AMX where the CPU has it, else AVX512-BF16) and also reports the
// fraction of that kernel's measured bf16 peak (tdpbf16ps or vdpbf16ps loop).
// Usage: bench_gemm own|openblas|bf16 [M=4096] [reps=3] [M_lm_head=1024]
// Prints one line per product and "RESULT impl=... gflops=... frac_peak=..." (FLOP-weighted).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"

namespace {

struct Product {
  std::string name;
  bool ta, tb;
  int M, N, K;
};

bool g_bf16 = false;

double time_best(const Product& p, int reps) {
  const int rows_a = p.ta ? p.K : p.M, cols_a = p.ta ? p.M : p.K;
  const int rows_b = p.tb ? p.N : p.K, cols_b = p.tb ? p.K : p.N;
  std::vector<float> A(static_cast<size_t>(rows_a) * cols_a, 0.5f), B(static_cast<size_t>(rows_b) * cols_b, 0.25f);
  std::vector<float> C(static_cast<size_t>(p.M) * p.N, 0.0f);
  double best = 1e30;
  for (int r = 0; r <= reps; ++r) {  // the first run warms caches, pages and packing buffers
    const auto t0 = std::chrono::steady_clock::now();
    const float beta = p.name.find("wgrad") != std::string::npos ? 1.0f : 0.0f;
    (g_bf16 ? chatforge::ops::gemm_bf16 : chatforge::ops::sgemm)(p.ta, p.tb, p.M, p.N, p.K, 1.0f, A.data(), cols_a,
                                                                 B.data(), cols_b, beta, C.data(), p.N, nullptr, nullptr);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, s);
  }
  return best;
}

std::vector<Product> training_products(int M, int M_lm) {
  struct Layer {
    const char* name;
    int C, OC, rows;
  };
  const Layer layers[] = {{"qkv", 768, 2304, M},   {"attproj", 768, 768, M},       {"fc", 768, 3072, M},
                          {"mlpproj", 3072, 768, M}, {"lmhead", 768, 50304, M_lm}};
  std::vector<Product> out;
  for (const Layer& l : layers) {
    out.push_back({std::string(l.name) + ".fwd", false, true, l.rows, l.OC, l.C});
    out.push_back({std::string(l.name) + ".dgrad", false, false, l.rows, l.C, l.OC});
    out.push_back({std::string(l.name) + ".wgrad", true, false, l.OC, l.C, l.rows});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  namespace ops = chatforge::ops;
  const char* impl = argc > 1 ? argv[1] : "own";
  const int M = argc > 2 ? std::atoi(argv[2]) : 4096, reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const int M_lm = argc > 4 ? std::atoi(argv[4]) : 1024;
  ops::set_gemm_impl(std::strcmp(impl, "openblas") == 0 ? ops::GemmImpl::kOpenblas : ops::GemmImpl::kOwn);
  g_bf16 = std::strcmp(impl, "bf16") == 0;
  // The hardware's peak (the widest FMA the CPU has), whatever kernel CHATFORGE_SIMD picks.
  ops::set_simd_level(ops::SimdLevel::kAvx512);
  const ops::FmaPeak peak = ops::measure_fma_peak(0, 0.1, 7);  // best of 7: the machine is shared
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::string label = std::strcmp(impl, "openblas") == 0 ? std::string("openblas-") + (core ? core : "detected")
                                                        : std::string("own-") + ops::simd_level_name(ops::gemm_level());
  const ops::Bf16Kernel kernel = ops::gemm_bf16_kernel();
  if (g_bf16) label = std::string("own-bf16") + (kernel == ops::Bf16Kernel::kAvx512Bf16 ? "" : std::string("-") + ops::bf16_kernel_name(kernel));
  const double bf16_peak = !g_bf16 || !ops::gemm_bf16_native()       ? 0
                           : kernel == ops::Bf16Kernel::kAmx ? ops::measure_amx_bf16_peak_gflops(0, 0.1, 7)
                                                             : ops::measure_bf16_peak_gflops(0, 0.1, 7);
  double flops = 0, seconds = 0;
  for (const Product& p : training_products(M, M_lm)) {
    const double s = time_best(p, reps), f = 2.0 * p.M * p.N * static_cast<double>(p.K);
    flops += f, seconds += s;
    std::printf("%-16s %-14s M=%-5d N=%-5d K=%-5d %7.1f GFLOP/s  %5.1f%% of peak\n", label.c_str(), p.name.c_str(),
                p.M, p.N, p.K, f / s / 1e9, 100.0 * f / s / 1e9 / peak.gflops);
  }
  const double fma = peak.gflops;
  std::printf("RESULT impl=%s gflops=%.1f frac_peak=%.3f fma_gflops=%.1f threads=%d", label.c_str(),
              flops / seconds / 1e9, flops / seconds / 1e9 / fma, fma, omp_get_max_threads());
  if (bf16_peak > 0)
    std::printf(" bf16_kernel=%s bf16_peak_gflops=%.1f frac_bf16_peak=%.3f", ops::bf16_kernel_name(kernel), bf16_peak,
                flops / seconds / 1e9 / bf16_peak);
  std::printf("\n");
  return 0;
}
