// UTF-8 decoding and character classes; a table for the BMP (built once) keeps the
// pre-tokenizer's per-character lookup to one load, utf8proc answers the rest.
#include "tokenizer/unicode_text.h"

#include <utf8proc.h>

#include <array>
#include <memory>

namespace chatforge::tok {
namespace {

bool is_white_space(int32_t cp) {
  // Unicode White_Space property (what \s means in Rust's regex crate and in tiktoken).
  if (cp >= 0x09 && cp <= 0x0D) return true;
  switch (cp) {
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

CharClass classify_uncached(int32_t cp) {
  if (is_white_space(cp)) return CharClass::kSpace;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    default:
      return CharClass::kOther;
  }
}

const std::array<CharClass, 0x10000>& bmp_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<CharClass, 0x10000>>();
    for (int32_t cp = 0; cp < 0x10000; ++cp) (*t)[cp] = classify_uncached(cp);
    return t;
  }();
  return *table;
}

}  // namespace

DecodedChar decode_utf8(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[i];
  if (b0 < 0x80) return {b0, 1};
  auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (cont(1)) return {((b0 & 0x1F) << 6) | (p[i + 1] & 0x3F), 2};
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (cont(1) && cont(2)) {
      const int32_t cp = ((b0 & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
      if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (cont(1) && cont(2) && cont(3)) {
      const int32_t cp = ((b0 & 0x07) << 18) | ((p[i + 1] & 0x3F) << 12) |
                         ((p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
      if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
    }
  }
  return {kInvalidCodepoint, 1};
}

CharClass char_class(int32_t cp) {
  if (cp < 0) return CharClass::kOther;
  if (cp < 0x10000) return bmp_table()[cp];
  return classify_uncached(cp);
}

size_t complete_utf8_prefix(std::string_view s) {
  // Look back at most 3 bytes for the start of a sequence that is still incomplete.
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const uint8_t b = p[n - back];
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if (b >= 0xC2 && b <= 0xDF) need = 2;
    else if (b >= 0xE0 && b <= 0xEF) need = 3;
    else if (b >= 0xF0 && b <= 0xF4) need = 4;
    if (need > back) {
      // An incomplete sequence only if what we have so far could still become valid.
      bool plausible = true;
      if (back >= 2) {
        const uint8_t b1 = p[n - back + 1];
        if (b == 0xE0 && b1 < 0xA0) plausible = false;
        if (b == 0xED && b1 > 0x9F) plausible = false;
        if (b == 0xF0 && b1 < 0x90) plausible = false;
        if (b == 0xF4 && b1 > 0x8F) plausible = false;
      }
      if (plausible) return n - back;
    }
    return n;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const DecodedChar c = decode_utf8(s, i);
    if (c.cp == kInvalidCodepoint) return false;
    i += c.len;
  }
  return true;
}

}  // namespace chatforge::tok
