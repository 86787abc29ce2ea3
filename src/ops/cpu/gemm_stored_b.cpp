// Packing op(B) straight from a stored weight matrix (ops.h WeightMatrix: fp32 rows, or
// f16/bf16/int8 in row panels): the values dequantize_rows gives, converted as they are
// packed, so sgemm_stored / gemm_bf16_stored multiply by a bf16 or int8 matrix with no fp32
// copy of it and no extra pass over memory (LoRA's frozen base, prefill over stored weights).
//   trans (the forward, out = x w^T):   op(B)(k, j) = w[j0 + j][k0 + k], a row segment per column
//   !trans (the input gradient, dx = dy w): op(B)(k, j) = w[k0 + k][j0 + j], a row segment per depth
// Layouts as gemm_kernels.h: dst[k*nr + j] (fp32), or 32-bit pair slots dst[p*nr + j] (bf16).
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/half.h"
#include "ops/ops.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kDepthChunk = 64;  // depths per transposing pass (the panel rows being filled stay in L1)

// out[0, n) = the fp32 values of row `row`, columns [c0, c0 + n), of w.
void load_row_segment(const WeightMatrix& w, int row, int c0, int n, float* out) {
  if (w.format == WeightFormat::kF32) {
    std::memcpy(out, static_cast<const float*>(w.data) + static_cast<size_t>(row) * w.C + c0, n * sizeof(float));
    return;
  }
  const float sc = w.format == WeightFormat::kInt8 ? w.scale[row] : 1.0f;
  for (int c = c0; c < c0 + n;) {  // one 32-wide chunk of the row panel at a time
    const int chunk0 = c / kPanelCols * kPanelCols, width = std::min(kPanelCols, w.C - chunk0);
    const int take = std::min(chunk0 + width, c0 + n) - c;
    const size_t at = panel_index(row, c, w.C);
    float* o = out + (c - c0);
    if (w.format == WeightFormat::kBF16) {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
#pragma omp simd
      for (int i = 0; i < take; ++i) o[i] = half::bf16_to_f32(s[i]);
    } else if (w.format == WeightFormat::kInt8) {
      const int8_t* s = static_cast<const int8_t*>(w.data) + at;
#pragma omp simd
      for (int i = 0; i < take; ++i) o[i] = sc * static_cast<float>(s[i]);
    } else {
      const uint16_t* s = static_cast<const uint16_t*>(w.data) + at;
      int i = 0;
#if defined(__F16C__)
      for (; i + 8 <= take; i += 8)  // vcvtph2ps: exact, as f16_to_f32
        _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
#endif
      for (; i < take; ++i) o[i] = half::f16_to_f32(s[i]);
    }
    c += take;
  }
}

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
    for (int j = 0; j < cols; ++j) load_row_segment(w, j0 + j, k0 + kk, n, block + static_cast<size_t>(j) * kDepthChunk);
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
        load_row_segment(w, j0 + j, k0 + kk, n, line);
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
      load_row_segment(w, k0 + k, j0, cols, d);
      std::fill(d + cols, d + nr, 0.0f);
    }
    return;
  }
  alignas(64) float lo[64], hi[64];  // two depths' rows, nr <= 64
  auto* slots = reinterpret_cast<uint32_t*>(dst);
  for (int k = 0; k < kb; k += 2) {
    load_row_segment(w, k0 + k, j0, cols, lo);
    if (k + 1 < kb)
      load_row_segment(w, k0 + k + 1, j0, cols, hi);
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
  if (trans && simd_trans != nullptr && nr <= 64)
    pack_trans_simd(w, k0, j0, kb, cols, nr, pair, dst, simd_trans);
  else if (trans)
    pack_trans(w, k0, j0, kb, cols, nr, pair, dst);
  else
    pack_plain(w, k0, j0, kb, cols, nr, pair, dst);
}

}  // namespace chatforge::ops::gemm_detail
