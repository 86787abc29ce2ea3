// The CPU's fp32 arithmetic peak, measured rather than looked up: every OpenMP thread runs a
// loop of independent fused multiply-adds on registers only (no loads or stores, enough
// accumulators to cover the FMA latency on every port), at the widest SIMD level in use
// (simd.h). No real kernel can beat this rate on the same threads, so an MFU measured
// against it can not honestly exceed 100% — unlike one against a BLAS library's sgemm rate,
// which depends on the kernels that library picked (OPENBLAS_CORETYPE) and on the matrix size.
#pragma once

#include "ops/cpu/simd.h"

namespace chatforge::ops {

struct FmaPeak {
  double gflops = 0;       // fp32 FLOP/s over all threads, 2 per FMA lane, in units of 1e9
  int threads = 0;         // OpenMP threads that ran the loop
  SimdLevel level{};       // the instructions used (avx512: 16 lanes, avx2: 8, scalar: 1)
};

// The best of `reps` timed runs (after one warm-up) of about `seconds` each, on `threads`
// threads (0: the OpenMP default). Cached per (threads, level) after the first call, since
// it takes about reps * seconds.
FmaPeak measure_fma_peak(int threads = 0, double seconds = 0.05, int reps = 3);

// The bf16 dot-product peak where the CPU has AVX512-BF16: every thread runs independent
// vdpbf16ps chains on registers (each is 32 bf16 products summed pairwise into 16 fp32
// lanes: 64 FLOPs). Returns 0 where the CPU lacks the instruction. Cached per thread count.
double measure_bf16_peak_gflops(int threads = 0, double seconds = 0.05, int reps = 3);
// True when CPUID reports AVX512-BF16 (with AVX512F).
bool cpu_has_avx512_bf16();
// True when AMX-BF16 tiles can run here: CPUID reports AMX-TILE and AMX-BF16 (and
// AVX512-BF16, which the AMX packs use), and Linux granted this process the tile data
// state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process on the first call).
bool amx_bf16_usable();
// The AMX bf16 peak where amx_bf16_usable(): every thread runs independent tdpbf16ps
// chains on tiles only (each 16 x 16 x 32 products: 16384 FLOPs). 0 elsewhere. Cached per
// thread count.
double measure_amx_bf16_peak_gflops(int threads = 0, double seconds = 0.05, int reps = 3);
// The SIMD features CPUID reports, space-separated ("avx2 fma avx512f ... avx512_bf16 amx_bf16").
const char* cpu_simd_features();

}  // namespace chatforge::ops
