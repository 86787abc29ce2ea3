// The AMX-BF16 GEMM micro-kernel: a 32 x 32 tile of C in four 16 x 16 fp32 tiles (tmm0-3),
// per 32-depth step two A tiles (tmm4-5: 16 rows x 16 bf16 pairs) and two B tiles (tmm6-7:
// 16 pair-rows x 16 columns) and four tdpbf16ps (16 x 16 x 32 products each, fp32 sums).
// Layouts (gemm_kernels.h): B is the usual pair panel b[p*32 + j], which already is the AMX
// B-tile layout (pair-row p: 16 columns' slots, 64 bytes; the second 16 columns 64 bytes
// on); A is packed K-contiguous, a[(blk*32 + i)*16 + q] for pair p = 16*blk + q, and both
// are padded with zero pairs to a multiple of 16 (MicroKernel::slot_align). The packs round
// exactly as the other bf16 paths (vcvtne2ps2bf16: nearest even, denormals to zero).
// Runs only where amx_bf16_usable() (CPUID and the kernel's XTILEDATA permission); each
// thread loads the tile configuration once (thread_local) before its first tile.
#include <immintrin.h>
// GCC 12 flags its own _mm512_unpack*_epi32 (the self-initialised _mm512_undefined_* inside)
// as uninitialized: GCC bug 105593 (fma_peak.cpp does the same).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/cpu/gemm_avx512_epilogue.h"
#include "ops/cpu/gemm_bf16_pack.h"
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops::gemm_detail {
namespace {

constexpr int kMr = 32, kNr = 32, kBlk = 16;  // kBlk: pairs per tile row (32 depths)

#define CF_AMX __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma,amx-tile,amx-bf16")))

// GCC's tile intrinsics are asm statements that do not tell the compiler which memory they
// read or write: a compiler barrier orders them against the C++ loads and stores around.
inline void memory_barrier() { asm volatile("" ::: "memory"); }

// ldtilecfg's 64-byte operand: palette 1, tiles 0-7 of 16 rows x 64 bytes. A constant,
// so it is in memory before the asm statement reads it.
struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64);
constexpr TileConfig kTileConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

thread_local bool t_tiles_configured = false;

CF_AMX void configure_tiles() {
  _tile_loadconfig(&kTileConfig);
  t_tiles_configured = true;
}

// 16 rows of a transposed op(A) (depth d of row l at src + d*ld + l; rows >= n zero) in the
// K-contiguous layout: per 32-depth block, two depth rows interleave into each pair's 16
// slots, and a transpose turns those pair-rows into one row of 16 slots per line, at dst +
// blk*blk_stride + l*l_stride.
CF_AMX void pack_a_trans_16(const float* src, size_t ld, int n, int kb, uint32_t* dst, size_t blk_stride,
                            size_t l_stride, int blocks) {
  const __mmask16 m = bf16_pack::lanes(n);
  for (int blk = 0; blk < blocks; ++blk) {
    __m512i r[16];
    for (int q = 0; q < 16; ++q) r[q] = bf16_pack::strided_pair(src, ld, m, blk * 32 + 2 * q, kb);
    bf16_pack::transpose16(r);
    uint32_t* d = dst + blk * blk_stride;
    for (int l = 0; l < 16; ++l) _mm512_storeu_si512(d + l * l_stride, r[l]);
  }
}

// One 32-row micro-panel of op(A): src = op(A)(i0, k0) (rows ld apart, or with trans
// columns ld apart), rows <= 32 of them, kb depths -> dst[(blk*32 + i)*16 + q].
CF_AMX void pack_a_panel_amx(const float* src, size_t ld, bool trans, int rows, int kb, float* dst) {
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const int blocks = (kb + 31) / 32;
  for (int h = 0; h < 2; ++h) {
    const int n = rows - 16 * h;
    if (!trans)
      bf16_pack::pack_depth_contiguous(src + static_cast<size_t>(16 * h) * ld, ld, n, kb, d + 16 * h * kBlk,
                                       kMr * kBlk, 1, kBlk, blocks);
    else
      pack_a_trans_16(src + 16 * h, ld, n, kb, d + 16 * h * kBlk, kMr * kBlk, kBlk, blocks);
  }
}

// A block of op(A): 32-row micro-panels one after another, each padded to whole 16-pair blocks.
CF_AMX void pack_a_amx(const float* src, size_t ld, bool trans, int rows, int kb, float* dst) {
  const size_t panel = static_cast<size_t>(kMr) * ((kb + 31) / 32 * kBlk);
  for (int q = 0; q < rows; q += kMr, dst += panel)
    pack_a_panel_amx(trans ? src + q : src + q * ld, ld, trans, std::min(kMr, rows - q), kb, dst);
}

// kp: pair slots, a multiple of 16. C tiles: tmm0 rows 0-15 x columns 0-15, tmm1 rows 0-15
// x 16-31, tmm2 rows 16-31 x 0-15, tmm3 rows 16-31 x 16-31.
CF_AMX void kernel_32x32_amx(int kp, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e) {
  if (!t_tiles_configured) configure_tiles();
  // alpha = 1 with beta 0 or 1 and no bias (every KC step after the first adds with beta =
  // 1): the tiles start from zero or from C and go straight back to C.
  const bool direct = e.alpha == 1.0f && (e.beta == 0.0f || (e.beta == 1.0f && e.bias == nullptr));
  const long ldc_bytes = static_cast<long>(ldc) * 4;
  memory_barrier();
  if (direct && e.beta == 1.0f) {
    _tile_loadd(0, c, ldc_bytes);
    _tile_loadd(1, c + 16, ldc_bytes);
    _tile_loadd(2, c + 16 * ldc, ldc_bytes);
    _tile_loadd(3, c + 16 * ldc + 16, ldc_bytes);
  } else if (direct && e.bias != nullptr) {  // stride 0: the bias row in all 16 rows
    _tile_loadd(0, e.bias, 0);
    _tile_loadd(1, e.bias + 16, 0);
    _tile_loadd(2, e.bias, 0);
    _tile_loadd(3, e.bias + 16, 0);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int p = 0; p < kp; p += kBlk) {
    _tile_loadd(4, a, 64);
    _tile_loadd(6, b, kNr * 4);
    _tile_loadd(7, b + 16, kNr * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, a + 16 * kBlk, 64);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
    a += kMr * kBlk;
    b += kBlk * kNr;
  }
  if (direct) {
    _tile_stored(0, c, ldc_bytes);
    _tile_stored(1, c + 16, ldc_bytes);
    _tile_stored(2, c + 16 * ldc, ldc_bytes);
    _tile_stored(3, c + 16 * ldc + 16, ldc_bytes);
    memory_barrier();
    return;
  }
  alignas(64) float acc[kMr * kNr];
  _tile_stored(0, acc, kNr * 4);
  _tile_stored(1, acc + 16, kNr * 4);
  _tile_stored(2, acc + 16 * kNr, kNr * 4);
  _tile_stored(3, acc + 16 * kNr + 16, kNr * 4);
  memory_barrier();
  const __m512 alpha = _mm512_set1_ps(e.alpha), beta = _mm512_set1_ps(e.beta);
  const bool read_c = e.beta != 0.0f;
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    for (int h = 0; h < 2; ++h)
      _mm512_storeu_ps(ci + 16 * h, avx512_epilogue(_mm512_load_ps(acc + i * kNr + 16 * h), ci + 16 * h, alpha, beta,
                                                    read_c, e.bias ? e.bias + 16 * h : nullptr));
  }
}

}  // namespace

MicroKernel amx_bf16_kernel() {
  MicroKernel k{kMr, kNr, kernel_32x32_amx, pack_b_pairs_trans32};
  k.pair = 2;
  k.pack_b = pack_b_pairs_plain32;
  k.pack_a = pack_a_amx;
  k.slot_align = kBlk;
  return k;
}

}  // namespace chatforge::ops::gemm_detail
