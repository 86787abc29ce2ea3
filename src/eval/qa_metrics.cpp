// SQuAD-style exact match and token F1 (see qa_metrics.h).
#include "eval/qa_metrics.h"

#include <algorithm>
#include <unordered_map>

#include "eval/text_util.h"

namespace chatforge::eval {
namespace {

// Python's string.punctuation.
bool is_ascii_punct(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// re.sub(r'\b(a|an|the)\b', ' ', text) with Python's Unicode \w.
std::u32string remove_articles(const std::u32string& t) {
  static const std::u32string kArticles[] = {U"a", U"an", U"the"};  // tried in this order
  std::u32string out;
  out.reserve(t.size());
  size_t i = 0;
  while (i < t.size()) {
    const bool start_boundary = i == 0 || !is_word_char(t[i - 1]);
    bool matched = false;
    if (start_boundary) {
      for (const auto& art : kArticles) {
        if (t.compare(i, art.size(), art) != 0) continue;
        const size_t end = i + art.size();
        if (end == t.size() || !is_word_char(t[end])) {
          out.push_back(U' ');
          i = end;
          matched = true;
          break;
        }
      }
    }
    if (!matched) out.push_back(t[i++]);
  }
  return out;
}

}  // namespace

std::vector<std::string> qa_tokens(std::string_view s, const QaOptions& opt) {
  // lower -> remove punctuation -> remove articles -> split (SQuAD's order).
  std::u32string text;
  for (char32_t cp : utf8_to_u32(to_lower(s))) {
    if (is_ascii_punct(cp)) continue;
    if (opt.cjk_aware && is_unicode_punct(cp)) continue;
    text.push_back(cp);
  }
  text = remove_articles(text);
  std::vector<std::string> tokens;
  std::string cur;
  for (char32_t cp : text) {
    if (is_python_space(cp)) {
      if (!cur.empty()) tokens.push_back(std::move(cur)), cur.clear();
    } else if (opt.cjk_aware && is_cjk(cp)) {
      if (!cur.empty()) tokens.push_back(std::move(cur)), cur.clear();
      std::string t;
      append_utf8(t, cp);
      tokens.push_back(std::move(t));
    } else {
      append_utf8(cur, cp);
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

std::string normalize_answer(std::string_view s, const QaOptions& opt) {
  std::string out;
  for (const auto& t : qa_tokens(s, opt)) {
    if (!out.empty()) out.push_back(' ');
    out += t;
  }
  return out;
}

double exact_match(std::string_view prediction, std::string_view truth, const QaOptions& opt) {
  return qa_tokens(prediction, opt) == qa_tokens(truth, opt) ? 1.0 : 0.0;
}

double token_f1(std::string_view prediction, std::string_view truth, const QaOptions& opt) {
  const auto p = qa_tokens(prediction, opt);
  const auto t = qa_tokens(truth, opt);
  std::unordered_map<std::string, int64_t> truth_counts;
  for (const auto& tok : t) ++truth_counts[tok];
  int64_t same = 0;
  for (const auto& tok : p) {
    auto it = truth_counts.find(tok);
    if (it != truth_counts.end() && it->second > 0) {
      ++same;
      --it->second;
    }
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(p.size());
  const double recall = static_cast<double>(same) / static_cast<double>(t.size());
  return 2 * precision * recall / (precision + recall);
}

QaScore qa_score(std::string_view prediction, const std::vector<std::string>& truths, const QaOptions& opt) {
  QaScore s;
  for (const auto& t : truths) {
    s.exact_match = std::max(s.exact_match, exact_match(prediction, t, opt));
    s.f1 = std::max(s.f1, token_f1(prediction, t, opt));
  }
  return s;
}

namespace {
bool ascii_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// `fact` occurs in `text` without running into a longer word or number: where the fact
// starts (ends) with a Latin letter or digit, the text must not continue with one.
bool contains_whole(std::string_view text, std::string_view fact) {
  for (size_t at = text.find(fact); at != std::string_view::npos; at = text.find(fact, at + 1)) {
    const size_t end = at + fact.size();
    const bool left_ok = at == 0 || !ascii_alnum(fact.front()) || !ascii_alnum(text[at - 1]);
    const bool right_ok = end == text.size() || !ascii_alnum(fact.back()) || !ascii_alnum(text[end]);
    if (left_ok && right_ok) return true;
  }
  return false;
}
}  // namespace

double facts_match(std::string_view prediction, const std::vector<std::string>& facts, const QaOptions& opt) {
  const std::string pred = normalize_answer(prediction, opt);
  for (const auto& f : facts) {
    const std::string fact = normalize_answer(f, opt);
    if (fact.empty() || !contains_whole(pred, fact)) return 0;
  }
  return facts.empty() ? 0 : 1;
}

}  // namespace chatforge::eval
