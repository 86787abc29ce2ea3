// CPU linear layer through our sgemm (gemm.h; CHATFORGE_GEMM=openblas for OpenBLAS's), the
// bias fused into the GEMM's epilogue, dweight accumulated by it (beta = 1).
#include <cblas.h>

#include <algorithm>

#include "ops/cpu/gemm.h"
#include "ops/ops.h"

namespace chatforge::ops {

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC,
                    bool bf16, float* gelu_out) {
  // out (N,OC) = inp (N,C) @ weight(OC,C)^T (+ gelu_out = GELU(out))
  (bf16 ? gemm_bf16 : sgemm)(false, true, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC, bias, gelu_out);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, bool bf16) {
  const auto gemm = bf16 ? gemm_bf16 : sgemm;
  // forward was: out = inp @ weight^T + bias
  // dinp (N,C) = dout (N,OC) @ weight (OC,C)
  if (dinp != nullptr)
    gemm(false, false, N, C, OC, 1.0f, dout, OC, weight, C, 0.0f, dinp, C, nullptr, nullptr);
  // dweight (OC,C) += dout^T (OC,N) @ inp (N,C) (a frozen weight passes null: skipped)
  if (dweight != nullptr) gemm(true, false, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C, nullptr, nullptr);
  if (dbias != nullptr) {
    // dbias += column sums of dout; threads own column blocks, rows summed in order.
    constexpr int kBlock = 64;
    const int nblocks = (OC + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblocks; ++blk) {
      const int j0 = blk * kBlock, j1 = j0 + kBlock < OC ? j0 + kBlock : OC;
      float acc[kBlock] = {};
      for (int i = 0; i < N; ++i) {
        const float* d = dout + static_cast<size_t>(i) * OC;
        for (int j = j0; j < j1; ++j) acc[j - j0] += d[j];
      }
      for (int j = j0; j < j1; ++j) dbias[j] += acc[j - j0];
    }
  }
}

}  // namespace chatforge::ops

#include <chrono>
#include <vector>

namespace chatforge::ops {

double measure_sgemm_gflops(int n, int reps) {
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  double best = 0;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::max(best, 2.0 * n * n * static_cast<double>(n) / s / 1e9);  // first run warms up
  }
  return best;
}

}  // namespace chatforge::ops

#include <cstring>

namespace chatforge::ops {

const char* blas_core_name() { return openblas_get_corename(); }

bool blas_shares_openmp_pool() { return openblas_get_parallel() == 2; }

const char* blas_better_coretype() {
  const char* core = openblas_get_corename();
  if (core == nullptr) return nullptr;
  const bool weak = std::strcmp(core, "Prescott") == 0 || std::strcmp(core, "Core2") == 0 ||
                    std::strcmp(core, "Penryn") == 0 || std::strcmp(core, "Dunnington") == 0 ||
                    std::strcmp(core, "Nehalem") == 0 || std::strcmp(core, "Sandybridge") == 0 ||
                    std::strcmp(core, "Atom") == 0 || std::strcmp(core, "Katmai") == 0;
  if (!weak) return nullptr;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace chatforge::ops
