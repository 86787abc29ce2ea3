// sacreBLEU's tokenizers, reimplemented: `13a` (mteval-v13a), `zh` (CJK characters split,
// then the 13a regexes), `char` (every character a token) and `none` (split on spaces).
// Output is a list of tokens; sacreBLEU joins them with spaces and splits again, which is
// the same thing. Behaviour mirrors sacreBLEU 2.x character for character.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::eval {

enum class BleuTokenizer { k13a, kZh, kChar, kNone };

// "13a" | "zh" | "char" | "none"; throws UsageError naming the value otherwise.
BleuTokenizer parse_bleu_tokenizer(std::string_view name);
const char* bleu_tokenizer_name(BleuTokenizer t);

// tokenize_13a("Hello, world! It's 3.5-4.") ->
//   {"Hello", ",", "world", "!", "It's", "3.5", "-", "4", "."}
std::vector<std::string> tokenize_13a(std::string_view line);
// tokenize_zh("我爱NLP。") -> {"我", "爱", "NLP", "。"}
std::vector<std::string> tokenize_zh(std::string_view line);
// tokenize_char("ab c") -> {"a", "b", "c"}
std::vector<std::string> tokenize_char(std::string_view line);

std::vector<std::string> bleu_tokenize(BleuTokenizer t, std::string_view line);

// sacreBLEU's TokenizerZh character test, including its quirks: two of its ranges are
// written '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d', which Python reads as two-char
// strings, so they select U+2001..U+2A6D and U+2F81..U+2FA1 (not the SIP ideographs).
bool is_sacrebleu_zh_char(char32_t cp);

}  // namespace chatforge::eval
