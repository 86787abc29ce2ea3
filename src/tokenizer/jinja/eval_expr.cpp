// Expressions of the evaluator (eval.h): names (frames, then the context, then globals),
// literals, attribute and item access as jinja2's sandbox does it (`d.key` tries a method
// first, then the key; `d['key']` the key first), calls, filters, tests and operators.
// A missing variable, key, attribute or index is `undefined`, which fails only when used
// further (an attribute of it, arithmetic, a call) with the message saying what was missing.
#include <fmt/format.h>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/eval_impl.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja::detail {

Value Renderer::lookup(const std::string& name) {
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
    if (Value* v = it->find(name)) return *v;
  auto hit = context_->find(name);
  if (hit != context_->end()) return Value::view(context_, *hit);
  if (Value* g = globals_.find(name)) return *g;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

Value Renderer::eval(const Expr& e) {
  step(e.loc);
  switch (e.kind) {
    case ExprKind::kLiteral: return Value::view(nullptr, e.literal);  // the tree outlives the render
    case ExprKind::kName: return lookup(e.name);
    case ExprKind::kList: return eval_list(e);
    case ExprKind::kDict: return eval_dict(e);
    case ExprKind::kGetAttr: return get_attr(eval(*e.a), e.name, e.loc);
    case ExprKind::kGetItem: return get_item(eval(*e.a), eval(*e.b), e.loc);
    case ExprKind::kSlice: return eval_slice(e);
    case ExprKind::kCall: return eval_call(e);
    case ExprKind::kFilter: return eval_filter(e, nullptr);
    case ExprKind::kTest: {
      const Value v = eval(*e.a);
      CallArgs args = eval_args(e);
      return Value::of(apply_test(e.name, v, args) != e.negated);
    }
    case ExprKind::kUnary:
      if (e.name == "not") return Value::of(!truthy(eval(*e.a)));
      return ops::negate(eval(*e.a), e.name == "-", e.loc);
    case ExprKind::kBinary: return eval_binary(e);
    case ExprKind::kCompare: return eval_compare(e);
    case ExprKind::kCondExpr:
      if (truthy(eval(*e.b))) return eval(*e.a);
      return e.c ? eval(*e.c) : Value::undefined("the 'if' expression had no 'else' and its condition was false");
  }
  fail_at(e.loc, "internal error: unknown expression");
}

// A value stored inside a list or dict must be data (JSON).
Json as_element(const Value& v, Loc loc) {
  if (v.is_data()) return v.data();
  if (v.is_undefined()) fail_undefined(v, loc);
  fail_at(loc, "a {} cannot be stored in a list or dict", type_name(v));
}

Value Renderer::eval_list(const Expr& e) {
  Json out = Json::array();
  for (const ExprPtr& item : e.items) out.push_back(as_element(eval(*item), item->loc));
  return Value::of(std::move(out));
}

Value Renderer::eval_dict(const Expr& e) {
  Json out = Json::object();
  for (size_t k = 0; k + 1 < e.items.size(); k += 2) {
    const Value key = eval(*e.items[k]);
    if (!key.is_string()) fail_at(e.items[k]->loc, "dict keys must be strings here, not '{}'", type_name(key));
    out[key.str()] = as_element(eval(*e.items[k + 1]), e.items[k + 1]->loc);
  }
  return Value::of(std::move(out));
}

CallArgs Renderer::eval_args(const Expr& e) {
  CallArgs args;
  args.loc = e.loc;
  for (const ExprPtr& a : e.items) args.args.push_back(eval(*a));
  for (const auto& [k, v] : e.kwargs) args.kwargs.emplace_back(k, eval(*v));
  return args;
}

Value Renderer::eval_call(const Expr& e) {
  const Value callee = eval(*e.a);
  if (callee.is_undefined()) fail_undefined(callee, e.loc);
  if (callee.kind() != Value::Kind::kCallable) fail_at(e.loc, "'{}' object is not callable", type_name(callee));
  CallArgs args = eval_args(e);
  return callee.callable().fn(args);
}

// A filter node; `input` replaces the innermost operand (a block set's filters have none).
Value Renderer::eval_filter(const Expr& e, const Value* input) {
  Value v;
  if (e.a) v = e.a->kind == ExprKind::kFilter ? eval_filter(*e.a, input) : eval(*e.a);
  else if (input) v = *input;
  CallArgs args = eval_args(e);
  const Value out = apply_filter(e.name, v, args);
  if (out.is_string() && out.str().size() > opt_.limits.max_output)
    fail_at(e.loc, "filter '{}' built a string over the limit of {} bytes", e.name, opt_.limits.max_output);
  return out;
}

Value Renderer::eval_binary(const Expr& e) {
  if (e.name == "and" || e.name == "or") {  // Python returns the deciding operand
    Value left = eval(*e.a);
    if (truthy(left) == (e.name == "or")) return left;
    return eval(*e.b);
  }
  const Value a = eval(*e.a);
  const Value b = eval(*e.b);
  return ops::binary(e.name, a, b, e.loc, opt_.limits.max_output);
}

bool compare_op(const std::string& op, const Value& a, const Value& b, Loc loc) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return ops::contains(b, a, loc);
  if (op == "notin") return !ops::contains(b, a, loc);
  const int c = compare(a, b, op.c_str(), loc);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

Value Renderer::eval_compare(const Expr& e) {
  Value left = eval(*e.a);
  for (size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.items[k]);
    if (!compare_op(e.ops[k], left, right, e.loc)) return Value::of(false);
    left = std::move(right);
  }
  return Value::of(true);
}

Value Renderer::eval_slice(const Expr& e) {
  const Value v = eval(*e.a);
  std::optional<int64_t> parts[3];
  for (int k = 0; k < 3; ++k) {
    if (!e.items[k]) continue;
    const Value p = eval(*e.items[k]);
    if (p.is_none()) continue;
    if (!p.is_data() || !is_int(p.data())) fail_at(e.loc, "slice indices must be integers or none, not '{}'", type_name(p));
    parts[k] = as_int(p.data());
  }
  if (v.is_undefined()) fail_undefined(v, e.loc);
  return ops::slice(v, parts[0], parts[1], parts[2], e.loc);
}

Value Renderer::get_attr(const Value& obj, const std::string& name, Loc loc) {
  if (obj.is_undefined()) fail_undefined(obj, loc);
  if (obj.kind() == Value::Kind::kNamespace) {
    if (Value* v = obj.ns().find(name)) return *v;
    return Value::undefined(fmt::format("the namespace has no attribute '{}'", name));
  }
  if (obj.is_data()) {
    if (auto m = get_method(obj, name)) return *m;
    if (obj.is_dict()) {
      auto hit = obj.data().find(name);
      if (hit != obj.data().end()) return obj.child(*hit);
    }
  }
  if (obj.is_data()) {
    std::string why = unsupported_method(obj, name);
    if (!why.empty()) return Value::undefined(std::move(why));
  }
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", type_name(obj), name));
}

Value Renderer::get_item(const Value& obj, const Value& key, Loc loc) {
  if (obj.is_undefined()) fail_undefined(obj, loc);
  if (obj.is_dict() && key.is_string()) {
    auto hit = obj.data().find(key.str());
    if (hit != obj.data().end()) return obj.child(*hit);
  }
  if ((obj.is_list() || obj.is_string()) && key.is_data() && is_int(key.data())) {
    int64_t i = as_int(key.data());
    if (obj.is_list()) {
      const int64_t n = static_cast<int64_t>(obj.data().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.child(obj.data()[static_cast<size_t>(i)]);
    } else {
      const std::vector<size_t> offs = py::char_offsets(obj.str());
      const int64_t n = static_cast<int64_t>(offs.size()) - 1;
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        const size_t k = static_cast<size_t>(i);
        return Value::of(obj.str().substr(offs[k], offs[k + 1] - offs[k]));
      }
    }
    return Value::undefined(fmt::format("'{} object' has no element {}", type_name(obj), as_int(key.data())));
  }
  if (key.is_string() && (obj.kind() == Value::Kind::kNamespace || obj.is_data())) {
    const Value v = get_attr(obj, key.str(), loc);
    if (!v.is_undefined()) return v;
  }
  return Value::undefined(fmt::format("'{} object' has no element {}", type_name(obj),
                                      key.is_data() ? repr(key.data()) : type_name(key)));
}

}  // namespace chatforge::tok::jinja::detail
