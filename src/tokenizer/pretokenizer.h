// Pre-tokenization: splits text into the pieces BPE runs on. GPT-2's pattern has a
// hand-written matcher (exactly `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
// ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`); any other pattern runs through PCRE2 (UTF + UCP)
// under match, heap and JIT-stack limits (docs/limits.md): a match that reaches one is a
// chatforge::Error naming the pattern, never the rest of the text as one silent piece.
// Invalid UTF-8 bytes count as "other" characters (neither letter, number nor space),
// the class of U+FFFD, which tiktoken substitutes for text it cannot represent.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::tok {

inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// GPT-4 (cl100k_base); Llama-3 uses the same pattern.
inline constexpr const char* kGpt4Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2 / Qwen2.5: like GPT-4 but single digits.
inline constexpr const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// "cjk": GPT-2's pattern with every Han character (Chinese hanzi, Japanese kanji) a piece
// of its own, so BPE merges bytes into characters but never characters into phrases.
// Made for small Chinese corpora: there, phrase merges ("台咖啡机") split the same words
// differently in different sentences, and a small model generalises worse.
inline constexpr const char* kCjkPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{Han}| ?(?:(?!\p{Han})\p{L})+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The names from_name knows (gpt4, cl100k and llama3 name one pattern), as --help and the
// error for an unknown name list them.
inline constexpr const char* kPreTokenizerNames = "gpt2, gpt4, cl100k, llama3, qwen2, cjk";

class PreTokenizer {
 public:
  // "gpt2", "gpt4" (= "cl100k", "llama3"), "qwen2", "cjk", or a regex. Bad regex: chatforge::Error.
  static PreTokenizer from_name(const std::string& name_or_pattern);
  static PreTokenizer gpt2();
  static PreTokenizer regex(const std::string& pattern);

  bool is_gpt2() const { return gpt2_; }
  const std::string& pattern() const { return pattern_; }

  // Appends the pieces of `text` to `pieces` (views into `text`); they cover it exactly.
  // Throws chatforge::Error when PCRE2 gives up (a resource limit), naming the pattern.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

  // True when a position right after a '\n' between two non-space characters is always a
  // piece boundary, so text may be cut there and the pieces processed independently
  // (true for the built-in patterns; false for an arbitrary regex).
  bool newline_cuts_are_boundaries() const { return known_; }

 private:
  struct Regex;
  bool gpt2_ = true;
  bool known_ = true;
  std::string pattern_;
  std::shared_ptr<const Regex> regex_;
};

// Largest cut position <= limit (and > 0) after a '\n' between two ASCII non-space
// bytes; 0 when none. Used to split big texts into independently encodable chunks.
size_t find_newline_cut(std::string_view text, size_t limit);

}  // namespace chatforge::tok
