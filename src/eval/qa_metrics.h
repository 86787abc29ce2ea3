// Exact match and token F1 as the SQuAD v1.1 evaluation script defines them: normalise
// (lowercase, remove punctuation, remove the articles a/an/the, collapse whitespace),
// then EM = normalised strings equal, F1 = bag-of-tokens overlap; the best over the
// references counts. CJK-aware mode also removes Unicode punctuation (，。「」) and makes
// each CJK character a token, so Chinese answers get partial credit too.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::eval {

struct QaOptions {
  bool cjk_aware = true;  // false: exactly SQuAD's normalize_answer (ASCII punctuation only)
};

// normalize_answer("The  Eiffel-Tower!") -> "eiffeltower"
std::string normalize_answer(std::string_view s, const QaOptions& opt = {});
// qa_tokens("巴黎 Paris", {}) -> {"巴", "黎", "paris"}
std::vector<std::string> qa_tokens(std::string_view s, const QaOptions& opt = {});

double exact_match(std::string_view prediction, std::string_view truth, const QaOptions& opt = {});
double token_f1(std::string_view prediction, std::string_view truth, const QaOptions& opt = {});

struct QaScore {
  double exact_match = 0;  // 0 or 1
  double f1 = 0;           // 0..1
};
// Max over the references of each measure (as SQuAD's metric_max_over_ground_truths).
QaScore qa_score(std::string_view prediction, const std::vector<std::string>& truths, const QaOptions& opt = {});

// Fact match: 1 when every key fact, normalised like the answers, occurs inside the
// normalised prediction as whole words at its Latin/digit edges ("It costs $129." holds
// the fact "$129", "$1299" does not; CJK matches anywhere), else 0. For answers that
// may be phrased freely but must state certain facts (a price, a number of days).
double facts_match(std::string_view prediction, const std::vector<std::string>& facts, const QaOptions& opt = {});

}  // namespace chatforge::eval
