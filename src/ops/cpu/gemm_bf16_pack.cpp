// The bf16 kernels' shared packs (gemm_bf16_pack.h): 16 lines of fp32 at a time into pair
// slots through registers, and the 32-column B pair panel both bf16 kernels read,
// b[p*32 + j] padded with zero pairs to whole 16-pair blocks (gemm_kernels.h).
#include "ops/cpu/gemm_bf16_pack.h"

#include <algorithm>

#include "ops/cpu/gemm_kernels.h"
#include "ops/ops.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace chatforge::ops::gemm_detail {
namespace bf16_pack {

CF_AVX512BF16 void pack_depth_contiguous(const float* src, size_t ld, int n, int kb, uint32_t* dst, size_t blk_stride,
                                         size_t q_stride, size_t l_stride, int blocks) {
  for (int blk = 0; blk < blocks; ++blk) {
    __m512i r[16];
    for (int l = 0; l < 16; ++l) r[l] = l < n ? row_slots(src + l * ld, blk * 32, kb) : _mm512_setzero_si512();
    uint32_t* d = dst + blk * blk_stride;
    if (q_stride == 1) {
      for (int l = 0; l < 16; ++l) _mm512_storeu_si512(d + l * l_stride, r[l]);
    } else {
      transpose16(r);
      for (int q = 0; q < 16; ++q) _mm512_storeu_si512(d + q * q_stride, r[q]);
    }
  }
}

}  // namespace bf16_pack

namespace {
constexpr int kNr = 32, kBlk = 16;  // columns per panel, pairs per block
}  // namespace

// Per pair, both depth rows' 32 columns at once (two strided_pair calls over one pair):
// each row's two cache lines are used as they arrive. Going 16 columns at a time over 32
// rows, then back for the other 16, was 4x slower when rows are 12 KB apart (N = 3072).
CF_AVX512BF16 void pack_b_pairs_plain32(const float* src, size_t ld, int kb, int cols, float* dst) {
  using bf16_pack::lanes, bf16_pack::strided_pair;
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
  const int kp = (kb + 31) / 32 * kBlk;
  for (int p = 0; p < kp; ++p, d += kNr) {
    _mm512_storeu_si512(d, strided_pair(src, ld, m0, 2 * p, kb));
    _mm512_storeu_si512(d + 16, strided_pair(src + 16, ld, m1, 2 * p, kb));
  }
}

CF_AVX512BF16 void pack_b_pairs_trans32(const float* src, size_t ld, int kb, int cols, float* dst) {
  auto* d = reinterpret_cast<uint32_t*>(dst);
  for (int h = 0; h < 2; ++h)
    bf16_pack::pack_depth_contiguous(src + static_cast<size_t>(16 * h) * ld, ld, cols - 16 * h, kb, d + 16 * h,
                                     kBlk * kNr, kNr, 1, (kb + 31) / 32);
}

// A bf16 pair slot already is two stored bf16 words side by side: the 32 depths of a row
// panel's chunk (ops.h panel_index; k0 is chunk-aligned) load as 16 slots, 16 rows of w at a
// time, and one transpose makes them pair-rows. Depths past kb (and past a short last chunk)
// load as zero through the 16-bit lane mask.
CF_AVX512BF16 void pack_b_pairs_stored_bf16_trans32(const WeightMatrix& w, int k0, int j0, int kb, int cols,
                                                    float* dst) {
  const auto* data = static_cast<const uint16_t*>(w.data);
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const int blocks = (kb + 31) / 32;
  for (int h = 0; h < 2; ++h)
    for (int blk = 0; blk < blocks; ++blk) {
      const int n = std::min(32, kb - blk * 32);
      const __mmask32 m = n >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << n) - 1);
      __m512i r[16];
      for (int l = 0; l < 16; ++l) {
        const int j = 16 * h + l;
        r[l] = j < cols ? _mm512_maskz_loadu_epi16(m, data + panel_index(j0 + j, k0 + blk * 32, w.C))
                        : _mm512_setzero_si512();
      }
      bf16_pack::transpose16(r);
      for (int q = 0; q < 16; ++q) _mm512_storeu_si512(d + (blk * kBlk + q) * kNr + 16 * h, r[q]);
    }
}

}  // namespace chatforge::ops::gemm_detail
