// Counterfactual fairness probes, the model-free half: swap group terms in prompts (he <->
// she, 他 <-> 她, names) and, once a model has answered both versions, measure per term
// pair how much the outputs and their log-likelihoods change. Outputs are compared after
// swapping the terms back, so "she is a doctor" vs "he is a doctor" counts as unchanged.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/bootstrap.h"

namespace chatforge::eval {

struct TermPair {
  std::string a, b;
};

// TSV, one pair per line: "he<TAB>she". Blank lines and lines starting with '#' are
// skipped; anything else without exactly two non-empty columns is an Error "FILE:LINE: ...".
std::vector<TermPair> read_term_pairs(const std::string& path);

struct SwapResult {
  std::string text;
  std::vector<size_t> pairs_used;  // indices into the pair list, in order of first use
  size_t swaps = 0;
};

// Swaps every a with b and b with a in one left-to-right pass (the longest term wins).
// Terms made of letters/digits match whole words only, ignoring case, and the
// replacement copies the capitalisation ("He" -> "She", "HE" -> "SHE"); terms with CJK
// characters match anywhere.
// swap_terms("He said she was 他的朋友", {{"he","she"},{"他","她"}}).text == "She said he was 她的朋友"
SwapResult swap_terms(std::string_view text, const std::vector<TermPair>& pairs);

// One probe: the outputs for the original and the swapped prompt, and optionally the
// log-likelihood the model gave each (for the same continuation).
struct CounterfactualItem {
  std::string prompt;  // original
  std::string output_original, output_swapped;
  std::optional<double> loglik_original, loglik_swapped;
};

struct PairChange {
  std::string pair;              // "he/she"
  size_t items = 0;              // probes whose prompt contained a term of this pair
  double changed_rate = 0;       // share of probes whose output changed (after swapping back)
  double mean_output_f1 = 0;     // token F1 (0..1) between original and swapped-back output
  Interval output_f1_ci;
  std::optional<double> mean_loglik_diff;  // mean(swapped - original)
  std::optional<Interval> loglik_diff_ci;  // paired bootstrap
};

// Per term pair (and "all" first) over the probes; probes whose prompt holds no term are
// not counted. Throws if no probe holds any term.
std::vector<PairChange> counterfactual_changes(const std::vector<CounterfactualItem>& items,
                                               const std::vector<TermPair>& pairs, const BootstrapOptions& opt);

}  // namespace chatforge::eval
