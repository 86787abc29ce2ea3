// The AVX512-BF16 GEMM micro-kernel: a 12 x 32 tile in 24 zmm fp32 accumulators over packed
// bf16 pairs (gemm_kernels.h: each 32-bit slot holds depths 2p and 2p+1 of one row of A or
// one column of B, the lower depth in the low half). Per depth pair it loads two zmm of B
// (32 columns x 2 depths), broadcasts 12 slots of A and issues 24 vdpbf16ps: 64 FLOPs each,
// twice the fp32 kernel's work per instruction. Accumulation is fp32 throughout. Its packs
// (A here, B in gemm_bf16_pack.cpp) convert 16 lines at a time through registers and pad the
// depth with zero pairs to whole 16-pair blocks, the B layout the AMX kernel reads too.
// Compiled with a target attribute; runs only where CPUID reports AVX512-BF16 (gemm.cpp).
#include <immintrin.h>
// GCC 12's _mm512_unpack*_epi32 false positive (GCC bug 105593), as in gemm_bf16_pack.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cstdint>

#include "ops/cpu/gemm_avx512_epilogue.h"
#include "ops/cpu/gemm_bf16_pack.h"
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 12, kNr = 32, kBlk = 16;  // kBlk: pairs per packed block (gemm_bf16_pack.h)

// kc: depth pairs. a, b: packed pair slots (float-sized), a[p*MR + i], b[p*NR + j]. Rows x
// 32 of C (Rows < 12: the tail of a block, A's panel still 12 wide).
template <int Rows>
CF_AVX512BF16 void kernel_x32_bf16(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  __m512 acc[Rows][2];
#pragma GCC unroll 12
  for (int i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  prefetch_c_tile(c, ldc, Rows, kNr);
  const auto* ai32 = reinterpret_cast<const int32_t*>(a);
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(ai32 + 8 * kMr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNr + 16), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < Rows; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(ai32[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
    ai32 += kMr;
    b += kNr;
  }
  avx512_store_tile<Rows>(acc, c, ldc, e);
}

void kernel_tail_x32_bf16(int rows, int kc, const float* a, const float* b, float* c, size_t ldc,
                          const Epilogue& e) {
  dispatch_rows<kMr>(rows, [&](auto r) { kernel_x32_bf16<decltype(r)::value>(kc, a, b, c, ldc, e); });
}

// A block of op(A) (`rows` rows, kb deep) into 12-row micro-panels of pair slots,
// a[p*12 + i], one after another, each padded with zero pairs to whole 16-pair blocks (rows
// past the block zero). op(A) = A: per 32 depths, 12 rows convert to 16 slots each and a
// 16 x 16 transpose turns them into pair-rows. op(A) = A^T (depth d's row of op(A) at src +
// d*ld): per pair, two depth rows interleave into the slots of 12 lines; 32 depths of one
// panel, then of the next (pair-major over all panels wrote 21 streams at once: 2-4x slower).
CF_AVX512BF16 void pack_a_pairs_12(const float* src, size_t ld, bool trans, int rows, int kb, float* dst) {
  using namespace bf16_pack;
  const int blocks = (kb + 31) / 32, kp = blocks * kBlk;
  const size_t panel = static_cast<size_t>(kMr) * kp;
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const __mmask16 tile = 0x0fff;
  if (!trans) {
    for (int q = 0; q < rows; q += kMr, d += panel, src += kMr * ld) {
      const int n = rows - q;
      for (int blk = 0; blk < blocks; ++blk) {
        __m512i r[16];
#pragma GCC unroll 12
        for (int l = 0; l < kMr; ++l) r[l] = l < n ? row_slots(src + l * ld, blk * 32, kb) : _mm512_setzero_si512();
        for (int l = kMr; l < 16; ++l) r[l] = _mm512_setzero_si512();
        transpose16(r);
        for (int p = 0; p < kBlk; ++p) _mm512_mask_storeu_epi32(d + (blk * kBlk + p) * kMr, tile, r[p]);
      }
    }
    return;
  }
  for (int p0 = 0; p0 < kp; p0 += kBlk) {  // 32 depths of every panel, one panel at a time
    uint32_t* dq = d;
    for (int q = 0; q < rows; q += kMr, dq += panel) {
      const __mmask16 m = lanes(std::min(kMr, rows - q));
      for (int p = p0; p < p0 + kBlk; ++p) _mm512_mask_storeu_epi32(dq + p * kMr, tile, strided_pair(src + q, ld, m, 2 * p, kb));
    }
  }
}

}  // namespace

MicroKernel avx512_bf16_kernel() {
  MicroKernel k{kMr, kNr, kernel_x32_bf16<kMr>, pack_b_pairs_trans32};
  k.pair = 2;
  k.pack_a = pack_a_pairs_12;
  k.pack_b = pack_b_pairs_plain32;
  k.slot_align = kBlk;
  k.run_tail = kernel_tail_x32_bf16;
  return k;
}

}  // namespace chatforge::ops::gemm_detail
