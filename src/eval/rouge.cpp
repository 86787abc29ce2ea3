// ROUGE as Google's rouge-score (see rouge.h).
#include "eval/rouge.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "eval/porter_stemmer.h"
#include "eval/text_util.h"

namespace chatforge::eval {
namespace {

bool is_ascii_alnum(char32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'); }

using Ids = std::vector<uint32_t>;
using Vocab = std::unordered_map<std::string_view, uint32_t>;

// Tokens as ids: comparing and sorting integers is much cheaper than strings.
Ids intern(const std::vector<std::string>& tokens, Vocab& vocab) {
  Ids ids;
  ids.reserve(tokens.size());
  for (const auto& t : tokens) ids.push_back(vocab.emplace(t, static_cast<uint32_t>(vocab.size())).first->second);
  return ids;
}

// Sorted n-gram keys of a token id sequence (n <= 2 packed into one integer).
std::vector<std::vector<uint32_t>> ngram_keys_generic(const Ids& ids, int n) {
  std::vector<std::vector<uint32_t>> keys;
  for (size_t i = 0; i + n <= ids.size(); ++i) keys.emplace_back(ids.begin() + static_cast<long>(i), ids.begin() + static_cast<long>(i) + n);
  std::sort(keys.begin(), keys.end());
  return keys;
}
std::vector<uint64_t> ngram_keys_packed(const Ids& ids, int n) {
  std::vector<uint64_t> keys;
  for (size_t i = 0; i + n <= ids.size(); ++i) keys.push_back(n == 1 ? ids[i] : (static_cast<uint64_t>(ids[i]) << 32 | ids[i + 1]));
  std::sort(keys.begin(), keys.end());
  return keys;
}

// sum over n-grams of min(count in a, count in b), for two sorted key lists.
template <typename K>
int64_t sorted_overlap(const std::vector<K>& a, const std::vector<K>& b) {
  int64_t overlap = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++overlap, ++i, ++j;  // matched one occurrence on each side
    }
  }
  return overlap;
}

RougeScore score_ngrams(int64_t overlap, size_t target_count, size_t prediction_count) {
  RougeScore s;
  s.precision = static_cast<double>(overlap) / static_cast<double>(std::max<size_t>(prediction_count, 1));
  s.recall = static_cast<double>(overlap) / static_cast<double>(std::max<size_t>(target_count, 1));
  s.fmeasure = rouge_fmeasure(s.precision, s.recall);
  return s;
}

RougeScore rouge_n_ids(const Ids& t, const Ids& p, int n) {
  CF_CHECK(n >= 1, "ROUGE-N needs n >= 1 (got {})", n);
  if (n <= 2) {
    const auto tk = ngram_keys_packed(t, n), pk = ngram_keys_packed(p, n);
    return score_ngrams(sorted_overlap(tk, pk), tk.size(), pk.size());
  }
  const auto tk = ngram_keys_generic(t, n), pk = ngram_keys_generic(p, n);
  return score_ngrams(sorted_overlap(tk, pk), tk.size(), pk.size());
}

// lcs_table[i][j] = LCS length of ref[:i] and can[:j]; (|ref|+1) x (|can|+1), row-major.
template <typename T>
std::vector<int32_t> lcs_table(const std::vector<T>& ref, const std::vector<T>& can) {
  const size_t rows = ref.size(), cols = can.size();
  std::vector<int32_t> t((rows + 1) * (cols + 1), 0);
  for (size_t i = 1; i <= rows; ++i) {
    for (size_t j = 1; j <= cols; ++j) {
      if (ref[i - 1] == can[j - 1]) {
        t[i * (cols + 1) + j] = t[(i - 1) * (cols + 1) + j - 1] + 1;
      } else {
        t[i * (cols + 1) + j] = std::max(t[(i - 1) * (cols + 1) + j], t[i * (cols + 1) + j - 1]);
      }
    }
  }
  return t;
}

template <typename T>
RougeScore rouge_l_impl(const std::vector<T>& target, const std::vector<T>& prediction) {
  if (target.empty() || prediction.empty()) return {};
  const double lcs = lcs_table(target, prediction).back();
  RougeScore s;
  s.precision = lcs / static_cast<double>(prediction.size());
  s.recall = lcs / static_cast<double>(target.size());
  s.fmeasure = rouge_fmeasure(s.precision, s.recall);
  return s;
}

}  // namespace

std::vector<std::string> rouge_tokenize(std::string_view text, const RougeOptions& opt) {
  // rouge-score: lower(); re.sub("[^a-z0-9]+", " "); split on whitespace; stem tokens
  // longer than 3 characters; keep tokens matching ^[a-z0-9]+$.
  const std::u32string u = utf8_to_u32(to_lower(text));
  std::vector<std::string> tokens;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    tokens.push_back(opt.use_stemmer && cur.size() > 3 ? porter_stem(cur) : cur);
    cur.clear();
  };
  for (char32_t cp : u) {
    if (is_ascii_alnum(cp)) {
      cur.push_back(static_cast<char>(cp));
    } else if (opt.cjk_aware && is_cjk(cp)) {
      flush();
      std::string t;
      append_utf8(t, cp);
      tokens.push_back(std::move(t));
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

double rouge_fmeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

RougeScore rouge_n(const std::vector<std::string>& target, const std::vector<std::string>& prediction, int n) {
  Vocab vocab;
  const Ids t = intern(target, vocab);
  const Ids p = intern(prediction, vocab);
  return rouge_n_ids(t, p, n);
}

RougeScore rouge_l(const std::vector<std::string>& target, const std::vector<std::string>& prediction) {
  return rouge_l_impl(target, prediction);
}

std::vector<size_t> lcs_indices(const std::vector<std::string>& ref, const std::vector<std::string>& can) {
  // rouge-score's _backtrack_norec: on a tie it moves up (drops a ref token).
  const auto t = lcs_table(ref, can);
  const size_t cols = can.size() + 1;
  size_t i = ref.size(), j = can.size();
  std::vector<size_t> out;
  while (i > 0 && j > 0) {
    if (ref[i - 1] == can[j - 1]) {
      out.push_back(i - 1);
      --i, --j;
    } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
      --j;
    } else {
      --i;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

RougeScore rouge_lsum(const std::vector<std::vector<std::string>>& target_sents,
                      const std::vector<std::vector<std::string>>& prediction_sents) {
  if (target_sents.empty() || prediction_sents.empty()) return {};
  size_t m = 0, n = 0;
  for (const auto& s : target_sents) m += s.size();
  for (const auto& s : prediction_sents) n += s.size();
  if (m == 0 || n == 0) return {};
  // Token budgets keep a token from being counted more often than it occurs.
  std::unordered_map<std::string, int64_t> budget_r, budget_c;
  for (const auto& s : target_sents)
    for (const auto& tok : s) ++budget_r[tok];
  for (const auto& s : prediction_sents)
    for (const auto& tok : s) ++budget_c[tok];
  int64_t hits = 0;
  for (const auto& r : target_sents) {
    // Union over the prediction sentences of the LCS positions in r, in order.
    std::set<size_t> uni;
    for (const auto& c : prediction_sents) {
      for (size_t idx : lcs_indices(r, c)) uni.insert(idx);
    }
    for (size_t idx : uni) {
      const std::string& tok = r[idx];
      auto& bc = budget_c[tok];
      auto& br = budget_r[tok];
      if (bc > 0 && br > 0) {
        ++hits;
        --bc;
        --br;
      }
    }
  }
  RougeScore s;
  s.recall = static_cast<double>(hits) / static_cast<double>(m);
  s.precision = static_cast<double>(hits) / static_cast<double>(n);
  s.fmeasure = rouge_fmeasure(s.precision, s.recall);
  return s;
}

namespace {

std::vector<std::vector<std::string>> tokenize_sentences(std::string_view text, const RougeOptions& opt) {
  // rouge-score: text.split("\n"), drop empty strings, tokenise each (empty token lists stay).
  std::vector<std::vector<std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(rouge_tokenize(text.substr(start, end - start), opt));
    start = end + 1;
  }
  return out;
}

RougeResult score_single(std::string_view target, std::string_view prediction, const RougeOptions& opt) {
  const auto t = rouge_tokenize(target, opt);
  const auto p = rouge_tokenize(prediction, opt);
  Vocab vocab;
  const Ids ti = intern(t, vocab), pi = intern(p, vocab);
  RougeResult r;
  r.rouge1 = rouge_n_ids(ti, pi, 1);
  r.rouge2 = rouge_n_ids(ti, pi, 2);
  r.rougeL = rouge_l_impl(ti, pi);
  if (target.find('\n') == std::string_view::npos && prediction.find('\n') == std::string_view::npos) {
    // One sentence each: the union LCS is the LCS and every LCS token fits the token
    // budgets, so ROUGE-Lsum equals ROUGE-L (including the empty cases).
    r.rougeLsum = r.rougeL;
  } else {
    r.rougeLsum = rouge_lsum(tokenize_sentences(target, opt), tokenize_sentences(prediction, opt));
  }
  return r;
}

}  // namespace

RougeResult rouge_score(const std::vector<std::string>& targets, std::string_view prediction, const RougeOptions& opt) {
  CF_CHECK(!targets.empty(), "ROUGE needs at least one reference");
  // score_multi: per ROUGE type, the reference with the highest F (first one on ties).
  RougeResult best;
  for (size_t i = 0; i < targets.size(); ++i) {
    const RougeResult r = score_single(targets[i], prediction, opt);
    if (i == 0) {
      best = r;
      continue;
    }
    if (r.rouge1.fmeasure > best.rouge1.fmeasure) best.rouge1 = r.rouge1;
    if (r.rouge2.fmeasure > best.rouge2.fmeasure) best.rouge2 = r.rouge2;
    if (r.rougeL.fmeasure > best.rougeL.fmeasure) best.rougeL = r.rougeL;
    if (r.rougeLsum.fmeasure > best.rougeLsum.fmeasure) best.rougeLsum = r.rougeLsum;
  }
  return best;
}

}  // namespace chatforge::eval
