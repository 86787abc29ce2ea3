// CPU causal self-attention, flash style, with optional document ids (packed rows).
// Queries go in blocks of kQueryBlock rows; a block's scores against every key it may
// see (from its documents' first key up to the causal limit) are one sgemm into a
// per-thread tile, so memory is O(threads * block * T), never (B, NH, T, T). Only the
// per-row log-sum-exp is kept; backward recomputes the probabilities from q, k and lse.
// sgemms read q, k, v straight out of the qkv rows (leading dimension (NH + 2 NKV) HS); a
// query head reads the key/value head of its group (grouped-query attention);
// the products are our sgemm (gemm.h), which runs on the calling thread inside our parallel
// regions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/gemm.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {

namespace {

constexpr int kQueryBlock = 64;

// The first key any query in [i0, i1) may attend to: 0 without document ids, else the
// first position whose document is one of the block's documents. Keys before it are fully
// masked for the whole block, so their scores are never computed.
// Example: doc = [0,0,0,1,1,2,2,2], block [4,8) -> documents {1,2} -> first key 3.
int first_visible_key(const int32_t* doc, int i0, int i1) {
  if (doc == nullptr) return 0;
  int32_t ids[kQueryBlock];
  int n = 0;
  for (int i = i0; i < i1; ++i)
    if (n == 0 || ids[n - 1] != doc[i]) ids[n++] = doc[i];
  for (int j = 0; j < i0; ++j)
    for (int k = 0; k < n; ++k)
      if (doc[j] == ids[k]) return j;
  return i0;
}

// Row max over the visible keys of query i (there is always one: j = i).
float masked_row_max(const float* s, const int32_t* doc, int i, int lo) {
  float m = -std::numeric_limits<float>::infinity();
  const int n = i - lo + 1;
  if (doc == nullptr) {
    for (int j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  } else {
    const int32_t d = doc[i];
    for (int j = 0; j < n; ++j) m = (doc[lo + j] == d && s[j] > m) ? s[j] : m;
  }
  return m;
}

// s[j] = exp(s[j] - shift) for visible keys, 0 for masked ones and for j beyond the causal
// limit (up to nk). Returns the sum of the kept values.
float masked_exp_row(float* s, const int32_t* doc, int i, int lo, int nk, float shift) {
  const int n = i - lo + 1;
  float sum = 0.0f;
  if (doc == nullptr) {
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; ++j) {
      s[j] = vec::exp_approx(s[j] - shift);
      sum += s[j];
    }
  } else {
    const int32_t d = doc[i];
    const int32_t* dk = doc + lo;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; ++j) {
      const float e = vec::exp_approx(s[j] - shift);
      s[j] = dk[j] == d ? e : 0.0f;
      sum += s[j];
    }
  }
  for (int j = n; j < nk; ++j) s[j] = 0.0f;  // causal mask
  return sum;
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int NH, int NKV,
                       int HS) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const int W = (NH + 2 * NKV) * HS, Q = NH * HS, group = NH / NKV;  // qkv row width, output row width
  const int nblocks = (T + kQueryBlock - 1) / kQueryBlock;
#pragma omp parallel
  {
    std::vector<float> tile(static_cast<size_t>(std::min(T, kQueryBlock)) * T);
#pragma omp for collapse(3) schedule(dynamic, 1)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < NH; ++h)
        for (int blk = nblocks - 1; blk >= 0; --blk) {  // biggest blocks first
          const int i0 = blk * kQueryBlock, i1 = std::min(T, i0 + kQueryBlock), nq = i1 - i0;
          const int32_t* drow = doc != nullptr ? doc + static_cast<size_t>(b) * T : nullptr;
          const int lo = first_visible_key(drow, i0, i1), nk = i1 - lo;
          const int g = h / group;  // this query head's key/value head
          const float* rows = qkv + static_cast<size_t>(b) * T * W;
          const float* q = rows + static_cast<size_t>(i0) * W + h * HS;
          const float* k = rows + static_cast<size_t>(lo) * W + Q + g * HS;
          const float* v = rows + static_cast<size_t>(lo) * W + Q + NKV * HS + g * HS;
          float* s = tile.data();
          // s (nq,nk) = scale * q_blk @ k[lo:i1]^T
          sgemm(false, true, nq, nk, HS, scale, q, W, k, W, 0.0f, s, nk);
          float* lse_bh = lse + (static_cast<size_t>(b) * NH + h) * T;
          for (int r = 0; r < nq; ++r) {
            const int i = i0 + r;
            float* row = s + static_cast<size_t>(r) * nk;
            const float m = masked_row_max(row, drow, i, lo);
            const float sum = masked_exp_row(row, drow, i, lo, nk, m);
            lse_bh[i] = m + std::log(sum);
            const float inv = 1.0f / sum;
            for (int j = 0; j <= i - lo; ++j) row[j] *= inv;
          }
          // out[i0:i1] (nq,HS) = p (nq,nk) @ v[lo:i1]
          sgemm(false, false, nq, HS, nk, 1.0f, s, nk, v, W, 0.0f,
                      out + (static_cast<size_t>(b) * T + i0) * Q + h * HS, Q);
        }
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                        const int32_t* doc, int B, int T, int NH, int NKV, int HS) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const int W = (NH + 2 * NKV) * HS, Q = NH * HS, group = NH / NKV;
  const int nblocks = (T + kQueryBlock - 1) / kQueryBlock;
  // One (b, key/value head) per task: its dk and dv accumulate over the query heads of its
  // group and over the query blocks with no other writer, so no atomics and a fixed
  // summation order.
#pragma omp parallel
  {
    const size_t tile_n = static_cast<size_t>(std::min(T, kQueryBlock)) * T;
    std::vector<float> ptile(tile_n), dptile(tile_n);
    std::vector<float> drow_dot(kQueryBlock);
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int b = 0; b < B; ++b)
      for (int g = 0; g < NKV; ++g) {
        const size_t row0 = static_cast<size_t>(b) * T * W;
        const size_t koff = row0 + Q + static_cast<size_t>(g) * HS, voff = koff + static_cast<size_t>(NKV) * HS;
        const int32_t* drow = doc != nullptr ? doc + static_cast<size_t>(b) * T : nullptr;
        for (int t = 0; t < T; ++t) {  // dk, dv accumulate below (beta = 1)
          std::fill(dqkv + koff + static_cast<size_t>(t) * W, dqkv + koff + static_cast<size_t>(t) * W + HS, 0.0f);
          std::fill(dqkv + voff + static_cast<size_t>(t) * W, dqkv + voff + static_cast<size_t>(t) * W + HS, 0.0f);
        }
        for (int h = g * group; h < (g + 1) * group; ++h) {
          const size_t qoff = row0 + static_cast<size_t>(h) * HS;
          const float* lse_bh = lse + (static_cast<size_t>(b) * NH + h) * T;
          for (int blk = 0; blk < nblocks; ++blk) {
            const int i0 = blk * kQueryBlock, i1 = std::min(T, i0 + kQueryBlock), nq = i1 - i0;
            const int lo = first_visible_key(drow, i0, i1), nk = i1 - lo;
            const float* q = qkv + qoff + static_cast<size_t>(i0) * W;
            const float* k = qkv + koff + static_cast<size_t>(lo) * W;
            const float* v = qkv + voff + static_cast<size_t>(lo) * W;
            float* dq = dqkv + qoff + static_cast<size_t>(i0) * W;
            float* dk = dqkv + koff + static_cast<size_t>(lo) * W;
            float* dv = dqkv + voff + static_cast<size_t>(lo) * W;
            const float* dy = dout + (static_cast<size_t>(b) * T + i0) * Q + h * HS;
            const float* y = out + (static_cast<size_t>(b) * T + i0) * Q + h * HS;
            float* p = ptile.data();
            float* dp = dptile.data();
            // forward was: p = softmax(scale * q @ k^T) = exp(scale * q k^T - lse), recomputed
            sgemm(false, true, nq, nk, HS, scale, q, W, k, W, 0.0f, p, nk);
            for (int r = 0; r < nq; ++r) {
              const int i = i0 + r;
              masked_exp_row(p + static_cast<size_t>(r) * nk, drow, i, lo, nk, lse_bh[i]);
              // D_i = rowsum(dy_i * y_i) = sum_j p_ij dp_ij (the softmax backward's dot)
              float d = 0.0f;
              const float* dyr = dy + static_cast<size_t>(r) * Q;
              const float* yr = y + static_cast<size_t>(r) * Q;
              for (int c = 0; c < HS; ++c) d += dyr[c] * yr[c];
              drow_dot[r] = d;
            }
            // forward was: y = p @ v, so dp = dy @ v^T and dv += p^T @ dy
            sgemm(false, true, nq, nk, HS, 1.0f, dy, Q, v, W, 0.0f, dp, nk);
            sgemm(true, false, nk, HS, nq, 1.0f, p, nk, dy, Q, 1.0f, dv, W);
            // forward was: p = softmax(s) row-wise, so ds = p * (dp - D)  (masked p are 0)
            for (int r = 0; r < nq; ++r) {
              float* pr = p + static_cast<size_t>(r) * nk;
              const float* dpr = dp + static_cast<size_t>(r) * nk;
              const float d = drow_dot[r];
              const int n = i0 + r - lo + 1;
#pragma omp simd
              for (int j = 0; j < n; ++j) pr[j] = pr[j] * (dpr[j] - d);
            }
            // forward was: s = scale * q @ k^T, so dq = scale * ds @ k and dk += scale * ds^T @ q
            sgemm(false, false, nq, HS, nk, scale, p, nk, k, W, 0.0f, dq, W);
            sgemm(true, false, nk, HS, nq, scale, p, nk, q, W, 1.0f, dk, W);
          }
        }
      }
  }
}

}  // namespace chatforge::ops
