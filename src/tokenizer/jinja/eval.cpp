// Statements, scopes and globals of the evaluator (eval.h). A for loop gives each
// iteration a fresh frame holding the loop variables and `loop` (index0, index, revindex,
// revindex0, first, last, length, previtem, nextitem); a macro call runs with the top-level
// frame and a frame of its parameters, as jinja2 scopes them.
#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/eval_impl.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja {
namespace detail {

void fail_undefined(const Value& v, Loc loc) {
  fail_at(loc, "{}", v.why_undefined().empty() ? "an undefined value was used" : v.why_undefined());
}

Renderer::Renderer(std::shared_ptr<const Json> context, const RenderOptions& options)
    : context_(std::move(context)), opt_(options) {
  frames_.emplace_back();
  install_globals();
}

std::string Renderer::run(const Body& body, Spans* generation) {
  std::string out;
  top_out_ = &out;
  generation_ = generation;
  exec(body, out);
  return out;
}

void Renderer::step(Loc loc) {
  if (++steps_ > opt_.limits.max_steps)
    fail_at(loc, "the template did more than {} steps of work (an endless loop?)", opt_.limits.max_steps);
}

void Renderer::add_output(std::string& out, const std::string& s, Loc loc) {
  if (out.size() + s.size() > opt_.limits.max_output)
    fail_at(loc, "the output grew past the limit of {} bytes", opt_.limits.max_output);
  out += s;
}

Flow Renderer::exec(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow f = exec_stmt(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Flow Renderer::exec_stmt(const Stmt& s, std::string& out) {
  step(s.loc);
  switch (s.kind) {
    case StmtKind::kText: add_output(out, s.text, s.loc); return Flow::kNormal;
    case StmtKind::kOutput: add_output(out, to_str(eval(*s.expr)), s.loc); return Flow::kNormal;
    case StmtKind::kIf:
      for (const auto& [cond, body] : s.branches)
        if (!cond || truthy(eval(*cond))) return exec(body, out);
      return Flow::kNormal;
    case StmtKind::kFor: return exec_for(s, out);
    case StmtKind::kSet:
    case StmtKind::kSetBlock: exec_set(s, out); return Flow::kNormal;
    case StmtKind::kMacro: {
      const Stmt* m = &s;
      frames_.back().set(s.name, Value::of_callable(s.name, [this, m](CallArgs& a) { return call_macro(*m, a); }));
      return Flow::kNormal;
    }
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kGeneration: {
      const size_t begin = out.size();
      const Flow f = exec(s.body, out);
      if (&out == top_out_ && generation_ != nullptr) generation_->emplace_back(begin, out.size());
      return f;
    }
  }
  return Flow::kNormal;
}

void Renderer::bind_targets(Frame& f, const std::vector<std::string>& targets, const Value& v, Loc loc) {
  if (targets.size() == 1) {
    f.set(targets[0], v);
    return;
  }
  if (!v.is_list()) fail_at(loc, "cannot unpack '{}' into {} names", type_name(v), targets.size());
  if (v.data().size() != targets.size())
    fail_at(loc, "cannot unpack {} values into {} names", v.data().size(), targets.size());
  for (size_t k = 0; k < targets.size(); ++k) f.set(targets[k], v.child(v.data()[k]));
}

Json loop_object(const std::vector<Value>& items, size_t i) {
  const size_t n = items.size();
  Json loop = {{"index0", i}, {"index", i + 1}, {"revindex", n - i}, {"revindex0", n - i - 1},
               {"first", i == 0}, {"last", i + 1 == n}, {"length", n}, {"depth", 1}, {"depth0", 0}};
  if (i > 0 && items[i - 1].is_data()) loop["previtem"] = items[i - 1].data();
  if (i + 1 < n && items[i + 1].is_data()) loop["nextitem"] = items[i + 1].data();
  return loop;
}

Flow Renderer::exec_for(const Stmt& s, std::string& out) {
  std::vector<Value> items = iterate_value(eval(*s.expr), s.expr->loc);
  if (s.cond) {  // `for x in xs if cond`: filtered first, so loop.length counts what remains
    std::vector<Value> kept;
    for (const Value& item : items) {
      frames_.emplace_back();
      bind_targets(frames_.back(), s.targets, item, s.loc);
      const bool keep = truthy(eval(*s.cond));
      frames_.pop_back();
      if (keep) kept.push_back(item);
    }
    items = std::move(kept);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    step(s.loc);  // an empty body still costs work
    frames_.emplace_back();
    bind_targets(frames_.back(), s.targets, items[i], s.loc);
    frames_.back().set("loop", Value::of(loop_object(items, i)));
    const Flow f = exec(s.body, out);
    frames_.pop_back();
    if (f == Flow::kBreak) break;
  }
  if (items.empty() && !s.else_body.empty()) {
    frames_.emplace_back();
    exec(s.else_body, out);
    frames_.pop_back();
  }
  return Flow::kNormal;
}

void Renderer::exec_set(const Stmt& s, std::string& out) {
  Value v;
  if (s.kind == StmtKind::kSetBlock) {
    std::string text;
    exec(s.body, text);
    v = Value::of(std::move(text));
    if (s.expr) v = eval_filter(*s.expr, &v);
  } else {
    v = eval(*s.expr);
  }
  if (s.attr.empty()) {
    bind_targets(frames_.back(), s.targets, v, s.loc);
    return;
  }
  const Value target = lookup(s.targets[0]);
  if (target.kind() != Value::Kind::kNamespace)
    fail_at(s.loc, "cannot set '{}.{}': '{}' is not a namespace()", s.targets[0], s.attr, s.targets[0]);
  if (Value* slot = target.ns().find(s.attr)) *slot = v;
  else target.ns().attrs.emplace_back(s.attr, v);
}

Value Renderer::call_macro(const Stmt& m, CallArgs& args) {
  if (macro_depth_ >= opt_.limits.max_macro_depth)
    fail_at(args.loc, "macro calls nested deeper than {} (endless recursion?)", opt_.limits.max_macro_depth);
  if (args.args.size() > m.params.size())
    fail_at(args.loc, "macro '{}' takes {} arguments, {} given", m.name, m.params.size(), args.args.size());
  std::vector<Frame> frames{frames_.front(), Frame{}};
  std::swap(frames, frames_);
  ++macro_depth_;
  struct Restore {
    Renderer& r;
    std::vector<Frame>& saved;
    ~Restore() { std::swap(saved, r.frames_), --r.macro_depth_; }
  } restore{*this, frames};
  for (size_t k = 0; k < m.params.size(); ++k) {
    const auto& [name, def] = m.params[k];
    const Value* given = k < args.args.size() ? &args.args[k] : nullptr;
    for (const auto& [key, val] : args.kwargs)
      if (key == name) given = &val;
    frames_.back().set(name, given ? *given : def ? eval(*def) : Value::undefined(fmt::format("'{}' is undefined", name)));
  }
  for (const auto& kw : args.kwargs) {
    const std::string& key = kw.first;
    if (std::none_of(m.params.begin(), m.params.end(), [&](const auto& p) { return p.first == key; }))
      fail_at(args.loc, "macro '{}' has no parameter '{}'", m.name, key);
  }
  std::string out;
  exec(m.body, out);
  return Value::of(std::move(out));
}

}  // namespace detail

std::string render_body(const Body& body, std::shared_ptr<const Json> context, const RenderOptions& options,
                        Spans* generation) {
  CF_CHECK(context && context->is_object(), "template context must be a JSON object");
  detail::Renderer r(std::move(context), options);
  return r.run(body, generation);
}

}  // namespace chatforge::tok::jinja
