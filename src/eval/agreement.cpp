// Inter-rater agreement (see agreement.h). Formulas:
//   Cohen:  kappa = (po - pe) / (1 - pe), pe = sum_c p1(c) p2(c)
//   Fleiss: P_i = (sum_c n_ic^2 - n) / (n (n-1)), P = mean P_i, Pe = sum_c p_c^2,
//           kappa = (P - Pe) / (1 - Pe)
//   Krippendorff (nominal): coincidences o_ck = sum_u (pairs (c,k) in u) / (m_u - 1),
//           n_c = sum_k o_ck, n = sum n_c, alpha = 1 - (n-1) sum_{c!=k} o_ck / sum_{c!=k} n_c n_k
#include "eval/agreement.h"

#include "core/error.h"

namespace chatforge::eval {

std::optional<double> cohen_kappa(const std::vector<std::pair<int, int>>& pairs, int k) {
  if (pairs.empty()) return std::nullopt;
  std::vector<double> p1(k, 0), p2(k, 0);
  double agree = 0;
  for (auto [a, b] : pairs) {
    CF_ASSERT(a >= 0 && a < k && b >= 0 && b < k);
    p1[a] += 1;
    p2[b] += 1;
    agree += a == b;
  }
  const double n = static_cast<double>(pairs.size());
  const double po = agree / n;
  double pe = 0;
  for (int c = 0; c < k; ++c) pe += (p1[c] / n) * (p2[c] / n);
  if (pe >= 1.0) return std::nullopt;
  return (po - pe) / (1.0 - pe);
}

std::optional<double> fleiss_kappa(const std::vector<std::vector<int>>& counts) {
  if (counts.empty()) return std::nullopt;
  const size_t k = counts[0].size();
  int n = 0;
  for (int c : counts[0]) n += c;
  if (n < 2) return std::nullopt;
  std::vector<double> col(k, 0);
  double p_bar = 0;
  for (const auto& row : counts) {
    CF_ASSERT(row.size() == k);
    int sum = 0;
    double sq = 0;
    for (size_t c = 0; c < k; ++c) {
      sum += row[c];
      sq += static_cast<double>(row[c]) * row[c];
      col[c] += row[c];
    }
    if (sum != n) return std::nullopt;  // unequal rater counts: Fleiss does not apply
    p_bar += (sq - n) / (static_cast<double>(n) * (n - 1));
  }
  const double items = static_cast<double>(counts.size());
  p_bar /= items;
  double pe = 0;
  for (size_t c = 0; c < k; ++c) {
    const double p = col[c] / (items * n);
    pe += p * p;
  }
  if (pe >= 1.0) return std::nullopt;
  return (p_bar - pe) / (1.0 - pe);
}

std::optional<double> krippendorff_alpha_nominal(const std::vector<std::vector<int>>& units, int k) {
  std::vector<double> o(static_cast<size_t>(k) * k, 0.0);
  for (const auto& u : units) {
    const size_t m = u.size();
    if (m < 2) continue;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < m; ++j) {
        if (i == j) continue;
        CF_ASSERT(u[i] >= 0 && u[i] < k && u[j] >= 0 && u[j] < k);
        o[static_cast<size_t>(u[i]) * k + u[j]] += 1.0 / static_cast<double>(m - 1);
      }
    }
  }
  std::vector<double> nc(k, 0);
  double n = 0;
  for (int c = 0; c < k; ++c) {
    for (int d = 0; d < k; ++d) nc[c] += o[static_cast<size_t>(c) * k + d];
    n += nc[c];
  }
  if (n <= 1) return std::nullopt;
  double disagree_obs = 0, disagree_exp = 0;
  for (int c = 0; c < k; ++c) {
    for (int d = 0; d < k; ++d) {
      if (c == d) continue;
      disagree_obs += o[static_cast<size_t>(c) * k + d];
      disagree_exp += nc[c] * nc[d];
    }
  }
  if (disagree_exp == 0) return std::nullopt;
  return 1.0 - (n - 1) * disagree_obs / disagree_exp;
}

}  // namespace chatforge::eval
