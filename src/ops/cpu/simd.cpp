// Implementation of simd.h.
#include "ops/cpu/simd.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace chatforge::ops {
namespace {

SimdLevel lower(SimdLevel a, SimdLevel b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

SimdLevel supported() { return lower(cpu_simd_level(), built_simd_level()); }

SimdLevel from_environment() {
  SimdLevel level = supported();
  const char* env = std::getenv("CHATFORGE_SIMD");
  if (env == nullptr || *env == '\0') return level;
  if (std::strcmp(env, "avx512") == 0) return lower(level, SimdLevel::kAvx512);
  if (std::strcmp(env, "avx2") == 0) return lower(level, SimdLevel::kAvx2);
  if (std::strcmp(env, "scalar") == 0) return SimdLevel::kScalar;
  std::fprintf(stderr, "warning: CHATFORGE_SIMD=%s is not one of avx512, avx2, scalar; ignored\n", env);
  return level;
}

std::atomic<int> g_level{-1};  // -1: not read yet

}  // namespace

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512: return "avx512";
    case SimdLevel::kAvx2: return "avx2";
    case SimdLevel::kScalar: return "scalar";
  }
  return "scalar";
}

SimdLevel cpu_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kScalar;
}

SimdLevel built_simd_level() {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
  return SimdLevel::kAvx512;
#elif defined(__AVX2__) && defined(__FMA__)
  return SimdLevel::kAvx2;
#else
  return SimdLevel::kScalar;
#endif
}

SimdLevel simd_level() {
  int v = g_level.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(from_environment());
    g_level.store(v, std::memory_order_relaxed);
  }
  return static_cast<SimdLevel>(v);
}

SimdLevel set_simd_level(SimdLevel level) {
  const SimdLevel s = lower(level, supported());
  g_level.store(static_cast<int>(s), std::memory_order_relaxed);
  return s;
}

}  // namespace chatforge::ops
