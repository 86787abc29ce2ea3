// Unicode helpers shared by the text metrics: UTF-8 <-> code points, Python's notion of
// whitespace (str.split() with no argument), lowercasing and CJK classification.
// Invalid UTF-8 bytes decode to U+FFFD, one per byte, so no input can crash a metric.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::eval {

std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t cp);

// True for the code points Python's str.isspace() accepts (what str.split() splits on):
// \t\n\v\f\r, U+001C..U+001F, space, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000.
bool is_python_space(char32_t cp);

// Python's `s.split()`: split on runs of Unicode whitespace, drop empty pieces.
// split_whitespace(" a\u3000b  c ") -> {"a", "b", "c"}
std::vector<std::string> split_whitespace(std::string_view s);

// Python's `s.rstrip()` / `s.strip()` with no argument (Unicode whitespace).
std::string rstrip_space(std::string_view s);
std::string strip_space(std::string_view s);

// Per-code-point simple lowercase mapping (utf8proc). Python's str.lower() differs only
// for the few characters with multi-code-point full mappings (U+0130 'İ').
std::string to_lower(std::string_view s);

// Han ideographs, CJK punctuation, kana, Hangul, fullwidth forms: the characters our
// CJK-aware ROUGE and QA tokenisers treat as one token each (they carry a word-like unit
// of meaning each and are written without spaces).
bool is_cjk(char32_t cp);

// Unicode general category P* (punctuation).
bool is_unicode_punct(char32_t cp);

// Letters, numbers or '_': Python's \w for the `re` module on str.
bool is_word_char(char32_t cp);

}  // namespace chatforge::eval
