// Jinja lexer with the settings transformers uses (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False), rule for rule as jinja2's lexer applies them:
// - newlines are normalised to "\n" and one trailing newline of the source is dropped;
// - `{%-`/`{{-`/`{#-` strip all whitespace before the tag, `-%}`/`-}}`/`-#}` all after;
// - trim_blocks: one "\n" right after `%}` or `#}` is dropped;
// - lstrip_blocks: spaces/tabs between a line start and `{%` or `{#` are dropped
//   (`{%+` keeps them, `+%}` keeps the newline);
// - `{% raw %}...{% endraw %}` is data; comments produce no tokens.
// Output: data text and, per tag, Begin, its tokens, End; then kEof. Errors name the
// line and column (TemplateError).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace chatforge::tok::jinja {

enum class TokType : uint8_t {
  kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd,
  kName, kString, kInteger, kFloat, kOp, kEof,
};

struct Token {
  TokType type = TokType::kEof;
  std::string text;  // data, name, the unescaped string, the operator's spelling
  int64_t int_value = 0;
  double float_value = 0;
  Loc loc;
};

std::vector<Token> lex(std::string_view source);

// Python's unicode-escape decoding of a string literal's body ("a\\n\\u00e9" -> "a\né");
// unknown escapes keep their backslash. Errors (a truncated \x escape) name `loc`.
std::string unescape_string(std::string_view body, Loc loc);

}  // namespace chatforge::tok::jinja
