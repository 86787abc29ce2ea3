// Template (jinja.h): parse once, render many times; template errors become one-line
// chatforge::Errors prefixed with the template's name and the line and column.
#include "tokenizer/jinja/jinja.h"

#include <fmt/format.h>

#include "tokenizer/jinja/parser.h"

namespace chatforge::tok::jinja {
namespace {

bool uses_generation(const Body& body) {
  for (const StmtPtr& s : body) {
    if (s->kind == StmtKind::kGeneration) return true;
    if (uses_generation(s->body) || uses_generation(s->else_body)) return true;
    for (const auto& br : s->branches)
      if (uses_generation(br.second)) return true;
  }
  return false;
}

[[noreturn]] void rethrow(const std::string& name, const TemplateError& e) {
  if (e.raised)
    throw TemplateRaisedError(fmt::format("{} line {}: the template raised an error: {}", name, e.loc.line, e.message),
                              e.message);
  throw Error(fmt::format("{} line {}, column {}: {}", name, e.loc.line, e.loc.column, e.message));
}

}  // namespace

Template::Template(std::string_view source, std::string name) : name_(std::move(name)) {
  try {
    body_ = std::make_shared<const Body>(parse_template(source));
  } catch (const TemplateError& e) {
    rethrow(name_, e);
  }
  has_generation_ = uses_generation(*body_);
}

std::string Template::render(const Json& context, const RenderOptions& options, Spans* generation) const {
  return render(Json(context), options, generation);
}

std::string Template::render(Json&& context, const RenderOptions& options, Spans* generation) const {
  try {
    return render_body(*body_, std::make_shared<const Json>(std::move(context)), options, generation);
  } catch (const TemplateError& e) {
    rethrow(name_, e);
  }
}

}  // namespace chatforge::tok::jinja
