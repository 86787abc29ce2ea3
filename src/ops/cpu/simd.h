// Which hand-written SIMD kernels the CPU backend runs. The widest level that both this
// CPU (CPUID) and this build (the kernels compiled in) support, lowered — never raised —
// by the environment variable CHATFORGE_SIMD=avx512|avx2|scalar, so that the narrower code
// paths another machine would take are exercised on any machine (tests run the golden
// fixture with CHATFORGE_SIMD=avx2 next to OPENBLAS_CORETYPE=Haswell).
#pragma once

namespace chatforge::ops {

enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

const char* simd_level_name(SimdLevel level);  // "scalar", "avx2", "avx512"
// What the CPU running us supports (AVX-512 = F, BW, VL and DQ; AVX2 = AVX2 and FMA).
SimdLevel cpu_simd_level();
// The widest kernels compiled into this binary (-march decides: native by default).
SimdLevel built_simd_level();
// The level in use: min(cpu, built, CHATFORGE_SIMD). Read once, then cached. An unknown
// CHATFORGE_SIMD value is reported on stderr once and ignored.
SimdLevel simd_level();
// Tests and benchmarks: run the kernels at `level` from now on (clamped to what the CPU
// and the build support). Returns the level actually set. Not for use while kernels run.
SimdLevel set_simd_level(SimdLevel level);

}  // namespace chatforge::ops
