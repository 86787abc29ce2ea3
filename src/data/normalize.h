// Text normalisation for cleaning: repair invalid UTF-8, Unicode NFC/NFKC (utf8proc),
// strip control and invisible format characters, and fix whitespace, so that equal texts
// compare equal and well-formed text passes through byte-identical.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace chatforge::data {

enum class NormalForm { kNone, kNfc, kNfkc };
NormalForm parse_normal_form(const std::string& name);  // "none" | "nfc" | "nfkc"

// Replaces every invalid UTF-8 sequence (bad lead byte, truncated or overlong sequence,
// surrogate, > U+10FFFF) with U+FFFD. Returns how many were replaced.
// repair_utf8("a\xFFb", out) -> 1, out == "a\uFFFDb"
size_t repair_utf8(std::string_view in, std::string& out);
bool is_valid_utf8(std::string_view s);

// Whitespace and control fixes on valid UTF-8:
//  - \r\n and lone \r become \n; other C0/C1 controls (not \n, \t) are removed, as are
//    U+200B zero-width space and U+FEFF byte-order marks;
//  - no-break and other Unicode spaces (Zs, except U+3000 ideographic space) become ' ';
//  - inside a line, runs of spaces/tabs after the first non-blank become one space
//    (leading indentation is kept); trailing blanks on a line are removed;
//  - more than one blank line in a row becomes one; the text is trimmed at both ends.
std::string fix_whitespace(std::string_view s);

// Unicode normal form (valid UTF-8 in). Text made only of code points that no
// normalisation changes (ASCII, common Han) is returned as is without calling utf8proc.
std::string unicode_normalize(std::string_view s, NormalForm form);

// The whole normalisation: repair (counting), normal form, whitespace.
struct NormalizeResult {
  std::string text;
  size_t invalid_utf8 = 0;  // sequences replaced by U+FFFD
};
NormalizeResult normalize_text(std::string_view raw, NormalForm form);

}  // namespace chatforge::data
