// Character classes of text_util.h, on utf8proc's Unicode categories (ASCII fast paths).
#include "data/text_util.h"

#include <utf8proc.h>

namespace chatforge::data {

bool is_word_char(int32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_digit_char(int32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return utf8proc_category(cp) == UTF8PROC_CATEGORY_ND;
}

bool is_symbol_char(int32_t cp) {
  if (cp < 0x80) {
    switch (cp) {
      case '#': case '$': case '%': case '&': case '*': case '+': case '/': case '<': case '=': case '>': case '@':
      case '[': case '\\': case ']': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
      default:
        return false;
    }
  }
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
      return true;
    default:
      return false;
  }
}

bool is_space_char(int32_t cp) {
  if (cp < 0x80) return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f';
  return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

}  // namespace chatforge::data
