// sacreBLEU tokenizers (see bleu_tokenize.h).
//
// The four regex passes of sacreBLEU's TokenizerRegexp run here as byte scans. That is
// exact for UTF-8: every character the patterns name is ASCII, and a multi-byte
// character can only take part in a match through its last byte (before '.'/',') or its
// first byte (after '.'/','), where the bytes are copied through unchanged.
#include "eval/bleu_tokenize.h"

#include "core/error.h"
#include "eval/text_util.h"

namespace chatforge::eval {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Pattern 1: [\{-\~\[-\` -\&\(-\+\:-\@\/]  i.e. { | } ~  [ \ ] ^ _ `  space ! " # $ % &
// ( ) * +  : ; < = > ? @  /   (not ' - . , letters or digits)
bool is_13a_symbol(unsigned char c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

// sacreBLEU's TokenizerRegexp: four substitutions, then collapse whitespace.
std::vector<std::string> regexp_post_tokenize(const std::string& in) {
  // re.sub(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])', r' \1 ')
  std::string a;
  a.reserve(in.size() * 2);
  for (char c : in) {
    if (is_13a_symbol(static_cast<unsigned char>(c))) {
      a.push_back(' ');
      a.push_back(c);
      a.push_back(' ');
    } else {
      a.push_back(c);
    }
  }
  // re.sub(r'([^0-9])([\.,])', r'\1 \2 ')  -- left to right, non-overlapping
  std::string b;
  b.reserve(a.size() * 2);
  for (size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && !is_digit(a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
      b.push_back(a[i]);
      b.push_back(' ');
      b.push_back(a[i + 1]);
      b.push_back(' ');
      i += 2;
    } else {
      b.push_back(a[i++]);
    }
  }
  // re.sub(r'([\.,])([^0-9])', r' \1 \2')
  std::string c;
  c.reserve(b.size() * 2);
  for (size_t i = 0; i < b.size();) {
    if (i + 1 < b.size() && (b[i] == '.' || b[i] == ',') && !is_digit(b[i + 1])) {
      c.push_back(' ');
      c.push_back(b[i]);
      c.push_back(' ');
      c.push_back(b[i + 1]);
      i += 2;
    } else {
      c.push_back(b[i++]);
    }
  }
  // re.sub(r'([0-9])(-)', r'\1 \2 ')
  std::string d;
  d.reserve(c.size() * 2);
  for (size_t i = 0; i < c.size();) {
    if (i + 1 < c.size() && is_digit(c[i]) && c[i + 1] == '-') {
      d.push_back(c[i]);
      d.append(" - ");
      i += 2;
    } else {
      d.push_back(c[i++]);
    }
  }
  return split_whitespace(d);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

}  // namespace

BleuTokenizer parse_bleu_tokenizer(std::string_view name) {
  if (name == "13a") return BleuTokenizer::k13a;
  if (name == "zh") return BleuTokenizer::kZh;
  if (name == "char") return BleuTokenizer::kChar;
  if (name == "none") return BleuTokenizer::kNone;
  usage_fail("unknown BLEU tokenizer '{}' (expected 13a, zh, char or none)", name);
}

const char* bleu_tokenizer_name(BleuTokenizer t) {
  switch (t) {
    case BleuTokenizer::k13a: return "13a";
    case BleuTokenizer::kZh: return "zh";
    case BleuTokenizer::kChar: return "char";
    case BleuTokenizer::kNone: return "none";
  }
  return "?";
}

std::vector<std::string> tokenize_13a(std::string_view line) {
  // The language-independent part of mteval-v13a, in sacreBLEU's order.
  std::string s(line);
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    replace_all(s, "&quot;", "\"");
    replace_all(s, "&amp;", "&");
    replace_all(s, "&lt;", "<");
    replace_all(s, "&gt;", ">");
  }
  return regexp_post_tokenize(" " + s + " ");
}

bool is_sacrebleu_zh_char(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DB5) || (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x9FA6 && c <= 0x9FBB) ||
         (c >= 0xF900 && c <= 0xFA2D) || (c >= 0xFA30 && c <= 0xFA6A) || (c >= 0xFA70 && c <= 0xFAD9) ||
         (c >= 0x2001 && c <= 0x2A6D) ||  // written '\u20000'..'\u2a6d6' (see header)
         (c >= 0x2F81 && c <= 0x2FA1) ||  // written '\u2f800'..'\u2fa1d'
         (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x2E80 && c <= 0x2EFF) || (c >= 0x3000 && c <= 0x303F) ||
         (c >= 0x31C0 && c <= 0x31EF) || (c >= 0x2F00 && c <= 0x2FDF) || (c >= 0x2FF0 && c <= 0x2FFF) ||
         (c >= 0x3100 && c <= 0x312F) || (c >= 0x31A0 && c <= 0x31BF) || (c >= 0xFE10 && c <= 0xFE1F) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0x2600 && c <= 0x26FF) || (c >= 0x2700 && c <= 0x27BF) ||
         (c >= 0x3200 && c <= 0x32FF) || (c >= 0x3300 && c <= 0x33FF);
}

std::vector<std::string> tokenize_zh(std::string_view line) {
  // TokenizerZh: strip, pad every Chinese character with spaces, then the regex passes
  // (without 13a's entity replacements).
  const std::u32string u = utf8_to_u32(strip_space(line));
  std::string s;
  s.reserve(u.size() * 4);
  for (char32_t cp : u) {
    if (is_sacrebleu_zh_char(cp)) {
      s.push_back(' ');
      append_utf8(s, cp);
      s.push_back(' ');
    } else {
      append_utf8(s, cp);
    }
  }
  return regexp_post_tokenize(s);
}

std::vector<std::string> tokenize_char(std::string_view line) {
  // " ".join(line).split(): every non-whitespace character is a token.
  std::vector<std::string> out;
  for (char32_t cp : utf8_to_u32(line)) {
    if (is_python_space(cp)) continue;
    std::string t;
    append_utf8(t, cp);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> bleu_tokenize(BleuTokenizer t, std::string_view line) {
  switch (t) {
    case BleuTokenizer::k13a: return tokenize_13a(line);
    case BleuTokenizer::kZh: return tokenize_zh(line);
    case BleuTokenizer::kChar: return tokenize_char(line);
    case BleuTokenizer::kNone: return split_whitespace(line);
  }
  return {};
}

}  // namespace chatforge::eval
