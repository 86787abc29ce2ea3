// The bf16 dot-product peaks (fma_peak.h): a register-only vdpbf16ps loop per thread and a
// tile-only tdpbf16ps (AMX) loop per thread, compiled with target attributes so any x86-64
// build has them, run only where CPUID reports the instructions (and, for AMX, Linux grants
// the tile state). Also CPUID's SIMD feature list for `chatforge version`.
#include <immintrin.h>
#include <omp.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

#if defined(__x86_64__)
// CPUID leaf 7's EDX: bit 22 AMX-BF16, bit 24 AMX-TILE.
unsigned cpuid7_edx() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return d;
}
bool cpuid_has_amx_tile() { return cpuid7_edx() >> 24 & 1u; }
bool cpuid_has_amx_bf16() { return cpuid_has_amx_tile() && (cpuid7_edx() >> 22 & 1u); }

struct alignas(64) AmxPeakConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
constexpr AmxPeakConfig kAmxPeakConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};
constexpr int kTileChains = 6;  // tmm0-5 accumulate tmm6 x tmm7: covers tdpbf16ps's latency

// Tile-only tdpbf16ps chains; returns one accumulator element so the work is used. The
// configuration is the GEMM kernel's (gemm_amx.cpp), and the tiles are not released: a
// thread that configured them for the GEMM keeps a valid configuration.
__attribute__((target("amx-tile,amx-bf16"))) float amx_chains(long rounds) {
  alignas(64) static const uint16_t src[16 * 32] = {};  // zeros: every sum stays finite
  alignas(64) float out[16 * 16];
  _tile_loadconfig(&kAmxPeakConfig);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  _tile_loadd(6, src, 64);
  _tile_loadd(7, src, 64);
  for (long r = 0; r < rounds * kInner / 16; ++r) {
    _tile_dpbf16ps(0, 6, 7);
    _tile_dpbf16ps(1, 6, 7);
    _tile_dpbf16ps(2, 6, 7);
    _tile_dpbf16ps(3, 6, 7);
    _tile_dpbf16ps(4, 6, 7);
    _tile_dpbf16ps(5, 6, 7);
  }
  _tile_stored(0, out, 64);
  asm volatile("" ::: "memory");  // GCC's tile store is an asm that does not declare its write
  return out[0];
}
#endif

// Seconds `threads` threads take to run chains(rounds) each (a peak loop below; x86 only).
double timed_chains(float (*chains)(long), int threads, long rounds) {
  float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  {
    const float v = chains(rounds);
#pragma omp atomic
    sink += v;
  }
  volatile float keep = sink;  // the chains' result is used: the loop cannot be dropped
  (void)keep;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

#if defined(__x86_64__)
double timed_seconds(int threads, long rounds) { return timed_chains(dpbf16_chains, threads, rounds); }
double timed_amx_seconds(int threads, long rounds) { return timed_chains(amx_chains, threads, rounds); }
#else
float no_chains(long) { return 0.0f; }
double timed_seconds(int threads, long rounds) { return timed_chains(no_chains, threads, rounds); }
double timed_amx_seconds(int threads, long rounds) { return timed_chains(no_chains, threads, rounds); }
#endif

// The best of reps timed runs of about `seconds` of `timed(threads, rounds)`, as GFLOP/s at
// flops_per_round FLOPs per round per thread.
template <class Timed>
double best_gflops(Timed timed, int threads, double seconds, int reps, double flops_per_round) {
  long rounds = 16;
  double t = timed(threads, rounds);
  while (t < seconds / 4 && rounds < (1L << 40)) t = timed(threads, rounds *= 2);
  rounds = std::max(rounds, static_cast<long>(static_cast<double>(rounds) * seconds / t));
  double best = 0;
  const double flops = flops_per_round * threads * static_cast<double>(rounds);
  for (int r = 0; r < reps; ++r) best = std::max(best, flops / timed(threads, rounds) / 1e9);
  return best;
}

}  // namespace

bool amx_bf16_usable() {
#if defined(__x86_64__)
  static const bool usable = [] {
    if (!cpu_has_avx512_bf16() || !cpuid_has_amx_bf16()) return false;
    // Linux keeps the 8 KiB tile data state off until a process asks (kernel 5.16+).
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
#else
  return false;
#endif
}

double measure_amx_bf16_peak_gflops(int threads, double seconds, int reps) {
  if (!amx_bf16_usable()) return 0;
  static std::mutex mu;
  static std::map<int, double> cache;
  if (threads <= 0) threads = omp_get_max_threads();
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(threads); it != cache.end()) return it->second;
  // per round: kInner / 16 iterations of kTileChains tdpbf16ps, 2 * 16 * 16 * 32 FLOPs each
  const double per_round = static_cast<double>(kInner / 16) * kTileChains * 16384.0;
  return cache[threads] = best_gflops(timed_amx_seconds, threads, seconds, reps, per_round);
}

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
      if (!has) return;
      if (!out.empty()) out += ' ';
      out += name;
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
    add("amx_tile", cpuid_has_amx_tile());
    add("amx_bf16", cpuid_has_amx_bf16());
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
  return cache[threads] = best_gflops(timed_seconds, threads, seconds, reps, 64.0 * kInner * kChains);
}

}  // namespace chatforge::ops
