// The lexer (lexer.h): a loop over "data, then the next tag", as jinja2's root rule, with
// the tag's inside cut into names, numbers, strings and operators. Brackets must balance
// before a tag may end (so `{{ {'a': {'b': 1}} }}` works).
#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "tokenizer/jinja/pystr.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok::jinja {
namespace {

// jinja2's tokeniter: every \r\n or \r becomes \n, then one trailing \n goes.
std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Length of a Python whitespace character at s[i] (0 when it is not one).
size_t space_at(std::string_view s, size_t i) {
  const DecodedChar d = decode_utf8(s, i);
  return d.cp >= 0 && py::is_space(static_cast<uint32_t>(d.cp)) ? static_cast<size_t>(d.len) : 0;
}

bool all_space(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = space_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return !s.empty();
}

// Digits with single underscores between them ((\d+_)*\d+); returns the end or `i`.
size_t scan_digits(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && is_digit(s[j])) {
    ++j;
    if (j + 1 < s.size() && s[j] == '_' && is_digit(s[j + 1])) ++j;
  }
  return j;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) root_step();
    push(TokType::kEof, "", src_.size());
    return std::move(out_);
  }

 private:
  std::string src_;
  std::vector<size_t> line_starts_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<char> brackets_;
  std::vector<Token> out_;

  Loc loc_at(size_t pos) const {
    const size_t line = static_cast<size_t>(
        std::upper_bound(line_starts_.begin(), line_starts_.end(), pos) - line_starts_.begin());
    const size_t start = line_starts_[line - 1];
    return {static_cast<int>(line), static_cast<int>(py::char_count(std::string_view(src_).substr(start, pos - start))) + 1};
  }

  Token& push(TokType type, std::string text, size_t pos) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.loc = loc_at(pos);
    out_.push_back(std::move(t));
    return out_.back();
  }

  bool at(size_t i, std::string_view s) const { return src_.compare(i, s.size(), s) == 0; }

  size_t skip_space(size_t i) const {
    while (i < src_.size()) {
      const size_t n = space_at(src_, i);
      if (n == 0) break;
      i += n;
    }
    return i;
  }

  // `{%(-|+|)\s*raw\s*(-%}\s*|%})` at `tag`: returns the end of that opener, or 0.
  size_t raw_opener_end(size_t tag) const {
    size_t i = tag + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    i = skip_space(i);
    if (!at(i, "raw")) return 0;
    i = skip_space(i + 3);
    if (at(i, "-%}")) return skip_space(i + 3);
    if (at(i, "%}")) return i + 2;
    return 0;
  }

  // The data before a tag, with the tag's whitespace control applied (lexer.h).
  void emit_data(size_t begin, size_t end, char sign, bool lstrip_allowed) {
    std::string text = src_.substr(begin, end - begin);
    if (sign == '-') {
      text = py::strip(text, std::nullopt, false, true);
    } else if (sign != '+' && lstrip_allowed) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_space(std::string_view(text).substr(l_pos))) text.resize(l_pos);
    }
    if (!text.empty()) push(TokType::kData, std::move(text), begin);
  }

  void root_step() {
    size_t tag = pos_;
    while (true) {
      tag = src_.find('{', tag);
      if (tag == std::string::npos || tag + 1 >= src_.size()) {
        push(TokType::kData, src_.substr(pos_), pos_);
        pos_ = src_.size();
        return;
      }
      const char k = src_[tag + 1];
      if (k == '{' || k == '%' || k == '#') break;
      ++tag;
    }
    const char kind = src_[tag + 1];
    const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
    emit_data(pos_, tag, sign, kind != '{');
    const size_t body = tag + 2 + (sign != 0 ? 1 : 0);
    if (kind == '#') return lex_comment(tag, body);
    if (kind == '%') {
      if (const size_t raw_end = raw_opener_end(tag)) return lex_raw(tag, raw_end);
    }
    lex_tag(kind == '%', tag, body);
  }

  void lex_comment(size_t tag, size_t body) {
    const size_t close = src_.find("#}", body);
    if (close == std::string::npos) fail_at(loc_at(tag), "missing end of comment tag '#}}'");
    size_t end = close + 2;
    const char before = close > body ? src_[close - 1] : 0;
    if (before == '-') end = skip_space(end);
    else if (before != '+' && end < src_.size() && src_[end] == '\n') ++end;
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
  }

  // Everything up to `{% endraw %}` is data (its own whitespace control applies).
  void lex_raw(size_t tag, size_t body) {
    line_starting_ = src_[body - 1] == '\n';
    for (size_t i = src_.find("{%", body); i != std::string::npos; i = src_.find("{%", i + 2)) {
      const char sign = i + 2 < src_.size() && (src_[i + 2] == '-' || src_[i + 2] == '+') ? src_[i + 2] : 0;
      size_t j = skip_space(i + 2 + (sign != 0 ? 1 : 0));
      if (!at(j, "endraw")) continue;
      j = skip_space(j + 6);
      size_t end;
      if (at(j, "+%}")) end = j + 3;
      else if (at(j, "-%}")) end = skip_space(j + 3);
      else if (at(j, "%}")) end = j + 2 + (at(j + 2, "\n") ? 1 : 0);
      else continue;
      emit_data(body, i, sign, true);
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    fail_at(loc_at(tag), "missing '{{% endraw %}}' for this '{{% raw %}}'");
  }

  // At pos_: the end of the current tag (only when brackets balance)? Consumes it.
  bool try_end(bool block) {
    if (!brackets_.empty()) return false;
    const char* close = block ? "%}" : "}}";
    size_t end;
    if (block && at(pos_, "+%}")) end = pos_ + 3;
    else if (at(pos_, std::string("-") + close)) end = skip_space(pos_ + 3);
    else if (at(pos_, close)) end = pos_ + 2 + (block && at(pos_ + 2, "\n") ? 1 : 0);
    else return false;
    push(block ? TokType::kBlockEnd : TokType::kVarEnd, "", pos_);
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    return true;
  }

  void lex_tag(bool block, size_t tag, size_t body) {
    push(block ? TokType::kBlockBegin : TokType::kVarBegin, "", tag);
    pos_ = body;
    brackets_.clear();
    while (true) {
      pos_ = skip_space(pos_);
      if (pos_ >= src_.size())
        fail_at(loc_at(tag), "unexpected end of template: this tag has no closing '{}'", block ? "%}" : "}}");
      if (try_end(block)) return;
      lex_token();
    }
  }

  void lex_token() {
    const char c = src_[pos_];
    if (is_digit(c)) return lex_number();
    if (is_name_start(c)) {
      size_t j = pos_;
      while (j < src_.size() && is_name_char(src_[j])) ++j;
      push(TokType::kName, src_.substr(pos_, j - pos_), pos_);
      pos_ = j;
      return;
    }
    if (c == '\'' || c == '"') return lex_string();
    lex_operator();
  }

  void lex_number();
  void lex_string();
  void lex_operator();
};

void Lexer::lex_number() {
  const size_t start = pos_;
  const char x = pos_ + 1 < src_.size() ? static_cast<char>(src_[pos_ + 1] | 0x20) : 0;
  if (src_[pos_] == '0' && (x == 'x' || x == 'o' || x == 'b')) {
    size_t j = pos_ + 2;
    std::string digits;
    const std::string_view valid = x == 'x' ? "0123456789abcdefABCDEF" : x == 'o' ? "01234567" : "01";
    while (j < src_.size() && (valid.find(src_[j]) != std::string_view::npos ||
                               (src_[j] == '_' && j + 1 < src_.size() && valid.find(src_[j + 1]) != std::string_view::npos)))
      if (src_[j++] != '_') digits += src_[j - 1];
    if (!digits.empty()) {
      errno = 0;
      const unsigned long long v = std::strtoull(digits.c_str(), nullptr, x == 'x' ? 16 : x == 'o' ? 8 : 2);
      if (errno != 0 || v > static_cast<unsigned long long>(INT64_MAX))
        fail_at(loc_at(start), "integer literal {} is too large", src_.substr(start, j - start));
      push(TokType::kInteger, src_.substr(start, j - start), start).int_value = static_cast<int64_t>(v);
      pos_ = j;
      return;
    }
  }
  size_t j = scan_digits(src_, pos_);
  bool is_float = false;
  // A float may not follow a '.' (jinja2's (?<!\.)), so `a.0.1` is a.0 then .1.
  const bool after_dot = start > 0 && src_[start - 1] == '.';
  if (!after_dot && j + 1 < src_.size() && src_[j] == '.' && is_digit(src_[j + 1])) j = scan_digits(src_, j + 1), is_float = true;
  if (!after_dot && j < src_.size() && (src_[j] | 0x20) == 'e') {
    size_t k = j + 1;
    if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
    if (k < src_.size() && is_digit(src_[k])) j = scan_digits(src_, k), is_float = true;
  }
  std::string spelling = src_.substr(start, j - start);
  std::string clean = spelling;
  clean.erase(std::remove(clean.begin(), clean.end(), '_'), clean.end());
  if (is_float) {
    push(TokType::kFloat, spelling, start).float_value = std::strtod(clean.c_str(), nullptr);
  } else {
    if (clean.size() > 1 && clean[0] == '0' && clean.find_first_not_of('0') != std::string::npos) {
      // jinja2 reads "012" as the integer 0 followed by 12, which no expression accepts.
      fail_at(loc_at(start), "integer literal {} has a leading zero", spelling);
    }
    errno = 0;
    const long long v = std::strtoll(clean.c_str(), nullptr, 10);
    if (errno != 0) fail_at(loc_at(start), "integer literal {} is too large", spelling);
    push(TokType::kInteger, spelling, start).int_value = v;
  }
  pos_ = j;
}

void Lexer::lex_string() {
  const char quote = src_[pos_];
  size_t j = pos_ + 1;
  while (j < src_.size() && src_[j] != quote) j += src_[j] == '\\' ? 2 : 1;
  if (j >= src_.size()) fail_at(loc_at(pos_), "unterminated string literal");
  const Loc loc = loc_at(pos_);
  push(TokType::kString, unescape_string(std::string_view(src_).substr(pos_ + 1, j - pos_ - 1), loc), pos_);
  pos_ = j + 1;
}

void Lexer::lex_operator() {
  static const char* const kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
  std::string op;
  for (const char* two : kTwo)
    if (at(pos_, two)) op = two;
  if (op.empty() && std::string_view("+-/*%~[](){}<>=.:|,;").find(src_[pos_]) != std::string_view::npos)
    op = std::string(1, src_[pos_]);
  if (op.empty()) {
    const DecodedChar d = decode_utf8(src_, pos_);
    fail_at(loc_at(pos_), "unexpected character '{}' inside a tag", src_.substr(pos_, static_cast<size_t>(d.len)));
  }
  const char c = op.size() == 1 ? op[0] : 0;
  if (c == '(' || c == '[' || c == '{') brackets_.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
  if (c == ')' || c == ']' || c == '}') {
    if (brackets_.empty()) fail_at(loc_at(pos_), "unexpected '{}'", op);
    if (brackets_.back() != c) fail_at(loc_at(pos_), "unexpected '{}', expected '{}'", op, brackets_.back());
    brackets_.pop_back();
  }
  push(TokType::kOp, op, pos_);
  pos_ += op.size();
}

// Reads `n` hex digits at body[i]; -1 when they are not all there.
int64_t hex_value(std::string_view body, size_t i, size_t n) {
  if (i + n > body.size()) return -1;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = body[i + k];
    const int d = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

}  // namespace

std::string unescape_string(std::string_view body, Loc loc) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    static const std::string_view kSimple = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    const size_t s = kSimple.find(e);
    if (e == '\n') continue;  // line continuation
    if (s != std::string_view::npos && s % 2 == 0) {
      out += kSimple[s + 1];
    } else if (e >= '0' && e <= '7') {
      int v = 0, n = 0;
      for (; n < 3 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++n, ++i) v = v * 8 + (body[i] - '0');
      --i;
      out += py::encode_utf8(static_cast<uint32_t>(v));
    } else if (e == 'x' || e == 'u' || e == 'U') {
      const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      const int64_t v = hex_value(body, i + 1, n);
      if (v < 0) fail_at(loc, "truncated \\{} escape in a string literal (it needs {} hex digits)", e, n);
      if (v > 0x10FFFF) fail_at(loc, "illegal Unicode character \\{} escape in a string literal", e);
      out += py::encode_utf8(v >= 0xD800 && v <= 0xDFFF ? 0xFFFD : static_cast<uint32_t>(v));
      i += n;
    } else if (e == 'N') {
      fail_at(loc, "\\N{{...}} escapes in string literals are not supported");
    } else {
      out += '\\';
      out += e;
    }
  }
  return out;
}

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace chatforge::tok::jinja
