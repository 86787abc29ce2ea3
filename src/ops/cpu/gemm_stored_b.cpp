// Packing op(B) straight from a stored weight matrix (ops.h WeightMatrix: fp32 rows, or
// f16/bf16/int8 in row panels): the values dequantize_rows gives, converted as they are
// packed, so sgemm_stored / gemm_bf16_stored multiply by a bf16 or int8 matrix with no fp32
// copy of it and no extra pass over memory (LoRA's frozen base, prefill over stored weights).
//   trans (the forward, out = x w^T):   op(B)(k, j) = w[j0 + j][k0 + k], a row segment per column
//   !trans (the input gradient, dx = dy w): op(B)(k, j) = w[k0 + k][j0 + j], a row segment per depth
// Layouts as gemm_kernels.h: dst[k*nr + j] (fp32), or 32-bit pair slots dst[p*nr + j] (bf16).
// bf16 weights under a bf16 kernel's transposed op(B) copy their stored words (no conversion).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/cpu/gemm_kernels.h"
#include "ops/ops.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kDepthChunk = 64;  // depths per transposing pass (the panel rows being filled stay in L1)

// Slot p of a line of kb values (depth pairs, the high half 0 past kb).
uint32_t pair_of(const float* v, int p, int kb) {
  const int k = 2 * p;
  return static_cast<uint32_t>(bf16_bits(v[k])) | (k + 1 < kb ? static_cast<uint32_t>(bf16_bits(v[k + 1])) << 16 : 0u);
}

// With the kernel's SIMD transposer: each 64-deep chunk of the nr rows converted into a
// contiguous block (rows 64 apart), which the transposer packs as it packs fp32 B.
void pack_trans_simd(const WeightMatrix& w, int k0, int j0, int kb, int cols, int nr, int pair, float* dst,
                     PackBTransFn simd_trans) {
  alignas(64) float block[64 * kDepthChunk];
  for (int kk = 0; kk < kb; kk += kDepthChunk) {
    const int n = std::min(kDepthChunk, kb - kk);
    for (int j = 0; j < cols; ++j) dequantize_row_segment(block + static_cast<size_t>(j) * kDepthChunk, w, j0 + j, k0 + kk, n);
    simd_trans(block, kDepthChunk, n, cols, dst + static_cast<size_t>(kk / pair) * nr);
  }
}

void pack_trans(const WeightMatrix& w, int k0, int j0, int kb, int cols, int nr, int pair, float* dst) {
  alignas(64) float line[kDepthChunk];
  auto* slots = reinterpret_cast<uint32_t*>(dst);
  for (int kk = 0; kk < kb; kk += kDepthChunk) {
    const int n = std::min(kDepthChunk, kb - kk);
    for (int j = 0; j < nr; ++j) {
      if (j < cols)
        dequantize_row_segment(line, w, j0 + j, k0 + kk, n);
      else
        std::fill(line, line + n, 0.0f);
      if (pair == 1) {
        for (int k = 0; k < n; ++k) dst[static_cast<size_t>(kk + k) * nr + j] = line[k];
      } else {  // kk is even: chunk slots start at pair kk / 2
        for (int p = 0; p < (n + 1) / 2; ++p) slots[static_cast<size_t>(kk / 2 + p) * nr + j] = pair_of(line, p, n);
      }
    }
  }
}

void pack_plain(const WeightMatrix& w, int k0, int j0, int kb, int cols, int nr, int pair, float* dst) {
  if (pair == 1) {
    for (int k = 0; k < kb; ++k) {
      float* d = dst + static_cast<size_t>(k) * nr;
      dequantize_row_segment(d, w, k0 + k, j0, cols);
      std::fill(d + cols, d + nr, 0.0f);
    }
    return;
  }
  alignas(64) float lo[64], hi[64];  // two depths' rows, nr <= 64
  auto* slots = reinterpret_cast<uint32_t*>(dst);
  for (int k = 0; k < kb; k += 2) {
    dequantize_row_segment(lo, w, k0 + k, j0, cols);
    if (k + 1 < kb)
      dequantize_row_segment(hi, w, k0 + k + 1, j0, cols);
    else
      std::fill(hi, hi + cols, 0.0f);
    uint32_t* d = slots + static_cast<size_t>(k / 2) * nr;
    for (int j = 0; j < cols; ++j)
      d[j] = static_cast<uint32_t>(bf16_bits(lo[j])) | static_cast<uint32_t>(bf16_bits(hi[j])) << 16;
    for (int j = cols; j < nr; ++j) d[j] = 0;
  }
}

}  // namespace

void pack_b_stored(const WeightMatrix& w, bool trans, int k0, int j0, int kb, int cols, int nr, int pair, float* dst,
                   PackBTransFn simd_trans) {
  // A pair kernel runs only where CPUID reports AVX512-BF16 (gemm_bf16.cpp), as this pack needs.
  if (trans && pair == 2 && nr == 32 && w.format == WeightFormat::kBF16 && k0 % 32 == 0)
    pack_b_pairs_stored_bf16_trans32(w, k0, j0, kb, cols, dst);
  else if (trans && simd_trans != nullptr && nr <= 64)
    pack_trans_simd(w, k0, j0, kb, cols, nr, pair, dst, simd_trans);
  else if (trans)
    pack_trans(w, k0, j0, kb, cols, nr, pair, dst);
  else
    pack_plain(w, k0, j0, kb, cols, nr, pair, dst);
}

}  // namespace chatforge::ops::gemm_detail
