// Implementation of quality.h. N-gram measures follow Gopher: the top 2..4-gram's share of
// word characters, and the share of word characters inside any repeated 5..10-gram.
#include "data/quality.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "data/text_util.h"

namespace chatforge::data {

namespace {
// Open-addressing counter of 64-bit keys (much faster than unordered_map here).
class FlatCounter {
 public:
  void reset(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, 0);
    counts_.assign(cap, 0);
    mask_ = cap - 1;
  }
  // Counts key; returns its slot (stable until the next reset).
  uint32_t add(uint64_t k) {
    k |= 1;  // 0 marks an empty slot
    size_t i = k & mask_;
    while (keys_[i] != 0 && keys_[i] != k) i = (i + 1) & mask_;
    keys_[i] = k;
    ++counts_[i];
    return static_cast<uint32_t>(i);
  }
  uint32_t count(uint32_t slot) const { return counts_[slot]; }

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_;
  size_t mask_ = 0;
};
}  // namespace

QualityMetrics measure_quality(std::string_view text, const QualityOptions* o) {
  QualityMetrics m;
  size_t symbols = 0, digits = 0;
  for (size_t i = 0; i < text.size();) {
    const int32_t cp = decode_utf8(text, i);
    ++m.chars;
    if (is_cjk(cp)) {
      ++m.non_space;
      continue;
    }
    if (is_space_char(cp)) continue;
    ++m.non_space;
    if (is_digit_char(cp))
      ++digits;
    else if (is_symbol_char(cp))
      ++symbols;
  }
  if (m.non_space > 0) {
    m.symbol_ratio = double(symbols) / double(m.non_space);
    m.digit_ratio = double(digits) / double(m.non_space);
  }

  // Words: hashes and lengths (code points).
  std::vector<uint64_t> word_hash;
  std::vector<uint32_t> word_len;
  size_t spaced_chars = 0;
  for_each_word(text, [&](std::string_view w, bool cjk) {
    word_hash.push_back(hash64(w, 0x5157));
    const size_t len = cjk ? 1 : count_codepoints(w);
    word_len.push_back(static_cast<uint32_t>(len));
    if (!cjk) {
      ++m.spaced_words;
      spaced_chars += len;
    }
  });
  m.words = word_hash.size();
  if (m.spaced_words > 0) m.mean_word_len = double(spaced_chars) / double(m.spaced_words);

  // Repeated lines.
  {
    std::unordered_set<uint64_t> seen;
    size_t lines = 0, dup_lines = 0, dup_chars = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      if (!line.empty()) {
        ++lines;
        if (!seen.insert(hash64(line, 0x11)).second) {
          ++dup_lines;
          dup_chars += count_codepoints(line);
        }
      }
      start = end + 1;
    }
    if (lines > 0) m.dup_line_frac = double(dup_lines) / double(lines);
    if (m.chars > 0) m.dup_line_char_frac = double(dup_chars) / double(m.chars);
  }

  // N-grams over words. gram[i] is rolled forward: after step n it hashes words i..i+n-1.
  size_t total_word_chars = 0;
  for (auto l : word_len) total_word_chars += l;
  if (total_word_chars == 0) return m;
  const size_t nw = word_hash.size();
  std::vector<uint64_t> gram(word_hash);
  std::vector<uint32_t> slot(nw);
  std::vector<uint8_t> in_dup(nw);
  FlatCounter counts;
  for (int n = 2; n <= 10; ++n) {
    if (nw < static_cast<size_t>(n)) break;
    if (n == 6 && o != nullptr && m.dup_ngram_frac[5] <= o->max_dup_ngram_frac - 0.05) break;
    const size_t ng = nw - n + 1;
    counts.reset(ng);
    for (size_t i = 0; i < ng; ++i) {
      gram[i] = mix64(gram[i] ^ (word_hash[i + n - 1] + static_cast<uint64_t>(n)));
      slot[i] = counts.add(gram[i]);
    }
    if (n <= 4) {
      // Share of word characters inside the most frequent n-gram's occurrences.
      uint32_t best_slot = 0, best_count = 0;
      for (size_t i = 0; i < ng; ++i) {
        const uint32_t c = counts.count(slot[i]);
        if (c > best_count) {
          best_count = c;
          best_slot = slot[i];
        }
      }
      if (best_count > 1) {
        size_t covered = 0;
        for (size_t i = 0; i < ng; ++i) {
          if (slot[i] != best_slot) continue;
          for (int k = 0; k < n; ++k) covered += word_len[i + k];
        }
        m.top_ngram_frac[n] = std::min(1.0, double(covered) / double(total_word_chars));
      }
    } else {
      std::fill(in_dup.begin(), in_dup.end(), 0);
      for (size_t i = 0; i < ng; ++i)
        if (counts.count(slot[i]) > 1)
          for (int k = 0; k < n; ++k) in_dup[i + k] = 1;
      size_t covered = 0;
      for (size_t i = 0; i < nw; ++i)
        if (in_dup[i]) covered += word_len[i];
      m.dup_ngram_frac[n] = double(covered) / double(total_word_chars);
    }
  }
  return m;
}

QualityVerdict judge_quality(const QualityMetrics& m, const QualityOptions& o) {
  QualityVerdict v;
  if (!o.enabled) return v;
  auto set = [&](const char* reason, std::string detail) {
    v.reason = reason;
    v.detail = std::move(detail);
    return v;
  };
  if (m.chars < o.min_chars) return set("too_short", fmt::format("{} chars < {}", m.chars, o.min_chars));
  if (m.chars > o.max_chars) return set("too_long", fmt::format("{} chars > {}", m.chars, o.max_chars));
  if (m.words < o.min_words) return set("too_few_words", fmt::format("{} words < {}", m.words, o.min_words));
  if (m.symbol_ratio > o.max_symbol_ratio)
    return set("symbol_ratio", fmt::format("symbol ratio {:.3f} > {}", m.symbol_ratio, o.max_symbol_ratio));
  if (m.digit_ratio > o.max_digit_ratio)
    return set("digit_ratio", fmt::format("digit ratio {:.3f} > {}", m.digit_ratio, o.max_digit_ratio));
  // Mean word length only means something when most words are space-separated.
  if (m.spaced_words >= 5 && m.spaced_words * 2 >= m.words &&
      (m.mean_word_len < o.min_mean_word_len || m.mean_word_len > o.max_mean_word_len))
    return set("mean_word_length", fmt::format("mean word length {:.2f} outside [{}, {}]", m.mean_word_len,
                                               o.min_mean_word_len, o.max_mean_word_len));
  if (m.dup_line_frac > o.max_dup_line_frac)
    return set("repeated_lines", fmt::format("duplicate line fraction {:.3f} > {}", m.dup_line_frac, o.max_dup_line_frac));
  if (m.dup_line_char_frac > o.max_dup_line_char_frac)
    return set("repeated_lines",
               fmt::format("characters in duplicate lines {:.3f} > {}", m.dup_line_char_frac, o.max_dup_line_char_frac));
  for (int n = 2; n <= 4; ++n) {
    const double limit = o.max_top_ngram_frac - 0.02 * (n - 2);
    if (m.top_ngram_frac[n] > limit)
      return set("repeated_ngrams", fmt::format("top {}-gram fraction {:.3f} > {:.2f}", n, m.top_ngram_frac[n], limit));
  }
  for (int n = 5; n <= 10; ++n) {
    const double limit = o.max_dup_ngram_frac - 0.01 * (n - 5);
    if (m.dup_ngram_frac[n] > limit)
      return set("repeated_ngrams",
                 fmt::format("duplicate {}-gram fraction {:.3f} > {:.2f}", n, m.dup_ngram_frac[n], limit));
  }
  return v;
}

}  // namespace chatforge::data
