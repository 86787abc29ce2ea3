// ROUGE-1/2/L/Lsum as Google's rouge-score (rouge_scorer.py) computes them: precision,
// recall and F1 per pair; ROUGE-Lsum is the summary-level union-LCS over newline-split
// sentences; several references -> the reference with the highest F per ROUGE type
// (score_multi). Tokeniser: rouge-score's (lowercase, non [a-z0-9] -> space, optional
// Porter stemming of tokens longer than 3) or our CJK-aware variant, which additionally
// keeps every CJK character as a token of its own (rouge-score drops them).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::eval {

struct RougeOptions {
  bool use_stemmer = false;
  bool cjk_aware = true;  // false: exactly rouge-score's DefaultTokenizer
};

// rouge_tokenize("The cat's 2 hats!", {}) -> {"the", "cat", "s", "2", "hats"}
// rouge_tokenize("我爱 NLP", {})          -> {"我", "爱", "nlp"}
std::vector<std::string> rouge_tokenize(std::string_view text, const RougeOptions& opt);

struct RougeScore {
  double precision = 0, recall = 0, fmeasure = 0;
};

// rouge-score's fmeasure: 2PR/(P+R), 0 when P+R is 0.
double rouge_fmeasure(double precision, double recall);

// Scores from tokens (target = reference, prediction = hypothesis).
RougeScore rouge_n(const std::vector<std::string>& target, const std::vector<std::string>& prediction, int n);
RougeScore rouge_l(const std::vector<std::string>& target, const std::vector<std::string>& prediction);
RougeScore rouge_lsum(const std::vector<std::vector<std::string>>& target_sents,
                      const std::vector<std::vector<std::string>>& prediction_sents);

// Indices (into ref) of one LCS of ref and can, found by rouge-score's backtracking.
std::vector<size_t> lcs_indices(const std::vector<std::string>& ref, const std::vector<std::string>& can);

struct RougeResult {
  RougeScore rouge1, rouge2, rougeL, rougeLsum;
};

// Scores one prediction against one or more references (raw text). For rougeLsum the
// texts are split into sentences at '\n'.
RougeResult rouge_score(const std::vector<std::string>& targets, std::string_view prediction, const RougeOptions& opt);

}  // namespace chatforge::eval
