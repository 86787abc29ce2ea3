// Implementation of normalize.h.
#include "data/normalize.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"
#include "data/text_util.h"

namespace chatforge::data {

NormalForm parse_normal_form(const std::string& name) {
  if (name == "none") return NormalForm::kNone;
  if (name == "nfc" || name == "NFC") return NormalForm::kNfc;
  if (name == "nfkc" || name == "NFKC") return NormalForm::kNfkc;
  usage_fail("unknown normal form '{}' (use nfc, nfkc or none)", name);
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid.
static size_t valid_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  int32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<uint8_t>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = valid_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

size_t repair_utf8(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  size_t bad = 0;
  for (size_t i = 0; i < in.size();) {
    if (static_cast<uint8_t>(in[i]) < 0x80) {
      out += in[i++];
      continue;
    }
    const size_t n = valid_sequence_length(in, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++bad;
      ++i;
      // A broken multi-byte sequence counts once: skip its continuation bytes.
      while (i < in.size() && (static_cast<uint8_t>(in[i]) & 0xC0) == 0x80) ++i;
    } else {
      out.append(in.data() + i, n);
      i += n;
    }
  }
  return bad;
}

std::string fix_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t newlines = 0;       // pending newlines not yet emitted
  bool line_has_text = false;
  bool pending_space = false;  // a blank run inside a line, emitted before the next text
  std::string indent;          // leading blanks of the current line, kept if text follows
  auto emit_text = [&](std::string_view piece) {
    if (!out.empty() && newlines > 0) out.append(newlines >= 2 ? 2 : 1, '\n');
    newlines = 0;
    if (!line_has_text) {
      if (!out.empty()) out += indent;  // the first line is trimmed
      indent.clear();
    } else if (pending_space) {
      out += ' ';
    }
    pending_space = false;
    line_has_text = true;
    out.append(piece);
  };
  auto blank = [&](char c) {
    if (line_has_text)
      pending_space = true;
    else
      indent += c;
  };
  auto newline = [&]() {
    ++newlines;
    line_has_text = false;
    pending_space = false;
    indent.clear();
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if (c == '\n') {
        newline();
        ++i;
      } else if (c == '\r') {
        newline();
        ++i;
        if (i < s.size() && s[i] == '\n') ++i;
      } else if (c == ' ' || c == '\t') {
        blank(static_cast<char>(c));
        ++i;
      } else if (c < 0x20 || c == 0x7F) {
        ++i;  // control character: removed
      } else {
        size_t j = i + 1;
        while (j < s.size() && static_cast<uint8_t>(s[j]) > 0x20 && static_cast<uint8_t>(s[j]) < 0x7F) ++j;
        emit_text(s.substr(i, j - i));
        i = j;
      }
      continue;
    }
    const size_t at = i;
    const int32_t cp = decode_utf8(s, i);
    if ((cp >= 0x80 && cp < 0xA0) || cp == 0x200B || cp == 0xFEFF) continue;  // C1 control, ZWSP, BOM
    if (cp == 0x2028 || cp == 0x2029) {
      newline();
      continue;
    }
    if (cp != 0x3000 && cp >= 0xA0 && is_space_char(cp)) {
      blank(' ');
      continue;
    }
    emit_text(s.substr(at, i - at));
  }
  return out;
}

// True when no code point of s can change under the normal form.
static bool normalization_inert(std::string_view s, NormalForm form) {
  const int32_t latin_limit = form == NormalForm::kNfc ? 0x300 : 0xA0;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int32_t cp = decode_utf8(s, i);
    if (cp < latin_limit) continue;
    if (cp >= 0x4E00 && cp <= 0x9FFF) continue;  // CJK unified ideographs: no decompositions
    if (cp == 0x3001 || cp == 0x3002 || (cp >= 0x300A && cp <= 0x3011) || cp == 0x201C || cp == 0x201D ||
        cp == 0x2018 || cp == 0x2019 || cp == 0x2014)
      continue;  // common CJK and typographic punctuation: stable under NFC and NFKC
    if (form == NormalForm::kNfc &&
        ((cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x3000 && cp <= 0x3029) || (cp >= 0x3030 && cp <= 0x3098) ||
         (cp >= 0x309B && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7A3)))
      continue;  // full-width forms, CJK punctuation, kana, Hangul syllables: NFC-stable, never combining
    return false;
  }
  return true;
}

std::string unicode_normalize(std::string_view s, NormalForm form) {
  if (form == NormalForm::kNone || normalization_inert(s, form)) return std::string(s);
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (form == NormalForm::kNfkc) options |= UTF8PROC_COMPAT;
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &dst,
                                          static_cast<utf8proc_option_t>(options));
  CF_CHECK(n >= 0, "unicode normalisation failed: {}", utf8proc_errmsg(n));
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
  return out;
}

NormalizeResult normalize_text(std::string_view raw, NormalForm form) {
  NormalizeResult r;
  std::string repaired;
  std::string_view valid = raw;
  if (!is_valid_utf8(raw)) {
    r.invalid_utf8 = repair_utf8(raw, repaired);
    valid = repaired;
  }
  r.text = fix_whitespace(unicode_normalize(valid, form));
  return r;
}

}  // namespace chatforge::data
