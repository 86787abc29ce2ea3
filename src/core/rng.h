// Seedable random number generator (xoshiro256**) whose whole state is four uint64 words,
// so a training run can save it in a checkpoint and resume bit-for-bit.
// Same seed -> same stream on every platform (no std:: distributions, which vary by library).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

namespace chatforge {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    // splitmix64 expands one seed into four well-mixed words.
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  float uniform_f() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

  // Uniform integer in [0, n), unbiased (Lemire's method with rejection).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = -n % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next_u64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Standard normal by Box-Muller, one value per call (no cached spare, so the four
  // state words are the whole state and save/restore is exact at any point):
  // normal_from(normal_uniforms()). The two halves apart let a caller draw in order and
  // transform on many threads with the same bits (Gpt::init_weights).
  double normal() {
    const auto [u1, u2] = normal_uniforms();
    return normal_from(u1, u2);
  }
  // The uniforms one normal() consumes: u1 in (0, 1) (drawn again while 0), then u2.
  std::pair<double, double> normal_uniforms() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    return {u1, uniform()};
  }
  static double normal_from(double u1, double u2) {
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State s_{};
};

}  // namespace chatforge
