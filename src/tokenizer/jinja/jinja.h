// A Jinja template as Hugging Face transformers renders chat templates: jinja2 with
// trim_blocks and lstrip_blocks, its loopcontrols and generation extensions, tojson as
// json.dumps(ensure_ascii=False), raise_exception() and strftime_now(). The supported
// subset and the error format are in docs/chat-templates.md. Parsing happens once, in
// the constructor; render() may be called any number of times (it is const and keeps no
// state between calls).
//
//   Template t("{% for m in messages %}{{ m.role }}: {{ m.content | trim }}\n{% endfor %}");
//   t.render({{"messages", {{{"role", "user"}, {"content", " hi "}}}}})  ->  "user: hi\n"
//
// Every error is a chatforge::Error whose one line names the template and the place:
// "chat_template line 3, column 12: unknown filter 'wordwrap' (docs/chat-templates.md)".
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/eval.h"

namespace chatforge::tok::jinja {

// What the template's own raise_exception(message) throws; message() is its text as given.
class TemplateRaisedError : public Error {
 public:
  TemplateRaisedError(const std::string& full, std::string message) : Error(full), message_(std::move(message)) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

class Template {
 public:
  // Parses `source` (errors name `name`, e.g. "model/tokenizer_config.json: chat_template").
  explicit Template(std::string_view source, std::string name = "chat template");

  // context: a JSON object; its keys are the template's variables.
  // generation: when set, receives the byte ranges {% generation %} blocks wrote.
  std::string render(const Json& context, const RenderOptions& options = {}, Spans* generation = nullptr) const;
  std::string render(Json&& context, const RenderOptions& options = {}, Spans* generation = nullptr) const;

  bool has_generation_blocks() const { return has_generation_; }
  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<const Body> body_;
  std::string name_;
  bool has_generation_ = false;
};

}  // namespace chatforge::tok::jinja
