// CPU linear layer through OpenBLAS sgemm (OpenMP build, sharing our thread pool).
#include <cblas.h>

#include "ops/ops.h"

namespace chatforge::ops {

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
  // out (N,OC) = inp (N,C) @ weight(OC,C)^T
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
  if (bias != nullptr) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; ++i) {
      float* o = out + static_cast<size_t>(i) * OC;
      for (int j = 0; j < OC; ++j) o[j] += bias[j];
    }
  }
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC) {
  // forward was: out = inp @ weight^T + bias
  // dinp (N,C) = dout (N,OC) @ weight (OC,C)
  if (dinp != nullptr)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C, 0.0f, dinp, C);
  // dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
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
