// The GEMM micro-kernels (internal to gemm.cpp and its tests). A kernel multiplies a packed
// A micro-panel (kc x MR, k-major: a[k*MR + i]) by a packed B micro-panel (kc x NR,
// b[k*NR + j]) and writes the full MR x NR tile: c[i*ldc + j] = alpha * acc + beta * c
// (+ bias[j] when bias is not null). beta == 0 never reads c.
// A bf16 kernel (pair == 2) reads 32-bit slots instead, each two bf16 values of one row of
// A or one column of B at depths 2p (low half) and 2p+1 (high half), and kc counts pairs.
// An fp32 kernel with round_bf16 emulates bf16 inputs: gemm.cpp rounds what it packs.
// A kernel may pack A itself (pack_a): the AMX kernel lays A out as it needs and pads the
// packed depth with zero slots to a multiple of slot_align (B stays b[p*NR + j]); the
// AVX-512 kernel writes the standard layout through registers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "ops/cpu/gemm.h"

namespace chatforge::ops::gemm_detail {

struct Epilogue {
  float alpha = 1, beta = 0;
  const float* bias = nullptr;  // (NR) for this tile's columns, or null
  // The GELU of the written tile goes here (the product's gelu_out, last depth block only).
  // gemm.cpp's run_tile applies it after the kernel, to every kernel alike; kernels ignore it.
  float* gelu_out = nullptr;
};

using MicroKernelFn = void (*)(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e);
// The first `rows` (0 < rows < MR) rows of a tile whose NR columns all lie in C, from the
// same packed micro-panels (A's rows past `rows` are the pack's zeros and are not read);
// writes only those rows.
using MicroKernelTailFn = void (*)(int rows, int kc, const float* a, const float* b, float* c, size_t ldc,
                                   const Epilogue& e);

// Packs one NR-wide micro-panel of a transposed B: src (cols rows of kb floats, ld apart;
// row j is column j of op(B)) into dst[k*NR + j], zero for j >= cols. Null: gemm.cpp's loop.
using PackBTransFn = void (*)(const float* src, size_t ld, int kb, int cols, float* dst);

// Packs a block of op(A) into MR-row micro-panels in the kernel's layout, one after another:
// src is op(A)(i0, k0) (rows ld apart; with trans, A is stored transposed and op(A)'s
// columns are ld apart), `rows` rows (the last panel's missing rows zero), kb depths; each
// panel holds MR x the padded packed depth.
using PackAFn = void (*)(const float* src, size_t ld, bool trans, int rows, int kb, float* dst);

struct MicroKernel {
  int mr, nr;
  MicroKernelFn run;
  PackBTransFn pack_b_trans = nullptr;
  int pair = 1;             // depths per packed slot: 1 (fp32) or 2 (bf16 pairs)
  bool round_bf16 = false;  // fp32 kernel on inputs rounded to bf16 (no AVX512-BF16)
  PackBTransFn pack_b = nullptr;  // plain (untransposed) B: src = B(k0, j0), rows ld apart
  PackAFn pack_a = nullptr;       // null: gemm.cpp's a[k*MR + i] (fp32) or pair slots
  int slot_align = 1;             // packed depth padded to a multiple of this (zero slots)
  MicroKernelTailFn run_tail = nullptr;  // null: a partial tile runs `run` into a buffer
  // Wide products split their columns between threads (threads_split_columns below): on for
  // the AVX-512 fp32 kernel (GPT-2's wide products 1.03-1.12x on Zen 5); the AVX2 kernel, at
  // half the rate, lost 2-7% that way, and the bf16 kernels gained nothing.
  bool wide_columns = false;
};

// run(std::integral_constant<int, rows>{}) for 0 < rows < Mr: a tile cut by the bottom edge
// runs a kernel compiled for exactly its rows (MicroKernelTailFn above).
template <int Mr, class Run>
inline void dispatch_rows(int rows, Run&& run) {
  [&]<int... R>(std::integer_sequence<int, R...>) {
    ((rows == R + 1 ? run(std::integral_constant<int, R + 1>{}) : void()), ...);
  }(std::make_integer_sequence<int, Mr - 1>{});
}

// Prefetches every cache line of a rows x cols tile of C (rows ldc apart) into L1. The
// kernels call it before their depth loop: by the epilogue, kc steps later, C is there
// instead of one miss per line at once (C is larger than the caches at the training
// shapes, and each KC step reads and writes it again). Every line, not only each row's
// first: a 32-float row spans two, or three where C is not 64-byte aligned.
inline void prefetch_c_tile(const float* c, size_t ldc, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    const uintptr_t first = reinterpret_cast<uintptr_t>(c + i * ldc) & ~uintptr_t{63};
    const uintptr_t last = reinterpret_cast<uintptr_t>(c + i * ldc + cols - 1);
    for (uintptr_t line = first; line <= last; line += 64) __builtin_prefetch(reinterpret_cast<const void*>(line), 1, 3);
  }
}

// fp32 -> bf16 bits as vcvtne2ps2bf16 converts: round to nearest even, denormals to
// (signed) zero, NaN stays a quiet NaN.
inline uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float bf16_round(float f) {
  const uint32_t u = static_cast<uint32_t>(bf16_bits(f)) << 16;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

// One NR-column micro-panel of op(B) read from a stored matrix w (gemm_stored_b.cpp): op(B) =
// w^T (trans) or w; depth [k0, k0+kb), columns [j0, j0+cols) into dst[k*nr + j] (pair 1) or
// pair slots dst[p*nr + j] (pair 2), zero past cols. nr <= 64. simd_trans (the kernel's
// pack_b_trans, may be null) packs 64-deep converted blocks of a transposed op(B).
void pack_b_stored(const WeightMatrix& w, bool trans, int k0, int j0, int kb, int cols, int nr, int pair, float* dst,
                   PackBTransFn simd_trans);

MicroKernel avx512_kernel();  // 12 x 32 (24 zmm accumulators)
MicroKernel avx2_kernel();    // 6 x 16 (12 ymm accumulators)
MicroKernel scalar_kernel();  // 4 x 8, portable C++
MicroKernel avx512_bf16_kernel();  // 12 x 32 over bf16 pairs (vdpbf16ps), fp32 accumulators
// Both bf16 kernels' 32-column B pair panel, dst[p*32 + j] padded with zero pairs to whole
// 16-pair blocks, from a plain B (src = B(k0, j0), depths ld apart) or a transposed one
// (column j at src + j*ld). AVX512-BF16 only (gemm_bf16_pack.cpp).
void pack_b_pairs_plain32(const float* src, size_t ld, int kb, int cols, float* dst);
void pack_b_pairs_trans32(const float* src, size_t ld, int kb, int cols, float* dst);
// The same panel of op(B) = w^T straight from bf16 weights (w.format kBF16, row panels): the
// stored words are the pair slots, so nothing converts. k0 a multiple of 32.
void pack_b_pairs_stored_bf16_trans32(const WeightMatrix& w, int k0, int j0, int kb, int cols, float* dst);
// 32 x 32 over bf16 pairs in AMX tiles (tdpbf16ps), fp32 accumulators; its own packs (A:
// a[(blk*MR + i)*16 + q] for pair 16*blk + q), depth padded to 16 pairs. Only where
// amx_bf16_usable() (fma_peak.h).
MicroKernel amx_bf16_kernel();

// gemm.cpp's loop nest for one product with kernel uk and blocking bl (KC in depths), the
// whole contract of sgemm (M or N <= 0: nothing; K <= 0: C = beta C + bias; gelu_out).
// gemm_bf16.cpp.
void run_product(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc, const float* bias, const MicroKernel& uk,
                 const GemmBlocking& bl, float* gelu_out = nullptr);
MicroKernel kernel_for_level(SimdLevel level);  // the fp32 kernel sgemm runs at a level

// Whether run_product's threads split the columns of C (each packs all of op(A)'s KC block and
// its own B micro-panels right before using them) instead of the rows (one shared B panel,
// rows handed out in blocks). Columns: with few rows (op(A)'s block fits in L2), and, for a
// kernel with wide_columns, over a wide product (N >= 2M) whose A block takes at most
// kColumnsMaxABytes: the shared panel of such a product (8 MB at KC = 768, NC = 2720) is read
// back from memory for every 72-row block, while the A block stays in the L3 and is read once
// per group of B micro-panels. bl.kc: the KC of this product (even_block'd).
constexpr size_t kColumnsMaxABytes = 3u << 20;
bool threads_split_columns(int M, int N, const MicroKernel& uk, const GemmBlocking& bl, int threads);
// The same with op(B) from a stored matrix (sgemm_stored's contract; A not transposed).
void run_product_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                        float beta, float* C, int ldc, const float* bias, const MicroKernel& uk,
                        const GemmBlocking& bl, float* gelu_out = nullptr);

}  // namespace chatforge::ops::gemm_detail
