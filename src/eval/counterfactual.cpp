// Counterfactual term swaps and per-pair output changes (see counterfactual.h).
#include "eval/counterfactual.h"

#include <utf8proc.h>

#include <algorithm>

#include "core/error.h"
#include "eval/qa_metrics.h"
#include "eval/text_files.h"
#include "eval/text_util.h"

namespace chatforge::eval {
namespace {

char32_t lower_cp(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }
char32_t upper_cp(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))); }
bool is_upper(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_LU; }

struct Candidate {
  std::u32string from_lower;
  std::u32string to;
  size_t pair;
  bool whole_word;  // no CJK inside: must not touch word characters on either side
};

// The replacement with the capitalisation of the matched text: "HE" -> "SHE", "He" -> "She".
std::u32string match_case(std::u32string_view matched, std::u32string to) {
  size_t letters = 0, uppers = 0;
  for (char32_t c : matched) {
    if (lower_cp(c) != upper_cp(c)) {
      ++letters;
      uppers += is_upper(c);
    }
  }
  if (letters >= 2 && uppers == letters) {
    for (auto& c : to) c = upper_cp(c);
  } else if (!matched.empty() && is_upper(matched[0]) && !to.empty()) {
    to[0] = upper_cp(to[0]);
  }
  return to;
}

}  // namespace

std::vector<TermPair> read_term_pairs(const std::string& path) {
  std::vector<TermPair> pairs;
  const auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = strip_space(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = lines[i].find('\t');
    CF_CHECK(tab != std::string::npos, "{}:{}: expected two tab-separated terms", path, i + 1);
    TermPair p{strip_space(lines[i].substr(0, tab)), strip_space(lines[i].substr(tab + 1))};
    CF_CHECK(!p.a.empty() && !p.b.empty() && p.b.find('\t') == std::string::npos,
             "{}:{}: expected exactly two non-empty tab-separated terms", path, i + 1);
    CF_CHECK(to_lower(p.a) != to_lower(p.b), "{}:{}: the two terms are the same", path, i + 1);
    pairs.push_back(std::move(p));
  }
  CF_CHECK(!pairs.empty(), "{}: no term pairs", path);
  return pairs;
}

SwapResult swap_terms(std::string_view text, const std::vector<TermPair>& pairs) {
  std::vector<Candidate> cands;
  for (size_t k = 0; k < pairs.size(); ++k) {
    for (int dir = 0; dir < 2; ++dir) {
      const std::u32string from = utf8_to_u32(dir == 0 ? pairs[k].a : pairs[k].b);
      const std::u32string to = utf8_to_u32(dir == 0 ? pairs[k].b : pairs[k].a);
      Candidate c{{}, to, k, true};
      for (char32_t ch : from) {
        c.from_lower.push_back(lower_cp(ch));
        if (is_cjk(ch)) c.whole_word = false;
      }
      if (!c.from_lower.empty()) cands.push_back(std::move(c));
    }
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Candidate& x, const Candidate& y) { return x.from_lower.size() > y.from_lower.size(); });

  const std::u32string t = utf8_to_u32(text);
  SwapResult out;
  std::u32string result;
  size_t i = 0;
  while (i < t.size()) {
    const Candidate* hit = nullptr;
    for (const auto& c : cands) {
      const size_t n = c.from_lower.size();
      if (i + n > t.size()) continue;
      bool eq = true;
      for (size_t j = 0; j < n && eq; ++j) eq = lower_cp(t[i + j]) == c.from_lower[j];
      if (!eq) continue;
      if (c.whole_word) {
        if (i > 0 && is_word_char(t[i - 1]) && is_word_char(t[i])) continue;
        if (i + n < t.size() && is_word_char(t[i + n]) && is_word_char(t[i + n - 1])) continue;
      }
      hit = &c;
      break;
    }
    if (!hit) {
      result.push_back(t[i++]);
      continue;
    }
    const size_t n = hit->from_lower.size();
    result += match_case(std::u32string_view(t).substr(i, n), hit->to);
    if (std::find(out.pairs_used.begin(), out.pairs_used.end(), hit->pair) == out.pairs_used.end()) {
      out.pairs_used.push_back(hit->pair);
    }
    ++out.swaps;
    i += n;
  }
  out.text = u32_to_utf8(result);
  return out;
}

std::vector<PairChange> counterfactual_changes(const std::vector<CounterfactualItem>& items,
                                               const std::vector<TermPair>& pairs, const BootstrapOptions& opt) {
  // Per probe: output similarity after swapping the swapped output back.
  std::vector<double> f1(items.size()), changed(items.size());
  std::vector<std::vector<size_t>> members(pairs.size() + 1);  // [0] = all
  for (size_t i = 0; i < items.size(); ++i) {
    const auto used = swap_terms(items[i].prompt, pairs).pairs_used;
    if (used.empty()) continue;
    const std::string back = swap_terms(items[i].output_swapped, pairs).text;
    const bool same = exact_match(items[i].output_original, back) == 1.0;
    f1[i] = same ? 1.0 : token_f1(items[i].output_original, back);
    changed[i] = same ? 0.0 : 1.0;
    members[0].push_back(i);
    for (size_t k : used) members[k + 1].push_back(i);
  }
  CF_CHECK(!members[0].empty(), "no prompt contains any of the {} term pairs", pairs.size());

  std::vector<PairChange> out;
  for (size_t k = 0; k < members.size(); ++k) {
    const auto& idx = members[k];
    if (idx.empty()) continue;
    PairChange pc;
    pc.pair = k == 0 ? "all" : pairs[k - 1].a + "/" + pairs[k - 1].b;
    pc.items = idx.size();
    auto mean_of = [](const std::vector<double>& v) {
      return [&v](std::span<const size_t> s) {
        double sum = 0;
        for (size_t i : s) sum += v[i];
        return sum / static_cast<double>(s.size());
      };
    };
    pc.mean_output_f1 = mean_of(f1)(idx);
    pc.changed_rate = mean_of(changed)(idx);
    pc.output_f1_ci = bootstrap_ci(idx, mean_of(f1), opt);
    bool have_ll = true;
    std::vector<double> orig, swapped;
    for (size_t i : idx) {
      have_ll &= items[i].loglik_original.has_value() && items[i].loglik_swapped.has_value();
      if (!have_ll) break;
      orig.push_back(*items[i].loglik_original);
      swapped.push_back(*items[i].loglik_swapped);
    }
    if (have_ll) {
      const PairedDiff d = bootstrap_paired_diff(swapped, orig, opt);
      pc.mean_loglik_diff = d.mean_diff;
      pc.loglik_diff_ci = d.ci;
    }
    out.push_back(std::move(pc));
  }
  return out;
}

}  // namespace chatforge::eval
