// Implementation of fma_peak.h: one register-resident FMA loop per SIMD level.
#include "ops/cpu/fma_peak.h"

#include <immintrin.h>
#include <omp.h>
// GCC 12 flags its own _mm512_reduce_add_ps (the self-initialised _mm*_undefined_* inside
// vextractf64x4) as uninitialized: GCC bug 105593.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>

namespace chatforge::ops {
namespace {

// 16 independent chains: FMA latency (4-5 cycles) times 2 FMA ports needs at least 10 in
// flight; the multiplier and addend keep every value finite and normal for any count.
constexpr int kChains = 16;
constexpr long kInner = 1024;  // FMAs per chain between clock checks

#if defined(__AVX512F__)
float chains_avx512(long rounds) {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(1.0f + 0.01f * k);
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (long r = 0; r < rounds * kInner; ++r)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], mul, add);
  __m512 s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, acc[k]);
  return _mm512_reduce_add_ps(s);
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
float chains_avx2(long rounds) {
  __m256 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_ps(1.0f + 0.01f * k);
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (long r = 0; r < rounds * kInner; ++r)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], mul, add);
  __m256 s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm256_add_ps(s, acc[k]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  float t = 0;
  for (float v : out) t += v;
  return t;
}
#endif

float chains_scalar(long rounds) {
  float acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = 1.0f + 0.01f * k;
  for (long r = 0; r < rounds * kInner; ++r)
    for (int k = 0; k < kChains; ++k) {
      acc[k] = __builtin_fmaf(acc[k], 0.999999f, 1e-6f);
      // Each chain stays a scalar in its own register: without this the compiler packs the
      // 16 chains into one vector FMA and the "scalar" peak reads 16 times too high.
#if defined(__x86_64__)
      __asm__("" : "+x"(acc[k]));
#endif
    }
  float t = 0;
  for (float v : acc) t += v;
  return t;
}

int lanes(SimdLevel level) {
  return level == SimdLevel::kAvx512 ? 16 : level == SimdLevel::kAvx2 ? 8 : 1;
}

float run_chains(SimdLevel level, long rounds) {
#if defined(__AVX512F__)
  if (level == SimdLevel::kAvx512) return chains_avx512(rounds);
#endif
#if defined(__AVX2__) && defined(__FMA__)
  if (level != SimdLevel::kScalar) return chains_avx2(rounds);
#endif
  (void)level;
  return chains_scalar(rounds);
}

// Seconds for `rounds` rounds on every thread, from the first start to the last finish.
double timed_seconds(SimdLevel level, int threads, long rounds) {
  float sum = 0;  // every thread's result is used, so no chain is optimised away
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sum)
  sum += run_chains(level, rounds);
  volatile float sink = sum;
  (void)sink;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double flops_of(SimdLevel level, int threads, long rounds) {
  return 2.0 * threads * static_cast<double>(rounds) * kInner * kChains * lanes(level);
}

}  // namespace

FmaPeak measure_fma_peak(int threads, double seconds, int reps) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, FmaPeak> cache;
  if (threads <= 0) threads = omp_get_max_threads();
  const SimdLevel level = simd_level();
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(threads, static_cast<int>(level));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  // Size the run: double the rounds until one run lasts a quarter of `seconds` (a short
  // probe would be all thread start-up), then scale to `seconds`.
  long rounds = 16;
  double t = timed_seconds(level, threads, rounds);
  while (t < seconds / 4 && rounds < (1L << 40)) t = timed_seconds(level, threads, rounds *= 2);
  rounds = std::max(rounds, static_cast<long>(static_cast<double>(rounds) * seconds / t));
  FmaPeak p{0, threads, level};
  for (int r = 0; r < reps; ++r)
    p.gflops = std::max(p.gflops, flops_of(level, threads, rounds) / timed_seconds(level, threads, rounds) / 1e9);
  cache[key] = p;
  return p;
}

}  // namespace chatforge::ops
