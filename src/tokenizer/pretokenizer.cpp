// GPT-2's pre-tokenizer by hand (one pass, no backtracking beyond the whitespace rule),
// and a PCRE2 path for every other pattern. The hand matcher mirrors the regex's
// alternation order; the comments name the alternative each branch implements.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok {
namespace {

// Class of each ASCII byte; bytes >= 0x80 need decoding.
struct AsciiClasses {
  CharClass c[128];
  AsciiClasses() {
    for (int b = 0; b < 128; ++b) c[b] = char_class(b);
  }
};
const AsciiClasses& ascii_classes() {
  static const AsciiClasses t;
  return t;
}

struct Cursor {
  std::string_view s;
  const AsciiClasses& ascii;
  // Class and length of the character at i (i < size).
  inline CharClass at(size_t i, int32_t* len) const {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      *len = 1;
      return ascii.c[b];
    }
    const DecodedChar d = decode_utf8(s, i);
    *len = d.len;
    return char_class(d.cp);
  }
  // End of the run of characters of class `cls` starting at i.
  inline size_t run_end(size_t i, CharClass cls) const {
    int32_t len = 0;
    while (i < s.size() && at(i, &len) == cls) i += len;
    return i;
  }
};

// Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction_len(std::string_view s, size_t i) {
  if (s[i] != '\'' || i + 1 >= s.size()) return 0;
  const char a = s[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < s.size()) {
    const char b = s[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

void split_gpt2(std::string_view s, std::vector<std::string_view>& out) {
  const Cursor cur{s, ascii_classes()};
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // 's|'t|'re|'ve|'m|'ll|'d
    if (const size_t c = contraction_len(s, i)) {
      out.emplace_back(s.data() + i, c);
      i += c;
      continue;
    }
    int32_t len = 0;
    CharClass cls = cur.at(i, &len);
    size_t start = i;
    size_t body = i;  // where the \p{L}+ / \p{N}+ / [^\s\p{L}\p{N}]+ run starts
    if (s[i] == ' ' && i + 1 < n) {
      int32_t len2 = 0;
      const CharClass next = cur.at(i + 1, &len2);
      if (next != CharClass::kSpace) {  // ' ?' takes the space when a run follows
        cls = next;
        body = i + 1;
      }
    }
    if (cls != CharClass::kSpace) {
      // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
      const size_t end = cur.run_end(body, cls);
      out.emplace_back(s.data() + start, end - start);
      i = end;
      continue;
    }
    // \s+(?!\S) | \s+ : a whitespace run; when a non-space follows, leave its last
    // character to start the next piece (unless the run is a single character).
    size_t end = i;
    size_t last = i;
    while (end < n) {
      const CharClass c = cur.at(end, &len);
      if (c != CharClass::kSpace) break;
      last = end;
      end += len;
    }
    if (end < n && last > start) end = last;
    out.emplace_back(s.data() + start, end - start);
    i = end;
  }
}

// PCRE2 resource limits for one match (docs/limits.md). A backtracking pattern in a
// downloaded tokenizer.json must end in an error naming it, not run for hours or eat the
// machine's memory. Defaults fit the built-in patterns on any text: a piece costs a few
// dozen match steps, a 1 MB run of spaces about one step per byte.
struct RegexLimits {
  uint32_t match_limit = 10'000'000;  // backtracking steps per match (PCRE2's own default)
  uint32_t heap_limit_kib = 256 * 1024;  // interpreter backtracking frames (PCRE2's: 20 GB)
  size_t jit_stack_max = 16u << 20;  // JIT backtracking stack per thread (PCRE2's: 32 KB)
};

const RegexLimits& regex_limits() {
  static const RegexLimits limits = [] {
    RegexLimits l;
    if (const char* env = std::getenv("CHATFORGE_REGEX_MATCH_LIMIT")) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(env, &end, 10);
      if (end != env && *end == '\0' && v > 0 && v <= 4'000'000'000ull) {
        l.match_limit = static_cast<uint32_t>(v);
        // More steps may need deeper backtracking: memory limits grow along (capped at 4x).
        const double f = std::min(4.0, std::max(1.0, v / 10e6));
        l.heap_limit_kib = static_cast<uint32_t>(l.heap_limit_kib * f);
        l.jit_stack_max = static_cast<size_t>(l.jit_stack_max * f);
      }
    }
    return l;
  }();
  return limits;
}

// Per-thread match context (limits) and JIT stack: a JIT stack must not be shared by
// threads matching at the same time, and split() runs on every worker thread.
struct MatchResources {
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  MatchResources() {
    const RegexLimits& l = regex_limits();
    context = pcre2_match_context_create(nullptr);
    CF_CHECK(context != nullptr, "out of memory creating a PCRE2 match context");
    pcre2_set_match_limit(context, l.match_limit);
    pcre2_set_depth_limit(context, l.match_limit);
    pcre2_set_heap_limit(context, l.heap_limit_kib);
    jit_stack = pcre2_jit_stack_create(32 * 1024, l.jit_stack_max, nullptr);
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchResources() {
    if (jit_stack) pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
  }
};

pcre2_match_context* thread_match_context() {
  thread_local MatchResources r;
  return r.context;
}

// The pattern for messages: at most 80 bytes of it.
std::string short_pattern(const std::string& p) { return p.size() <= 80 ? p : p.substr(0, 77) + "..."; }

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() {
    if (code) pcre2_code_free(code);
  }
};

PreTokenizer PreTokenizer::gpt2() {
  PreTokenizer p;
  p.gpt2_ = true;
  p.known_ = true;
  p.pattern_ = kGpt2Pattern;
  return p;
}

PreTokenizer PreTokenizer::regex(const std::string& pattern) {
  if (pattern == kGpt2Pattern) return gpt2();
  PreTokenizer p;
  p.gpt2_ = false;
  p.known_ = pattern == kGpt4Pattern || pattern == kQwen2Pattern || pattern == kCjkPattern;
  p.pattern_ = pattern;
  auto re = std::make_shared<Regex>();
  int err = 0;
  PCRE2_SIZE err_off = 0;
  re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                           PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!re->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    fail("bad pre-tokenizer pattern at offset {}: {}", err_off, reinterpret_cast<const char*>(msg));
  }
  pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back if absent
  p.regex_ = std::move(re);
  return p;
}

PreTokenizer PreTokenizer::from_name(const std::string& name) {
  if (name == "gpt2") return gpt2();
  if (name == "gpt4" || name == "cl100k" || name == "llama3") return regex(kGpt4Pattern);
  if (name == "qwen2") return regex(kQwen2Pattern);
  if (name == "cjk") return regex(kCjkPattern);
  if (name.empty()) fail("empty pre-tokenizer pattern");
  // A bare word is a misspelt name far more often than a regex someone meant.
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos)
    fail("unknown pattern name \"{}\" (known: {}; or give a regex)", name, kPreTokenizerNames);
  return regex(name);
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  if (gpt2_) {
    split_gpt2(text, pieces);
    return;
  }
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  CF_CHECK(md != nullptr, "out of memory creating PCRE2 match data");
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md_owner(md, pcre2_match_data_free);
  pcre2_match_context* mctx = thread_match_context();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(regex_->code, subject, text.size(), pos, 0, md, mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {  // no match in the rest (or only invalid bytes left): one piece
      pieces.emplace_back(text.data() + pos, text.size() - pos);
      break;
    }
    if (rc < 0) {  // a resource limit (or another matching error): never a silent single piece
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      const bool limit = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                         rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
      fail("pre-tokenizer pattern \"{}\" failed at byte {} of a {}-byte text: {}{}", short_pattern(pattern_), pos,
           text.size(), reinterpret_cast<const char*>(msg),
           limit ? " (the pattern backtracks too much, or a piece is too long for it: raise "
                   "CHATFORGE_REGEX_MATCH_LIMIT, docs/limits.md)"
                 : "");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (ms > pos) pieces.emplace_back(text.data() + pos, ms - pos);  // unmatched gap
    if (me == ms) {  // empty match: take one character so we always advance
      me = ms + decode_utf8(text, ms).len;
      if (me > text.size()) me = text.size();
    }
    pieces.emplace_back(text.data() + ms, me - ms);
    pos = me;
  }
}

size_t find_newline_cut(std::string_view text, size_t limit) {
  // A cut after "X\nY" with X and Y ASCII non-space: the "\n" is a whitespace run of one
  // character, so it is a piece of its own (or the tail of X's piece for GPT-4's
  // `[^\s\p{L}\p{N}]+[\r\n]*`) whether or not Y follows. Were X whitespace too, the
  // run's split would depend on what follows it (`\s+(?!\S)`).
  auto ascii_nonspace = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x80 && c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\v' && c != '\f';
  };
  if (text.size() < 3) return 0;
  if (limit >= text.size()) limit = text.size() - 1;
  for (size_t i = limit; i >= 2; --i)
    if (text[i - 1] == '\n' && ascii_nonspace(text[i]) && ascii_nonspace(text[i - 2])) return i;
  return 0;
}

}  // namespace chatforge::tok
