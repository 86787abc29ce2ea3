// The evaluator: runs a parsed template (ast.h) against a context (a JSON object whose
// keys are the template's variables) and returns the text. Scoping follows jinja2: each
// for-loop iteration and each macro call has its own frame, so `set` inside a loop is not
// seen after it (use namespace()), while `set ns.attr` changes the shared namespace.
// Globals: namespace(), range(), dict(), raise_exception(msg), strftime_now(fmt).
// Work is bounded (RenderLimits), so a hostile template fails cleanly instead of hanging
// or exhausting memory.
#pragma once
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"

namespace chatforge::tok::jinja {

struct RenderLimits {
  int64_t max_steps = 50'000'000;   // expressions and statements evaluated
  size_t max_output = 256u << 20;   // bytes of any string built, the output included
  int max_macro_depth = 64;         // nested macro calls
};

struct RenderOptions {
  std::optional<std::tm> now;  // what strftime_now() formats; unset = the local time now
  RenderLimits limits;
};

// Byte ranges [begin, end) of the output that {% generation %} blocks produced.
using Spans = std::vector<std::pair<size_t, size_t>>;

// context: a JSON object whose keys are the variables.
std::string render_body(const Body& body, std::shared_ptr<const Json> context, const RenderOptions& options,
                        Spans* generation);

namespace ops {
// Python's binary operators on values: + - * / // % ** and ~ (str concatenation).
Value binary(const std::string& op, const Value& a, const Value& b, Loc loc, size_t max_size);
Value negate(const Value& a, bool minus, Loc loc);
// `a in b` (substring, list membership, dict key).
bool contains(const Value& container, const Value& item, Loc loc);
// Python slicing of a list or string (negative steps too).
Value slice(const Value& v, const std::optional<int64_t>& start, const std::optional<int64_t>& stop,
            const std::optional<int64_t>& step, Loc loc);
}  // namespace ops

}  // namespace chatforge::tok::jinja
