// Python's str semantics on UTF-8 text, as the Jinja templates of Hugging Face models see
// them through Python: lengths, indexes and slices count code points; strip/split use
// Python's whitespace set (str.isspace, which includes U+3000 and U+00A0 but not U+FEFF);
// repr() quotes like Python; floats print as repr(float). Invalid UTF-8 never throws: a
// byte that starts no valid sequence is one character of its own.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::tok::jinja::py {

// Byte offset of each character's start, then s.size(): "aé" -> {0, 1, 3}.
std::vector<size_t> char_offsets(std::string_view s);
size_t char_count(std::string_view s);
std::string encode_utf8(uint32_t cp);

// Python's str.isspace() for one code point.
bool is_space(uint32_t cp);

// str.strip / lstrip / rstrip; chars unset = whitespace, else the set of characters in it.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);

// str.split(sep, maxsplit) / str.rsplit: sep unset splits on whitespace runs and drops
// empty parts ("a  b ".split() -> ["a", "b"]); maxsplit < 0 means no limit. An empty sep
// is the caller's error to report (Python raises ValueError).
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);

// str.replace(old, new, count): count < 0 replaces all; an empty `old` inserts `repl`
// between characters as Python does ("ab".replace("", "-") -> "-a-b-").
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);

// str.count(sub) (non-overlapping, an empty sub counts len+1 positions).
int64_t count(std::string_view s, std::string_view sub);

// Case mappings per code point (Unicode simple mappings).
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize: first upper, rest lower
std::string title_method(std::string_view s);  // str.title: letters after a non-letter upper

// repr(str): 'text' or "text" (when it holds ' but no "), with \\ \n \r \t and \xNN/\uNNNN
// escapes for unprintable characters.
std::string repr(std::string_view s);

// repr(float): shortest round-trip digits, "1.0", "0.1", "1e+16", "1e-05", "inf", "nan".
std::string float_repr(double d);

}  // namespace chatforge::tok::jinja::py
