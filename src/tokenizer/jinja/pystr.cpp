// Python str semantics over UTF-8 (see pystr.h). Characters come from decode_utf8; an
// invalid byte is a character of its own and is copied through unchanged.
#include "tokenizer/jinja/pystr.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/unicode_text.h"

namespace chatforge::tok::jinja::py {
namespace {

struct Char {
  std::string_view bytes;
  int32_t cp;  // kInvalidCodepoint for a stray byte
};

std::vector<Char> chars_of(std::string_view s) {
  std::vector<Char> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const DecodedChar d = decode_utf8(s, i);
    out.push_back({s.substr(i, d.len), d.cp});
    i += d.len;
  }
  return out;
}

bool in_set(const Char& c, const std::optional<std::string>& chars) {
  if (!chars) return c.cp >= 0 && is_space(static_cast<uint32_t>(c.cp));
  for (const Char& x : chars_of(*chars))
    if (x.bytes == c.bytes) return true;
  return false;
}

template <class F>
std::string map_chars(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size());
  for (const Char& c : chars_of(s)) {
    if (c.cp < 0) out += c.bytes;
    else out += encode_utf8(static_cast<uint32_t>(f(c.cp)));
  }
  return out;
}

bool is_cased(int32_t cp) {
  const auto cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

bool is_printable(int32_t cp) {
  if (cp == ' ') return true;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

// Whitespace split (sep unset): runs of whitespace separate, empty parts dropped.
std::vector<std::string> py_split_whitespace(std::string_view s, int64_t maxsplit) {
  std::vector<std::string> out;
  const std::vector<Char> cs = chars_of(s);
  auto space = [&](size_t i) { return in_set(cs[i], std::nullopt); };
  size_t i = 0;
  while (i < cs.size()) {
    while (i < cs.size() && space(i)) ++i;
    if (i == cs.size()) break;
    const size_t begin = static_cast<size_t>(cs[i].bytes.data() - s.data());
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(strip(s.substr(begin), std::nullopt, false, true));
      return out;
    }
    while (i < cs.size() && !space(i)) ++i;
    const size_t end = i < cs.size() ? static_cast<size_t>(cs[i].bytes.data() - s.data()) : s.size();
    out.emplace_back(s.substr(begin, end - begin));
  }
  return out;
}

}  // namespace

std::vector<size_t> char_offsets(std::string_view s) {
  std::vector<size_t> out;
  out.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); i += decode_utf8(s, i).len) out.push_back(i);
  out.push_back(s.size());
  return out;
}

size_t char_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += decode_utf8(s, i).len) ++n;
  return n;
}

std::string encode_utf8(uint32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

bool is_space(uint32_t cp) {
  if ((cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20)) return true;
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<Char> cs = chars_of(s);
  size_t b = 0, e = cs.size();
  if (left)
    while (b < e && in_set(cs[b], chars)) ++b;
  if (right)
    while (e > b && in_set(cs[e - 1], chars)) --e;
  if (b == e) return "";
  const size_t begin = static_cast<size_t>(cs[b].bytes.data() - s.data());
  const size_t end = static_cast<size_t>(cs[e - 1].bytes.data() - s.data()) + cs[e - 1].bytes.size();
  return std::string(s.substr(begin, end - begin));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (!sep) return py_split_whitespace(s, maxsplit);
  std::vector<std::string> out;
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t hit = s.find(*sep, pos);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + sep->size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (maxsplit < 0) return split(s, sep, -1);
  std::vector<std::string> out;
  if (!sep) {
    // Split from the right on whitespace: the leftover head keeps its inner spacing.
    std::vector<std::string> all = py_split_whitespace(s, -1);
    if (static_cast<int64_t>(all.size()) <= maxsplit + 1) return all;
    std::string rest = strip(s, std::nullopt, false, true);
    for (int64_t k = 0; k < maxsplit; ++k) {
      const std::string& w = all[all.size() - 1 - k];
      rest = strip(std::string_view(rest).substr(0, rest.size() - w.size()), std::nullopt, false, true);
    }
    out.push_back(rest);
    out.insert(out.end(), all.end() - maxsplit, all.end());
    return out;
  }
  size_t end = s.size();
  std::vector<std::string> tail;
  while (static_cast<int64_t>(tail.size()) < maxsplit) {
    if (end < sep->size()) break;
    const size_t hit = s.rfind(*sep, end - sep->size());
    if (hit == std::string_view::npos) break;
    tail.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
    end = hit;
  }
  out.emplace_back(s.substr(0, end));
  out.insert(out.end(), tail.rbegin(), tail.rend());
  return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    for (const Char& c : chars_of(s)) {
      if (count < 0 || done < count) out += repl, ++done;
      out += c.bytes;
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t pos = 0;
  while (count < 0 || done < count) {
    const size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += repl;
    pos = hit + old.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(char_count(s)) + 1;
  int64_t n = 0;
  for (size_t pos = s.find(sub); pos != std::string_view::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

// Python uses Unicode's full case mappings; utf8proc has the simple ones. The two
// differences text meets in practice are handled here: ß -> SS and İ -> i̇.
std::string upper(std::string_view s) {
  return replace(map_chars(s, [](int32_t c) { return c == 0xDF ? c : utf8proc_toupper(c); }), "\u00df", "SS", -1);
}
std::string lower(std::string_view s) {
  return replace(map_chars(s, [](int32_t c) { return c == 0x130 ? c : utf8proc_tolower(c); }), "\u0130", "i\u0307", -1);
}

std::string capitalize(std::string_view s) {
  bool first = true;
  return map_chars(s, [&](int32_t c) {
    const int32_t r = first ? utf8proc_totitle(c) : utf8proc_tolower(c);
    first = false;
    return r;
  });
}

std::string title_method(std::string_view s) {
  bool prev_cased = false;
  return map_chars(s, [&](int32_t c) {
    const int32_t r = prev_cased ? utf8proc_tolower(c) : utf8proc_totitle(c);
    prev_cased = is_cased(c);
    return r;
  });
}

std::string repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const char quote = has_single && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (const Char& c : chars_of(s)) {
    const int32_t cp = c.cp;
    if (cp == quote || cp == '\\') out += '\\', out += static_cast<char>(cp);
    else if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (cp < 0) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c.bytes[0])), out += buf;
    else if (cp < 0x80 && cp >= 0x20 && cp != 0x7F) out += static_cast<char>(cp);
    else if (cp >= 0x80 && is_printable(cp)) out += c.bytes;
    else {
      std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x",
                    static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out + quote;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e+02"
  std::string sign;
  if (sci[0] == '-') sign = "-", sci.erase(0, 1);
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e + 1));
  if (exp >= 16 || exp < -4) {
    std::string m = digits.substr(0, 1);
    if (digits.size() > 1) m.append(".").append(digits, 1, std::string::npos);
    std::snprintf(buf, sizeof buf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return sign + m + buf;
  }
  if (exp < 0) return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  const size_t int_digits = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_digits) return sign + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

}  // namespace chatforge::tok::jinja::py
