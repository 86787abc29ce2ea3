// The evaluator's class, shared by eval.cpp (statements, scopes, globals) and
// eval_expr.cpp (expressions). One Renderer per render() call; it holds the context, the
// frames of the scopes in force and the work counters.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/eval.h"

namespace chatforge::tok::jinja::detail {

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  Value* find(const std::string& name) {
    for (auto& [k, v] : vars)
      if (k == name) return &v;
    return nullptr;
  }
  void set(const std::string& name, Value v) {
    if (Value* slot = find(name)) *slot = std::move(v);
    else vars.emplace_back(name, std::move(v));
  }
};

enum class Flow : uint8_t { kNormal, kBreak, kContinue };

class Renderer {
 public:
  Renderer(std::shared_ptr<const Json> context, const RenderOptions& options);
  std::string run(const Body& body, Spans* generation);

  Value eval(const Expr& e);

 private:
  std::shared_ptr<const Json> context_;
  const RenderOptions& opt_;
  std::vector<Frame> frames_;  // frames_[0]: the template's top level
  Frame globals_;
  int64_t steps_ = 0;
  int macro_depth_ = 0;
  const std::string* top_out_ = nullptr;
  Spans* generation_ = nullptr;

  void step(Loc loc);
  void add_output(std::string& out, const std::string& s, Loc loc);

  // Statements (eval.cpp).
  Flow exec(const Body& body, std::string& out);
  Flow exec_stmt(const Stmt& s, std::string& out);
  Flow exec_for(const Stmt& s, std::string& out);
  void exec_set(const Stmt& s, std::string& out);
  void bind_targets(Frame& f, const std::vector<std::string>& targets, const Value& v, Loc loc);
  Value call_macro(const Stmt& m, CallArgs& args);
  void install_globals();

  // Expressions (eval_expr.cpp).
  Value lookup(const std::string& name);
  Value eval_list(const Expr& e);
  Value eval_dict(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_filter(const Expr& e, const Value* input);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_slice(const Expr& e);
  CallArgs eval_args(const Expr& e);
  Value get_attr(const Value& obj, const std::string& name, Loc loc);
  Value get_item(const Value& obj, const Value& key, Loc loc);
};

// The error for using `v` further when it is undefined.
[[noreturn]] void fail_undefined(const Value& v, Loc loc);

}  // namespace chatforge::tok::jinja::detail
