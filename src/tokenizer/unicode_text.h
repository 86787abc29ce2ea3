// UTF-8 decoding and the character classes the pre-tokenizers need (letter, number,
// whitespace, other). Invalid UTF-8 never throws: each byte that does not start a valid
// sequence decodes alone as kInvalid (class kOther), so every byte string is accepted.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace chatforge::tok {

enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

inline constexpr int32_t kInvalidCodepoint = -1;

struct DecodedChar {
  int32_t cp;   // code point, or kInvalidCodepoint for an invalid byte
  int32_t len;  // bytes consumed (1..4)
};

// Decodes the character at s[i] (i < s.size()). Strict UTF-8: overlong forms, surrogates
// and values above U+10FFFF are invalid; an invalid or truncated sequence yields
// {kInvalidCodepoint, 1}.
DecodedChar decode_utf8(std::string_view s, size_t i);

// \p{L}, \p{N}, \s (the Unicode White_Space property, as Rust's regex crate defines \s).
CharClass char_class(int32_t cp);

// Length of the longest prefix of `s` that is complete, valid UTF-8 up to a trailing
// incomplete sequence: bytes after it might still be completed by more input.
// Example: "a\xE4\xB8" -> 1 (the last two bytes start a 3-byte character).
size_t complete_utf8_prefix(std::string_view s);

bool is_valid_utf8(std::string_view s);

// Appends code point `cp` (< 0x110000) to `out` as UTF-8 (1 to 4 bytes).
void append_utf8(std::string& out, uint32_t cp);

}  // namespace chatforge::tok
