// Parser: template source -> statement list (ast.h), with jinja2's grammar and operator
// precedence for the subset chat templates use (docs/chat-templates.md). Constructs
// outside the subset (extends, include, import, call blocks, recursive loops, *args)
// and unknown filters or tests are errors naming the line and column, raised here before
// anything renders.
#pragma once
#include <string_view>

#include "tokenizer/jinja/ast.h"

namespace chatforge::tok::jinja {

// Deepest nesting of blocks or of brackets/operators in one expression (a guard against
// stack exhaustion on hostile input; real templates nest under 10).
inline constexpr int kMaxNesting = 200;

Body parse_template(std::string_view source);

}  // namespace chatforge::tok::jinja
