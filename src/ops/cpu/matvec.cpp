// CPU linear layer for a few rows: decoding is bound by reading the weights, and OpenBLAS
// sgemm with 1..8 rows packs and re-reads them (measured 5-30x slower than this on the
// build machine). Each thread takes blocks of 4 output channels and computes them for
// every input row while those 4 weight rows sit in L1; 4 independent accumulators per row
// keep the FMA units busy.
#include <cstddef>

#include "ops/ops.h"

namespace chatforge::ops {

void matvec_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
  constexpr int kBlock = 4;
#pragma omp parallel for schedule(static)
  for (int j = 0; j < OC; j += kBlock) {
    const int nj = OC - j < kBlock ? OC - j : kBlock;
    const float* w0 = weight + static_cast<size_t>(j) * C;
    // rows past OC alias row 0 of the block: computed, never stored
    const float* w1 = nj > 1 ? w0 + C : w0;
    const float* w2 = nj > 2 ? w0 + 2 * static_cast<size_t>(C) : w0;
    const float* w3 = nj > 3 ? w0 + 3 * static_cast<size_t>(C) : w0;
    for (int i = 0; i < N; ++i) {
      const float* x = inp + static_cast<size_t>(i) * C;
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
      for (int c = 0; c < C; ++c) {
        const float xc = x[c];
        a0 += xc * w0[c];
        a1 += xc * w1[c];
        a2 += xc * w2[c];
        a3 += xc * w3[c];
      }
      const float acc[kBlock] = {a0, a1, a2, a3};
      float* o = out + static_cast<size_t>(i) * OC + j;
      for (int k = 0; k < nj; ++k) o[k] = acc[k] + (bias != nullptr ? bias[j + k] : 0.0f);
    }
  }
}

}  // namespace chatforge::ops
