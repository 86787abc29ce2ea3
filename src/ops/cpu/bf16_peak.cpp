// The bf16 dot-product peak (fma_peak.h): a register-only vdpbf16ps loop per thread,
// compiled with a target attribute so any x86-64 build has it, run only where CPUID reports
// AVX512-BF16. Also CPUID's SIMD feature list for `chatforge version`.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "ops/cpu/fma_peak.h"

namespace chatforge::ops {
namespace {

constexpr int kChains = 16;
constexpr long kInner = 1024;

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16"))) float dpbf16_chains(long rounds) {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(0.01f * k);
  // Tiny products keep every accumulator finite for any count.
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3380), b = (__m512bh)_mm512_set1_epi16(0x3380);
  for (long r = 0; r < rounds * kInner; ++r)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, b);
  __m512 s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, acc[k]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  float t = 0;
  for (float v : out) t += v;
  return t;
}
#endif

double timed_seconds(int threads, long rounds) {
  float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
#if defined(__x86_64__)
#pragma omp parallel num_threads(threads)
  {
    const float v = dpbf16_chains(rounds);
#pragma omp atomic
    sink += v;
  }
#endif
  volatile float keep = sink;  // the chains' result is used: the loop cannot be dropped
  (void)keep;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

const char* cpu_simd_features() {
  static const std::string list = [] {
    std::string out;
#if defined(__x86_64__)
    __builtin_cpu_init();
    auto add = [&](const char* name, bool has) {
      if (has) out += (out.empty() ? "" : " ") + std::string(name);
    };
    add("avx", __builtin_cpu_supports("avx"));
    add("avx2", __builtin_cpu_supports("avx2"));
    add("fma", __builtin_cpu_supports("fma"));
    add("avx512f", __builtin_cpu_supports("avx512f"));
    add("avx512bw", __builtin_cpu_supports("avx512bw"));
    add("avx512vl", __builtin_cpu_supports("avx512vl"));
    add("avx512dq", __builtin_cpu_supports("avx512dq"));
    add("avx512_vnni", __builtin_cpu_supports("avx512vnni"));
    add("avx512_bf16", __builtin_cpu_supports("avx512bf16"));
#if defined(__GNUC__) && __GNUC__ >= 11
    add("amx_tile", __builtin_cpu_supports("amx-tile"));
    add("amx_bf16", __builtin_cpu_supports("amx-bf16"));
#endif
#endif
    return out.empty() ? std::string("none") : out;
  }();
  return list.c_str();
}

double measure_bf16_peak_gflops(int threads, double seconds, int reps) {
  if (!cpu_has_avx512_bf16()) return 0;
  static std::mutex mu;
  static std::map<int, double> cache;
  if (threads <= 0) threads = omp_get_max_threads();
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(threads); it != cache.end()) return it->second;
  long rounds = 16;
  double t = timed_seconds(threads, rounds);
  while (t < seconds / 4 && rounds < (1L << 40)) t = timed_seconds(threads, rounds *= 2);
  rounds = std::max(rounds, static_cast<long>(static_cast<double>(rounds) * seconds / t));
  double best = 0;
  const double flops = 64.0 * threads * static_cast<double>(rounds) * kInner * kChains;
  for (int r = 0; r < reps; ++r) best = std::max(best, flops / timed_seconds(threads, rounds) / 1e9);
  cache[threads] = best;
  return best;
}

}  // namespace chatforge::ops
