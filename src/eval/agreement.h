// Inter-rater agreement for nominal labels: Cohen's kappa (two raters), Fleiss' kappa
// (every item rated by the same number of raters) and Krippendorff's alpha (any number
// of raters, missing ratings allowed). Each returns nullopt when it is undefined
// (no pairable ratings, or chance agreement is already 1).
#pragma once
#include <optional>
#include <utility>
#include <vector>

namespace chatforge::eval {

// pairs[i] = (label by rater 1, label by rater 2) for one item; labels in [0, k).
std::optional<double> cohen_kappa(const std::vector<std::pair<int, int>>& pairs, int k);

// counts[i][c] = number of raters who gave item i label c; every row sums to the same n >= 2.
std::optional<double> fleiss_kappa(const std::vector<std::vector<int>>& counts);

// units[u] = the labels item u received (any count; units with < 2 are not pairable).
std::optional<double> krippendorff_alpha_nominal(const std::vector<std::vector<int>>& units, int k);

}  // namespace chatforge::eval
