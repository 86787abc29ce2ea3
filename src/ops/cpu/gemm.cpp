// Implementation of gemm.h: the BLIS loop nest around the micro-kernels of gemm_kernels.h.
//   for jc (NC columns): for pc (KC depth): pack B's KC x NC panel (all threads share it)
//     each thread: for ic (MC rows of its share): pack A's MC x KC block (its own)
//       for each group of NB micro-panels of B (they stay in L2):
//         for ir (MR): for jr (NR, within the group): micro-kernel
//           (the KC x MR micro-panel of A stays in L1; B's KC x NR micro-panel, 96 KB at
//           KC = 768, would not, and streaming both from L2 cost ~5% of the kernel's speed)
// Tiles cut by the bottom edge run the kernel's tail (fewer rows, straight into C) where it
// has one; other partial tiles run the kernel into a small buffer and copy what lies inside
// C. The first KC block applies the caller's beta and the bias; later ones accumulate
// (beta = 1); on the last, a fused GELU (gelu_out) follows each tile. gemm_bf16
// (gemm_bf16.cpp) runs the same nest through run_product over bf16 pair panels (the AMX
// kernel with its own packs, or the AVX512-BF16 kernel) or, without either, the fp32 kernel
// on rounded inputs.
#include "ops/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm_kernels.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace chatforge::ops {
namespace {

using gemm_detail::Epilogue;
using gemm_detail::MicroKernel;

SimdLevel lower(SimdLevel a, SimdLevel b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

SimdLevel level_from_environment() {
  const SimdLevel cpu = cpu_simd_level();
  const char* env = std::getenv("CHATFORGE_SIMD");
  if (env == nullptr || *env == '\0') return cpu;
  if (std::strcmp(env, "avx2") == 0) return lower(cpu, SimdLevel::kAvx2);
  if (std::strcmp(env, "scalar") == 0) return SimdLevel::kScalar;
  return cpu;  // "avx512" or a value simd.cpp already warned about
}

GemmImpl impl_from_environment() {
  const char* env = std::getenv("CHATFORGE_GEMM");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "own") == 0) return GemmImpl::kOwn;
  if (std::strcmp(env, "openblas") == 0) return GemmImpl::kOpenblas;
  std::fprintf(stderr, "warning: CHATFORGE_GEMM=%s is not one of own, openblas; ignored\n", env);
  return GemmImpl::kOwn;
}

std::atomic<int> g_level{-1}, g_impl{-1};  // -1: not read yet

MicroKernel kernel_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512: return gemm_detail::avx512_kernel();
    case SimdLevel::kAvx2: return gemm_detail::avx2_kernel();
    case SimdLevel::kScalar: break;
  }
  return gemm_detail::scalar_kernel();
}

long cache_bytes(int name, long fallback) {
  const long v = sysconf(name);
  return v > 0 ? v : fallback;
}

// 64-byte aligned scratch that grows and is kept per thread (OpenMP's threads persist, so
// steady-state GEMMs allocate nothing and touch no fresh pages).
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t floats) {
    if (floats > n) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
      n = floats;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch t_pack_a, t_pack_b;

constexpr int kPackChunk = 64;  // depth of one transposing pass

int round_up(int x, int m) { return (x + m - 1) / m * m; }

// The block size (at most `block`, a multiple of `align` unless that exceeds `block`) that
// splits `total` into as few, and as equal, blocks as `block` allows: 4096 deep in KC = 768
// becomes 6 steps of 688 or less instead of 5 x 768 + 256 (every step reads and writes C).
int even_block(int total, int block, int align) {
  const int blocks = (total + block - 1) / block;
  return std::min(block, round_up((total + blocks - 1) / blocks, align));
}

// Packed depth slots of a kb-deep block: kb (fp32) or its pairs (bf16), padded to the
// kernel's slot_align.
int packed_depth(const MicroKernel& uk, int kb) { return round_up((kb + uk.pair - 1) / uk.pair, uk.slot_align); }
// Floats a packed line of a kc-deep block may take (scratch sizes).
size_t line_floats(const MicroKernel& uk, int kc) { return static_cast<size_t>(std::max(kc, packed_depth(uk, kc))); }

void round_to_bf16(float* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = gemm_detail::bf16_round(p[i]);
}

// bf16 pair slot p of a line: values at depths k0+2p and k0+2p+1 (0 beyond kb), read with `at`.
template <class At>
uint32_t pair_slot(At at, int p, int kb) {
  const int k = 2 * p;
  const uint32_t lo = gemm_detail::bf16_bits(at(k)), hi = k + 1 < kb ? gemm_detail::bf16_bits(at(k + 1)) : 0u;
  return lo | hi << 16;
}

// op(A) rows [i0, i0+mb), depth [k0, k0+kb) into MR-row micro-panels of bf16 pairs:
// dst[p*mr + r] (as 32-bit slots).
void pack_a_pairs(const float* A, int lda, bool trans, int i0, int k0, int mb, int kb, int mr, float* dst) {
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const int kp = (kb + 1) / 2;
  for (int q = 0; q < mb; q += mr, d += static_cast<size_t>(mr) * kp)
    for (int r = 0; r < mr; ++r) {
      const int i = i0 + q + r;
      if (q + r >= mb) {
        for (int p = 0; p < kp; ++p) d[p * mr + r] = 0;
        continue;
      }
      if (!trans) {
        const float* src = A + static_cast<size_t>(i) * lda + k0;
        for (int p = 0; p < kp; ++p) d[p * mr + r] = pair_slot([src](int k) { return src[k]; }, p, kb);
      } else {
        const float* src = A + static_cast<size_t>(k0) * lda + i;
        const size_t ld = lda;
        for (int p = 0; p < kp; ++p) d[p * mr + r] = pair_slot([src, ld](int k) { return src[k * ld]; }, p, kb);
      }
    }
}

// op(A) rows [i0, i0+mb), depth [k0, k0+kb) into MR-row micro-panels: dst[k*mr + r].
void pack_a_f32(const float* A, int lda, bool trans, int i0, int k0, int mb, int kb, int mr, float* dst) {
  for (int p = 0; p < mb; p += mr, dst += static_cast<size_t>(mr) * kb) {
    const int rows = std::min(mr, mb - p);
    if (!trans) {
      for (int kk = 0; kk < kb; kk += kPackChunk) {  // transposing: see pack_b_panel
        const int ke = std::min(kb, kk + kPackChunk);
        for (int r = 0; r < rows; ++r) {
          const float* src = A + static_cast<size_t>(i0 + p + r) * lda + k0;
          for (int k = kk; k < ke; ++k) dst[k * mr + r] = src[k];
        }
        for (int r = rows; r < mr; ++r)
          for (int k = kk; k < ke; ++k) dst[k * mr + r] = 0.0f;
      }
    } else {
      for (int k = 0; k < kb; ++k) {
        const float* src = A + static_cast<size_t>(k0 + k) * lda + i0 + p;
        float* d = dst + k * mr;
        for (int r = 0; r < rows; ++r) d[r] = src[r];
        for (int r = rows; r < mr; ++r) d[r] = 0.0f;
      }
    }
  }
}

void pack_a(const float* A, int lda, bool trans, int i0, int k0, int mb, int kb, const MicroKernel& uk, float* dst) {
  if (uk.pack_a != nullptr) {  // the kernel's own layout, or its SIMD pack
    const size_t ld = lda;
    uk.pack_a(trans ? A + static_cast<size_t>(k0) * ld + i0 : A + static_cast<size_t>(i0) * ld + k0, ld, trans, mb, kb,
              dst);
  } else if (uk.pair == 2) {
    pack_a_pairs(A, lda, trans, i0, k0, mb, kb, uk.mr, dst);
  } else {
    pack_a_f32(A, lda, trans, i0, k0, mb, kb, uk.mr, dst);
  }
  if (uk.round_bf16) round_to_bf16(dst, static_cast<size_t>((mb + uk.mr - 1) / uk.mr * uk.mr) * kb);
}

// One NR-column micro-panel of op(B) as bf16 pairs: dst[p*nr + j] (32-bit slots).
void pack_b_pairs(const float* B, int ldb, bool trans, int k0, int j0, int kb, int cols, int nr, float* dst) {
  auto* d = reinterpret_cast<uint32_t*>(dst);
  const int kp = (kb + 1) / 2;
  const size_t ld = ldb;
  for (int j = 0; j < nr; ++j) {
    if (j >= cols) {
      for (int p = 0; p < kp; ++p) d[p * nr + j] = 0;
    } else if (trans) {
      const float* src = B + static_cast<size_t>(j0 + j) * ld + k0;
      for (int p = 0; p < kp; ++p) d[p * nr + j] = pair_slot([src](int k) { return src[k]; }, p, kb);
    } else {
      const float* src = B + static_cast<size_t>(k0) * ld + j0 + j;
      for (int p = 0; p < kp; ++p) d[p * nr + j] = pair_slot([src, ld](int k) { return src[k * ld]; }, p, kb);
    }
  }
}

// One NR-column micro-panel of op(B): depth [k0, k0+kb), columns [j0, j0+cols) -> dst[k*nr + j].
void pack_b_f32(const float* B, int ldb, bool trans, int k0, int j0, int kb, int cols, int nr, float* dst,
                gemm_detail::PackBTransFn simd_trans) {
  if (trans && simd_trans != nullptr) return simd_trans(B + static_cast<size_t>(j0) * ldb + k0, ldb, kb, cols, dst);
  if (!trans) {
    for (int k = 0; k < kb; ++k) {
      const float* src = B + static_cast<size_t>(k0 + k) * ldb + j0;
      float* d = dst + k * nr;
      for (int j = 0; j < cols; ++j) d[j] = src[j];
      for (int j = cols; j < nr; ++j) d[j] = 0.0f;
    }
    return;
  }
  // Transposing: 64 k at a time, so the 64 destination rows being filled stay in L1 while
  // every column writes into them (a whole KC x NR panel is larger than L1).
  for (int kk = 0; kk < kb; kk += kPackChunk) {
    const int ke = std::min(kb, kk + kPackChunk);
    for (int j = 0; j < cols; ++j) {
      const float* src = B + static_cast<size_t>(j0 + j) * ldb + k0;
      for (int k = kk; k < ke; ++k) dst[k * nr + j] = src[k];
    }
    for (int j = cols; j < nr; ++j)
      for (int k = kk; k < ke; ++k) dst[k * nr + j] = 0.0f;
  }
}

void pack_b_panel(const float* B, int ldb, bool trans, int k0, int j0, int kb, int cols, const MicroKernel& uk,
                  float* dst) {
  if (!trans && uk.pack_b != nullptr) {
    uk.pack_b(B + static_cast<size_t>(k0) * ldb + j0, ldb, kb, cols, dst);
  } else if (uk.pair == 2) {
    if (trans && uk.pack_b_trans != nullptr) return uk.pack_b_trans(B + static_cast<size_t>(j0) * ldb + k0, ldb, kb, cols, dst);
    return pack_b_pairs(B, ldb, trans, k0, j0, kb, cols, uk.nr, dst);
  } else {
    pack_b_f32(B, ldb, trans, k0, j0, kb, cols, uk.nr, dst, uk.pack_b_trans);
  }
  if (uk.round_bf16) round_to_bf16(dst, static_cast<size_t>(uk.nr) * kb);
}

// Everything one call needs, shared by the threads.
struct Problem {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
  const float* bias;
  const WeightMatrix* wb = nullptr;  // op(B) from this stored matrix (B unused), or null
  float* gelu_out = nullptr;         // the GELU of the final C (gemm.h), or null
};

// g (rows x cols, ld apart) = GELU(c): the fused activation of a finished block of C.
void gelu_block(const float* c, float* g, size_t ld, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    const float* ci = c + i * ld;
    float* gi = g + i * ld;
#pragma omp simd
    for (int j = 0; j < cols; ++j) gi[j] = vec::gelu(ci[j]);
  }
}

// The same over all of C, threads over rows (the paths that do not go tile by tile).
void gelu_all(const Problem& P) {
  if (P.gelu_out == nullptr) return;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
  for (int i = 0; i < P.M; ++i)
    gelu_block(P.C + static_cast<size_t>(i) * P.ldc, P.gelu_out + static_cast<size_t>(i) * P.ldc, P.ldc, 1, P.N);
}

// Micro-panel [j0, j0+cols) x depth [k0, k0+kb) of the problem's op(B), from B or its stored matrix.
void pack_b(const Problem& P, int k0, int j0, int kb, int cols, const MicroKernel& uk, float* dst) {
  if (P.wb == nullptr) return pack_b_panel(P.B, P.ldb, P.tb, k0, j0, kb, cols, uk, dst);
  gemm_detail::pack_b_stored(*P.wb, P.tb, k0, j0, kb, cols, uk.nr, uk.pair, dst, uk.pack_b_trans);
  if (uk.round_bf16) round_to_bf16(dst, static_cast<size_t>(uk.nr) * kb);
  const int filled = (kb + uk.pair - 1) / uk.pair, depth = packed_depth(uk, kb);  // the kernel's zero slots
  std::memset(dst + static_cast<size_t>(filled) * uk.nr, 0, static_cast<size_t>(depth - filled) * uk.nr * sizeof(float));
}

// One MR x NR tile of C at (row, col) from packed micro-panels; a tile cut by the bottom
// edge runs the kernel's tail (where it has one), one cut by the right edge (or a bottom one
// without) runs the kernel into a buffer and copies what lies inside C. kp: the panels'
// packed depth (packed_depth, computed once per group: its two divisions per tile showed
// in a step's profile).
void write_tile(const Problem& P, const MicroKernel& uk, Epilogue e, const float* ap, const float* bp, int kp,
                float* c, int col, int rows, int cols) {
  if (e.bias != nullptr) e.bias += col;
  if (cols == uk.nr) {
    if (rows == uk.mr) return uk.run(kp, ap, bp, c, P.ldc, e);
    if (uk.run_tail != nullptr) return uk.run_tail(rows, kp, ap, bp, c, P.ldc, e);
  }
  alignas(64) float tile[32 * 32];
  uk.run(kp, ap, bp, tile, uk.nr, Epilogue{});
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      float v = e.alpha * tile[i * uk.nr + j];
      if (e.beta != 0.0f) v += e.beta * c[static_cast<size_t>(i) * P.ldc + j];
      if (e.bias != nullptr) v += e.bias[j];
      c[static_cast<size_t>(i) * P.ldc + j] = v;
    }
}

// write_tile, then the fused GELU of the tile (last depth block) while it is in L1.
void run_tile(const Problem& P, const MicroKernel& uk, const Epilogue& e, const float* ap, const float* bp, int kp,
              int row, int col, int rows, int cols) {
  const size_t at = static_cast<size_t>(row) * P.ldc + col;
  write_tile(P, uk, e, ap, bp, kp, P.C + at, col, rows, cols);
  if (e.gelu_out != nullptr) gelu_block(P.C + at, e.gelu_out + at, P.ldc, rows, cols);
}

// The tiles of rows [row0, row0+mb) under a packed group of `panels` B micro-panels (the
// first at column col0, `width` columns of C from there): each A micro-panel (it stays in
// L1) runs over every micro-panel of the group (they stay in L2) before the next one.
void run_group(const Problem& P, const MicroKernel& uk, Epilogue e, const float* apack, const float* bgroup, int kb,
               int row0, int mb, int col0, int width, int panels) {
  const int kp = packed_depth(uk, kb);
  for (int ir = 0; ir < mb; ir += uk.mr)
    for (int q = 0; q < panels; ++q)
      run_tile(P, uk, e, apack + static_cast<size_t>(ir) * kp, bgroup + static_cast<size_t>(q) * uk.nr * kp, kp,
               row0 + ir, col0 + q * uk.nr, std::min(uk.mr, mb - ir), std::min(uk.nr, width - q * uk.nr));
}

// The epilogue of depth block [pc, pc+kb): alpha, beta and the bias on the first, the
// accumulation after it, the GELU on the last.
Epilogue epilogue_for(const Problem& P, int pc, int kb) {
  Epilogue e = pc == 0 ? Epilogue{P.alpha, P.beta, P.bias} : Epilogue{P.alpha, 1.0f, nullptr};
  if (pc + kb >= P.K) e.gelu_out = P.gelu_out;
  return e;
}

// One thread's share of a packed KC x NC panel: rows [m0, m1) of C, micro-panels [p0, p1)
// of the panel (columns jc + p*nr ...), depth block [pc, pc+kb).
void macro_block(const Problem& P, const MicroKernel& uk, const GemmBlocking& bl, const float* bpack, int jc, int nb,
                 int pc, int kb, int m0, int m1, int p0, int p1) {
  const Epilogue ep = epilogue_for(P, pc, kb);
  const int group = std::max(1, bl.nb);
  float* apack = t_pack_a.get(static_cast<size_t>(bl.mc + uk.mr) * line_floats(uk, kb));
  const int mc = even_block(m1 - m0, bl.mc, uk.mr);
  for (int ic = m0; ic < m1; ic += mc) {
    const int mb = std::min(mc, m1 - ic);
    pack_a(P.A, P.lda, P.ta, ic, pc, mb, kb, uk, apack);
    const size_t kp = packed_depth(uk, kb);
    for (int g0 = p0; g0 < p1; g0 += group)
      run_group(P, uk, ep, apack, bpack + g0 * uk.nr * kp, kb, ic, mb, jc + g0 * uk.nr, nb - g0 * uk.nr,
                std::min(p1, g0 + group) - g0);
  }
}

// Few rows (all of op(A)'s KC-deep block fits in L2), or a wide product on a kernel that
// asks for it (threads_split_columns): every thread takes all rows and its share of the
// columns, and packs each B micro-panel itself just before its tiles use it (hot in L1/L2) —
// no shared B panel written to and read back from memory, no barrier. At B*T = 256 rows a
// shared panel made packing B as costly as the products.
void run_columns(const Problem& P, const MicroKernel& uk, const GemmBlocking& bl) {
  const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
  const int panels = (P.N + uk.nr - 1) / uk.nr, per = (panels + nt - 1) / nt;
  const int p0 = std::min(panels, tid * per), p1 = std::min(panels, p0 + per);
  if (p0 >= p1) return;
  const int mpad = (P.M + uk.mr - 1) / uk.mr * uk.mr, group = std::max(1, bl.nb);
  float* apack = t_pack_a.get(static_cast<size_t>(mpad) * line_floats(uk, bl.kc));
  float* bpack = t_pack_b.get(static_cast<size_t>(group) * uk.nr * line_floats(uk, bl.kc));
  for (int pc = 0; pc < P.K; pc += bl.kc) {
    const int kb = std::min(bl.kc, P.K - pc);
    const Epilogue ep = epilogue_for(P, pc, kb);
    pack_a(P.A, P.lda, P.ta, 0, pc, P.M, kb, uk, apack);
    const size_t kp = packed_depth(uk, kb);
    for (int g0 = p0; g0 < p1; g0 += group) {
      const int g1 = std::min(p1, g0 + group);
      for (int p = g0; p < g1; ++p)
        pack_b(P, pc, p * uk.nr, kb, std::min(uk.nr, P.N - p * uk.nr), uk, bpack + (p - g0) * uk.nr * kp);
      run_group(P, uk, ep, apack, bpack, kb, 0, P.M, g0 * uk.nr, P.N - g0 * uk.nr, g1 - g0);
    }
  }
}

// Rows of C handed out block by block (each thread takes the next block of a step when it
// has finished its last), so a thread slowed by the host's other work does fewer blocks
// instead of holding the rest of the team at the next barrier. next[s]: step s's counter.
struct RowBlocks {
  int rows = 0, count = 0;
  std::atomic<int>* next = nullptr;
};

// The loop nest over jc and pc, run by every thread of the team (tm x tn threads: row
// shares of C times shares of each panel's micro-panels; with row blocks, tn = 1 and the
// rows are taken block by block). bpack holds two B panels, used in turn, so one barrier
// per KC step suffices.
void run_team(const Problem& P, const MicroKernel& uk, const GemmBlocking& bl, float* bpack, int tm, int tn,
              const RowBlocks& blocks) {
  if (omp_get_num_threads() != tm * tn) tm = omp_get_num_threads(), tn = 1;  // the runtime gave fewer
  const int tid = omp_get_thread_num(), ti = tid / tn, tj = tid % tn;
  const int rows_per = round_up((P.M + tm - 1) / tm, uk.mr);
  const int m0 = std::min(P.M, ti * rows_per), m1 = std::min(P.M, m0 + rows_per);
  const size_t panel_floats = line_floats(uk, bl.kc) * round_up(std::min(bl.nc, P.N), uk.nr);
  int step = 0;
  for (int jc = 0; jc < P.N; jc += bl.nc) {
    const int nb = std::min(bl.nc, P.N - jc), panels = (nb + uk.nr - 1) / uk.nr;
    const int per = (panels + tn - 1) / tn, p0 = std::min(panels, tj * per), p1 = std::min(panels, p0 + per);
    for (int pc = 0; pc < P.K; pc += bl.kc, ++step) {
      const int kb = std::min(bl.kc, P.K - pc), kp = packed_depth(uk, kb);
      float* panel = bpack + (step % 2) * panel_floats;
#pragma omp for schedule(static)
      for (int p = 0; p < panels; ++p)
        pack_b(P, pc, jc + p * uk.nr, kb, std::min(uk.nr, nb - p * uk.nr), uk,
               panel + static_cast<size_t>(p) * uk.nr * kp);
      // (the for's barrier: the panel is complete.) No barrier after the product: the next
      // step packs the other buffer, and the one after that waits at that step's barrier,
      // which no thread passes before it has finished this product.
      if (blocks.next != nullptr && tn == 1) {
        for (int b; (b = blocks.next[step].fetch_add(1, std::memory_order_relaxed)) < blocks.count;) {
          const int r0 = b * blocks.rows;
          macro_block(P, uk, bl, panel, jc, nb, pc, kb, r0, std::min(P.M, r0 + blocks.rows), 0, panels);
        }
      } else if (m0 < m1 && p0 < p1) {
        macro_block(P, uk, bl, panel, jc, nb, pc, kb, m0, m1, p0, p1);
      }
    }
  }
}

// K == 0: C = beta * C + bias (no product to add).
void scale_only(const Problem& P) {
  for (int i = 0; i < P.M; ++i) {
    float* c = P.C + static_cast<size_t>(i) * P.ldc;
    for (int j = 0; j < P.N; ++j) c[j] = (P.beta != 0.0f ? P.beta * c[j] : 0.0f) + (P.bias ? P.bias[j] : 0.0f);
  }
  gelu_all(P);
}

void openblas_sgemm(const Problem& P) {
  cblas_sgemm(CblasRowMajor, P.ta ? CblasTrans : CblasNoTrans, P.tb ? CblasTrans : CblasNoTrans, P.M, P.N, P.K,
              P.alpha, P.A, P.lda, P.B, P.ldb, P.beta, P.C, P.ldc);
  if (P.bias != nullptr) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int i = 0; i < P.M; ++i) {
      float* c = P.C + static_cast<size_t>(i) * P.ldc;
      for (int j = 0; j < P.N; ++j) c[j] += P.bias[j];
    }
  }
  gelu_all(P);
}

}  // namespace

GemmImpl gemm_impl() {
  int v = g_impl.load(std::memory_order_relaxed);
  if (v < 0) g_impl.store(v = static_cast<int>(impl_from_environment()), std::memory_order_relaxed);
  return static_cast<GemmImpl>(v);
}

const char* gemm_impl_name(GemmImpl impl) { return impl == GemmImpl::kOpenblas ? "openblas" : "own"; }

void set_gemm_impl(GemmImpl impl) { g_impl.store(static_cast<int>(impl), std::memory_order_relaxed); }

SimdLevel gemm_level() {
  int v = g_level.load(std::memory_order_relaxed);
  if (v < 0) g_level.store(v = static_cast<int>(level_from_environment()), std::memory_order_relaxed);
  return static_cast<SimdLevel>(v);
}

SimdLevel set_gemm_level(SimdLevel level) {
  const SimdLevel s = lower(level, cpu_simd_level());
  g_level.store(static_cast<int>(s), std::memory_order_relaxed);
  return s;
}

GemmBlocking gemm_blocking(SimdLevel level) {
  const MicroKernel uk = kernel_for(level);
  const long l1 = cache_bytes(_SC_LEVEL1_DCACHE_SIZE, 32 << 10), l2 = cache_bytes(_SC_LEVEL2_CACHE_SIZE, 512 << 10);
  const long l3 = std::min(cache_bytes(_SC_LEVEL3_CACHE_SIZE, 8 << 20), 32L << 20);  // VMs report the host's sum
  GemmBlocking b;
  b.mr = uk.mr, b.nr = uk.nr;
  // KC: the B micro-panel is twice L1 (it streams from L2, which feeds the ~15 bytes a
  // cycle the kernel needs). A deep KC matters more than a B panel that stays in L1: C is
  // read and written once per KC step, and on a Zen 5 (48 KB L1, 1 MB L2) the AVX-512 kernel
  // reached ~62% of peak at the GPT-2 shapes with KC = 192 (half of L1), ~76% with 384 and
  // ~80% with 768 (bench_gemm, CHATFORGE_GEMM_KC). MC: A's MC x KC block takes 3/4 of L2.
  b.kc = static_cast<int>(std::clamp(2 * l1 / (uk.nr * 4L) / 8 * 8, 64L, 768L));
  b.mc = static_cast<int>(std::clamp(l2 * 3 / 4 / (b.kc * 4L) / uk.mr * uk.mr, static_cast<long>(uk.mr), 4096L));
  b.nc = static_cast<int>(std::clamp(l3 / 4 / (b.kc * 4L) / uk.nr * uk.nr, static_cast<long>(uk.nr), 8192L));
  b.nb = static_cast<int>(std::max(1L, l2 / 2 / (b.kc * uk.nr * 4L)));
  // Tuning experiments: CHATFORGE_GEMM_KC / _MC / _NC override (MC and NC rounded to the tile).
  if (const char* v = std::getenv("CHATFORGE_GEMM_KC"); v && std::atoi(v) > 0) b.kc = std::atoi(v);
  if (const char* v = std::getenv("CHATFORGE_GEMM_MC"); v && std::atoi(v) > 0) b.mc = round_up(std::atoi(v), uk.mr);
  if (const char* v = std::getenv("CHATFORGE_GEMM_NC"); v && std::atoi(v) > 0) b.nc = round_up(std::atoi(v), uk.nr);
  if (const char* v = std::getenv("CHATFORGE_GEMM_NB"); v && std::atoi(v) >= 0) b.nb = std::atoi(v);
  return b;
}

namespace {
GemmBlocking g_blockings[3];
std::once_flag g_blockings_once;
}  // namespace

GemmBlocking blocking_in_use(SimdLevel level) {
  std::call_once(g_blockings_once, [] {
    for (int l = 0; l < 3; ++l) g_blockings[l] = gemm_blocking(static_cast<SimdLevel>(l));
  });
  return g_blockings[static_cast<int>(level)];
}

void set_gemm_blocking(SimdLevel level, const GemmBlocking& b) {
  blocking_in_use(level);
  g_blockings[static_cast<int>(level)] = b;
}

namespace {

// The loop nest for one product with kernel uk and blocking bl (KC in depth units).
void run_gemm(const Problem& P, const MicroKernel& uk, const GemmBlocking& blocking) {
  const int M = P.M, N = P.N, K = P.K;
  GemmBlocking bl = blocking;
  bl.kc = even_block(K, bl.kc, std::max(16, uk.pair * uk.slot_align));
  // Threads: the pool's, unless we are inside a parallel region or the product is tiny.
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (static_cast<double>(M) * N * K < 64.0 * 64 * 64) nt = 1;
  const int row_tiles = (M + uk.mr - 1) / uk.mr;
  int tm = std::max(1, std::min(nt, row_tiles / 2)), tn = nt / tm;
  const int nt_used = tm * tn;
  if (gemm_detail::threads_split_columns(M, N, uk, bl, nt)) {
#pragma omp parallel num_threads(nt)
    run_columns(P, uk, bl);
    return;
  }
  float* bpack = t_pack_b.get(2 * line_floats(uk, bl.kc) * round_up(std::min(bl.nc, N), uk.nr));
  // Several threads over rows: blocks of about an eighth of a thread's share (at most MC),
  // so a late thread can be made up for with little left to wait for at the end.
  RowBlocks blocks;
  std::unique_ptr<std::atomic<int>[]> next;
  if (nt_used > 1 && tn == 1) {
    blocks.rows = std::clamp(round_up((M + 8 * nt_used - 1) / (8 * nt_used), uk.mr), uk.mr, bl.mc);
    blocks.count = (M + blocks.rows - 1) / blocks.rows;
    const int steps = (N + bl.nc - 1) / bl.nc * ((K + bl.kc - 1) / bl.kc);
    next.reset(new std::atomic<int>[steps]());
    blocks.next = next.get();
  }
#pragma omp parallel num_threads(nt_used) if (nt_used > 1)
  run_team(P, uk, bl, bpack, tm, tn, blocks);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc, const float* bias, float* gelu_out) {
  if (M <= 0 || N <= 0) return;
  Problem P{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias};
  P.gelu_out = gelu_out;
  if (K <= 0) return scale_only(P);
  if (gemm_impl() == GemmImpl::kOpenblas) return openblas_sgemm(P);
  const SimdLevel level = gemm_level();
  run_gemm(P, kernel_for(level), blocking_in_use(level));
}

namespace gemm_detail {

bool threads_split_columns(int M, int N, const MicroKernel& uk, const GemmBlocking& bl, int threads) {
  if (threads < 2 || (N + uk.nr - 1) / uk.nr < 2 * threads) return false;
  if (M <= bl.mc + bl.mc / 2) return true;
  const size_t a_block_bytes = static_cast<size_t>(M) * packed_depth(uk, bl.kc) * sizeof(float);
  return uk.wide_columns && N >= 2 * M && a_block_bytes <= kColumnsMaxABytes;
}

void run_product(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc, const float* bias, const MicroKernel& uk,
                 const GemmBlocking& bl, float* gelu_out) {
  if (M <= 0 || N <= 0) return;
  Problem P{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias};
  P.gelu_out = gelu_out;
  if (K <= 0) return scale_only(P);
  run_gemm(P, uk, bl);
}

MicroKernel kernel_for_level(SimdLevel level) { return kernel_for(level); }

// The problem of sgemm_stored / gemm_bf16_stored: op(B) = w^T (trans_b) or w.
static Problem stored_problem(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                       float beta, float* C, int ldc, const float* bias) {
  CF_CHECK(trans_b ? (N == w.OC && K == w.C) : (K == w.OC && N == w.C),
           "stored GEMM: a ({}, {}) matrix is not op(B) of a {} x {} product (trans_b {})", w.OC, w.C, K, N, trans_b);
  Problem P{false, trans_b, M, N, K, alpha, A, lda, nullptr, 0, beta, C, ldc, bias};
  P.wb = &w;
  return P;
}

void run_product_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                        float beta, float* C, int ldc, const float* bias, const MicroKernel& uk,
                        const GemmBlocking& bl, float* gelu_out) {
  if (M <= 0 || N <= 0) return;
  Problem P = stored_problem(trans_b, M, N, K, alpha, A, lda, w, beta, C, ldc, bias);
  P.gelu_out = gelu_out;
  if (K <= 0) return scale_only(P);
  run_gemm(P, uk, bl);
}

}  // namespace gemm_detail

void sgemm_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                  float beta, float* C, int ldc, const float* bias, float* gelu_out) {
  const SimdLevel level = gemm_level();
  gemm_detail::run_product_stored(trans_b, M, N, K, alpha, A, lda, w, beta, C, ldc, bias, kernel_for(level),
                                  blocking_in_use(level), gelu_out);
}

}  // namespace chatforge::ops
