// Helpers shared by the op tests: random buffers, float<->double copies, error checks.
#pragma once
#include <cmath>
#include <vector>

#include "core/rng.h"

namespace chatforge::testing {

inline std::vector<double> randn(size_t n, Rng& rng, double scale = 1.0) {
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}
inline std::vector<float> to_f(const std::vector<double>& v) { return {v.begin(), v.end()}; }
inline std::vector<double> to_d(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Max |a - b| / max(1, max|b|): a mixed absolute/relative error.
inline double max_err(const std::vector<float>& got, const std::vector<double>& want) {
  double e = 0, m = 1.0;
  for (double w : want) m = std::max(m, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::fabs(got[i] - want[i]));
  return e / m;
}

}  // namespace chatforge::testing
