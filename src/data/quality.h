// Quality filters (Gopher-style, Rae et al. 2021) on normalised text. Measures count
// code points, not bytes, and treat each CJK character as a word, so Chinese text is
// judged by the same thresholds as English. A verdict names the first failing rule.
#pragma once
#include <string>
#include <string_view>

namespace chatforge::data {

struct QualityOptions {
  size_t min_chars = 32;            // code points
  size_t max_chars = 1000000;
  size_t min_words = 5;             // words (a CJK character is one word)
  double max_symbol_ratio = 0.20;   // symbols / non-space characters
  double max_digit_ratio = 0.30;    // digits / non-space characters
  double min_mean_word_len = 2.0;   // spaced-script words only (code points)
  double max_mean_word_len = 12.0;
  double max_dup_line_frac = 0.30;       // duplicated lines / non-empty lines
  double max_dup_line_char_frac = 0.20;  // characters in duplicated lines / all
  double max_top_ngram_frac = 0.20;  // 2-gram; 3- and 4-grams get 0.02 and 0.04 less (Gopher)
  double max_dup_ngram_frac = 0.15;  // 5-gram; 6..10-grams get 0.01 less per step (Gopher)
  bool enabled = true;
};

struct QualityMetrics {
  size_t chars = 0, non_space = 0, words = 0, spaced_words = 0;
  double symbol_ratio = 0, digit_ratio = 0, mean_word_len = 0;
  double dup_line_frac = 0, dup_line_char_frac = 0;
  double top_ngram_frac[5] = {0, 0, 0, 0, 0};   // index n for n = 2..4
  double dup_ngram_frac[11] = {0};              // index n for n = 5..10
};

// With options, the 6..10-gram coverages are computed only when the 5-gram coverage
// exceeds the 10-gram limit (coverage shrinks as n grows, so they cannot fail otherwise;
// they are left 0 then).
QualityMetrics measure_quality(std::string_view text, const QualityOptions* o = nullptr);

struct QualityVerdict {
  std::string reason;  // empty: passes. too_short, too_long, too_few_words, symbol_ratio,
                       // digit_ratio, mean_word_length, repeated_lines, repeated_ngrams
  std::string detail;  // e.g. "dup 5-gram fraction 0.41 > 0.15"
  explicit operator bool() const { return reason.empty(); }
};

QualityVerdict judge_quality(const QualityMetrics& m, const QualityOptions& o);

}  // namespace chatforge::data
