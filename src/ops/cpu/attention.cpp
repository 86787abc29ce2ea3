// CPU causal self-attention. Each (batch, head) pair is one task: the scores, the
// softmax and the weighted sum run as single-threaded sgemm calls reading q, k, v
// straight out of the interleaved qkv rows (leading dimension 3C, no copies).
// OpenBLAS's OpenMP build runs single-threaded inside our parallel region.
#include <cblas.h>

#include <cmath>

#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH) {
  const int HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const int C3 = 3 * C;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const float* q = qkv + static_cast<size_t>(b) * T * C3 + h * HS;
      const float* k = q + C;
      const float* v = q + 2 * C;
      float* a = att + (static_cast<size_t>(b) * NH + h) * T * T;
      // a (T,T) = scale * q (T,HS) @ k^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HS, scale, q, C3, k, C3, 0.0f, a, T);
      for (int t = 0; t < T; ++t) {
        float* row = a + static_cast<size_t>(t) * T;
        float maxv = row[0];
        for (int s = 1; s <= t; ++s) maxv = row[s] > maxv ? row[s] : maxv;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int s = 0; s <= t; ++s) {
          row[s] = vec::exp_approx(row[s] - maxv);
          sum += row[s];
        }
        const float inv = 1.0f / sum;
        for (int s = 0; s <= t; ++s) row[s] *= inv;
        for (int s = t + 1; s < T; ++s) row[s] = 0.0f;  // causal mask
      }
      // out (T,HS) slice of (T,C) = a (T,T) @ v (T,HS)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HS, T, 1.0f, a, T, v, C3, 0.0f,
                  out + static_cast<size_t>(b) * T * C + h * HS, C);
    }
}

void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, int B,
                        int T, int C, int NH) {
  const int HS = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const int C3 = 3 * C;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const size_t off = static_cast<size_t>(b) * T * C3 + h * HS;
      const float* q = qkv + off;
      const float* k = q + C;
      const float* v = q + 2 * C;
      float* dq = dqkv + off;
      float* dk = dq + C;
      float* dv = dq + 2 * C;
      const float* a = att + (static_cast<size_t>(b) * NH + h) * T * T;
      float* da = scratch + (static_cast<size_t>(b) * NH + h) * T * T;
      const float* dy = dout + static_cast<size_t>(b) * T * C + h * HS;
      // forward was: out = a @ v, so da = dy @ v^T and dv = a^T @ dy
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HS, 1.0f, dy, C, v, C3, 0.0f, da, T);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HS, T, 1.0f, a, T, dy, C, 0.0f, dv, C3);
      // forward was: a = softmax(pre) row-wise (causal), so dpre = a * (da - sum(a * da))
      for (int t = 0; t < T; ++t) {
        const float* arow = a + static_cast<size_t>(t) * T;
        float* drow = da + static_cast<size_t>(t) * T;
        float dot = 0.0f;
        for (int s = 0; s <= t; ++s) dot += arow[s] * drow[s];
        for (int s = 0; s <= t; ++s) drow[s] = arow[s] * (drow[s] - dot);
        for (int s = t + 1; s < T; ++s) drow[s] = 0.0f;
      }
      // forward was: pre = scale * q @ k^T, so dq = scale * dpre @ k and dk = scale * dpre^T @ q
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HS, T, scale, da, T, k, C3, 0.0f, dq, C3);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HS, T, scale, da, T, q, C3, 0.0f, dk, C3);
    }
}

}  // namespace chatforge::ops
