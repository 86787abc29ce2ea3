// chatforge's own fp32 GEMM (the CPU backend's matmul): C = alpha * op(A) op(B) + beta * C
// (+ bias per column), row-major, op = identity or transpose. Packed A/B panels, cache
// blocking sized from this CPU's caches, a register-blocked micro-kernel picked at run time
// from CPUID (AVX-512 12x32, AVX2/FMA 6x16, portable 4x8), threads from the one OpenMP pool.
// OpenBLAS's cblas_sgemm stays selectable (CHATFORGE_GEMM=openblas) for comparison.
// Contract: beta == 0 never reads C (it may hold NaN); A, B and C must not overlap.
// gelu_out (the last parameter of every product below; null: none): the GELU (tanh form,
// vec::gelu) of the final C also goes to gelu_out (M,N; ldc apart, like C), each tile while
// it is still in cache: a linear layer's forward with its activation fused. C keeps the
// value before it (what the backward needs); gelu_out == C applies the GELU in place.
// Otherwise it must not overlap A, B or C.
#pragma once
#include <cstddef>

#include "ops/cpu/simd.h"

namespace chatforge::ops {

struct WeightMatrix;  // ops.h: a matrix in a storage format (fp32, f16, bf16, int8)

enum class GemmImpl { kOwn, kOpenblas };

// The implementation in use: CHATFORGE_GEMM=own|openblas (default own), read once.
GemmImpl gemm_impl();
const char* gemm_impl_name(GemmImpl impl);  // "own", "openblas"
void set_gemm_impl(GemmImpl impl);          // tests and benchmarks; not while a GEMM runs

// The micro-kernel our GEMM runs: the widest this CPU supports (CPUID; the kernels carry
// their own target attributes, so -march does not limit them), lowered by CHATFORGE_SIMD.
SimdLevel gemm_level();
// Tests and benchmarks: force a kernel (clamped to what the CPU supports); returns the one set.
SimdLevel set_gemm_level(SimdLevel level);

// The blocking of one kernel (from sysconf's cache sizes): MR x NR register tile, KC x MR
// micro-panel of A in L1, nb micro-panels of B (KC x NR each) in L2, MC x KC block of A,
// KC x NC panel of B in L3. nb: the B micro-panels a thread runs under each A micro-panel
// in turn (0 or 1: each B micro-panel under all the A micro-panels of the block in turn).
struct GemmBlocking {
  int mr = 0, nr = 0, kc = 0, mc = 0, nc = 0, nb = 0;
};
GemmBlocking gemm_blocking(SimdLevel level);  // computed from the caches (and CHATFORGE_GEMM_KC/MC/NC)
// What sgemm uses (gemm_blocking's, computed once), and for tests a smaller one (mr and nr
// must stay the kernel's; kc, mc, nc any positive values, mc and nc multiples of mr, nr).
GemmBlocking blocking_in_use(SimdLevel level);
void set_gemm_blocking(SimdLevel level, const GemmBlocking& b);

// C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C + bias (N, may be null).
// op(A) = A (M,K; lda >= K) or, with trans_a, A^T where A is (K,M; lda >= M); same for B.
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc, const float* bias = nullptr, float* gelu_out = nullptr);

// The same product with bf16 inputs and fp32 accumulation (mixed-precision training's
// GEMM): op(A) and op(B) are rounded to bf16 (nearest even; denormals to zero) as they are
// packed, C, alpha, beta and the bias stay fp32. The kernel (gemm_bf16_kernel()): AMX tiles
// where CPUID reports AMX-BF16 and Linux grants the tile state (16 x 16 x 32 products per
// tdpbf16ps), else the AVX512-BF16 kernel where CPUID reports it (vdpbf16ps: twice the
// fp32 kernel's FLOPs per instruction), else the fp32 kernel on the rounded inputs (the
// same rounding, fp32's speed). Our kernels only: CHATFORGE_GEMM=openblas does not apply.
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc, const float* bias = nullptr, float* gelu_out = nullptr);
// sgemm and gemm_bf16 with op(B) read from a stored matrix w (OC, C), converted to fp32 (then
// bf16) as it is packed: what multiplying by dequantize_rows' fp32 copy of w computes, with
// no such copy. trans_b: op(B) = w^T (N = OC, K = C: out = A w^T, a linear layer's forward);
// else op(B) = w (K = OC, N = C: its input gradient). A is (M, K), not transposed. Our
// kernels only (CHATFORGE_GEMM does not apply). A shape that does not fit w is an Error.
void sgemm_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                  float beta, float* C, int ldc, const float* bias = nullptr, float* gelu_out = nullptr);
void gemm_bf16_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                      float beta, float* C, int ldc, const float* bias = nullptr, float* gelu_out = nullptr);

enum class Bf16Kernel { kEmulated = 0, kAvx512Bf16 = 1, kAmx = 2 };
const char* bf16_kernel_name(Bf16Kernel k);  // "emulated", "avx512bf16", "amx"
// The best bf16 kernel this CPU runs (AMX needs the AVX-512 GEMM level too: CHATFORGE_SIMD
// lowers it, as an AVX2 machine would run).
Bf16Kernel cpu_bf16_kernel();
// The kernel gemm_bf16 runs: cpu_bf16_kernel(), lowered — never raised — by
// CHATFORGE_BF16=amx|avx512bf16|emulate (read once; an unknown value is reported and ignored).
Bf16Kernel gemm_bf16_kernel();
// Tests and benchmarks: force a kernel (clamped to what the CPU has); returns the one set.
Bf16Kernel set_gemm_bf16_kernel(Bf16Kernel k);
// Whether gemm_bf16 runs a bf16 instruction (AMX or AVX512-BF16), not the emulation.
bool gemm_bf16_native();
// Tests and benchmarks: the emulation (false) or the best native kernel the CPU has.
bool set_gemm_bf16_native(bool native);
// The AMX kernel's blocking (KC in depths; MR = NR = 32, MC and NC multiples of 32): from
// the caches (and CHATFORGE_GEMM_KC/MC/NC), and for tests a smaller one.
GemmBlocking amx_blocking_in_use();
void set_amx_blocking(const GemmBlocking& b);

}  // namespace chatforge::ops
