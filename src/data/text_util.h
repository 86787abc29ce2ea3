// Small text primitives shared by the cleaning stages: UTF-8 decoding, character classes
// that make sense for both Latin and CJK text (a CJK character counts as one word), and a
// fast seeded 64-bit hash. Pure functions, no state.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tokenizer/unicode_text.h"

namespace chatforge::data {

// Decodes one code point at s[i] (valid UTF-8 assumed) and advances i.
// decode_utf8("é", i=0) -> 0xE9, i=2
inline int32_t decode_utf8(std::string_view s, size_t& i) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  int32_t cp = c & (0x3F >> n);
  ++i;
  for (; n > 0 && i < s.size(); --n, ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[i]) & 0x3F);
  return cp;
}

inline void append_utf8(std::string& out, int32_t cp) { tok::append_utf8(out, static_cast<uint32_t>(cp)); }

// Han ideographs, kana, Hangul, CJK compatibility ideographs: scripts written without
// spaces, where each character is a unit of meaning ("word") for our measures.
inline bool is_cjk(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x3040 && cp <= 0x30FF) ||
         (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3134F) ||
         (cp >= 0x31F0 && cp <= 0x31FF) || (cp >= 0x1100 && cp <= 0x11FF);
}

// Letters, marks and digits of space-separated scripts (and '_'): the inside of a word.
bool is_word_char(int32_t cp);
bool is_digit_char(int32_t cp);   // Unicode Nd
bool is_symbol_char(int32_t cp);  // Unicode S* and the ASCII non-prose punctuation #$%&*+/<=>@[\]^_`{|}~
bool is_space_char(int32_t cp);   // Unicode Zs and ASCII whitespace

// Seeded 64-bit hash (8 bytes at a time, murmur-style finaliser). Deterministic across
// runs and machines of the same endianness; not cryptographic.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
inline uint64_t hash64(std::string_view s, uint64_t seed = 0) {
  uint64_t h = seed ^ (s.size() * 0x9E3779B97F4A7C15ULL);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ mix64(w)) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ mix64(tail ^ 0xA5A5A5A5ULL)) * 0x9E3779B97F4A7C15ULL;
  return mix64(h);
}

// Number of code points in valid UTF-8.
inline size_t count_codepoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

// Visits the "words" of a text: maximal runs of word characters of spaced scripts, and
// each CJK character on its own. fn(std::string_view word, bool cjk).
// for_each_word("Hi 你好!", f) -> f("Hi",false), f("你",true), f("好",true)
template <typename Fn>
void for_each_word(std::string_view s, Fn&& fn) {
  size_t i = 0, start = 0;
  bool in_word = false;
  while (i < s.size()) {
    const size_t at = i;
    const int32_t cp = decode_utf8(s, i);
    if (is_cjk(cp)) {
      if (in_word) fn(s.substr(start, at - start), false);
      in_word = false;
      fn(s.substr(at, i - at), true);
    } else if (is_word_char(cp)) {
      if (!in_word) start = at;
      in_word = true;
    } else {
      if (in_word) fn(s.substr(start, at - start), false);
      in_word = false;
    }
  }
  if (in_word) fn(s.substr(start), false);
}

}  // namespace chatforge::data
