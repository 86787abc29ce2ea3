// GPT-2's byte-to-unicode mapping: every byte 0..255 maps to one printable code point so
// byte strings can be written as JSON text (vocab.json, tokenizer.json, merges).
// Example: byte 0x20 (space) <-> "Ġ" (U+0120), byte 'a' <-> "a".
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace chatforge::tok {

// UTF-8 spelling of the code point that stands for `byte`.
const std::string& byte_to_unicode(uint8_t byte);

// "Ġhello" -> " hello". nullopt when a character is not in the mapping.
std::optional<std::string> unicode_to_bytes(std::string_view text);

// " hello" -> "Ġhello".
std::string bytes_to_unicode(std::string_view bytes);

}  // namespace chatforge::tok
