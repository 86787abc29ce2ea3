// Expressions, with jinja2's precedence (loosest first): `a if c else b`, or, and, not,
// comparisons (==, !=, <, <=, >, >=, in, not in; chained), + -, ~, * / // %, **, unary
// - +, then primaries with postfix .attr, [index], [a:b:c], (call), | filter, is test.
// Filters bind tighter than arithmetic: `messages|length - 1` is (messages|length) - 1.
#include <fmt/format.h>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/parser_impl.h"

namespace chatforge::tok::jinja::detail {
namespace {

ExprPtr binary_expr(std::string op, ExprPtr a, ExprPtr b, Loc loc) {
  ExprPtr e = make_expr(ExprKind::kBinary, loc);
  e->name = std::move(op);
  e->a = std::move(a);
  e->b = std::move(b);
  return e;
}

}  // namespace

ExprPtr Parser::parse_expression(bool with_condexpr) {
  Nest nest(*this);
  if (!with_condexpr) return parse_or();
  ExprPtr expr = parse_or();
  while (is_name("if")) {
    const Loc loc = cur().loc;
    ++i_;
    ExprPtr e = make_expr(ExprKind::kCondExpr, loc);
    e->a = std::move(expr);
    e->b = parse_or();
    if (skip_name("else")) e->c = parse_expression();
    expr = std::move(e);
  }
  return expr;
}

// `a, b` is a tuple (a list here); a single expression is itself.
ExprPtr Parser::parse_tuple(bool with_condexpr, const char* extra_end, bool explicit_parens) {
  const Loc loc = cur().loc;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    const TokType ty = cur().type;
    if (ty == TokType::kVarEnd || ty == TokType::kBlockEnd || is_op(")") || (extra_end && is_name(extra_end))) break;
    items.push_back(parse_expression(with_condexpr));
    if (!is_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) fail_here(fmt::format("expected an expression, got {}", describe(cur())));
  }
  ExprPtr e = make_expr(ExprKind::kList, loc);
  e->items = std::move(items);
  return e;
}

// One left-associative level of binary operators: next (op next)*, where op is one of
// `ops` — names such as "or" where `names`, operator tokens otherwise.
ExprPtr Parser::parse_left_assoc(std::initializer_list<const char*> ops, bool names, ExprPtr (Parser::*next)()) {
  ExprPtr left = (this->*next)();
  while (true) {
    const char* op = nullptr;
    for (const char* o : ops)
      if (names ? is_name(o) : is_op(o)) op = o;
    if (op == nullptr) return left;
    const Loc loc = cur().loc;
    ++i_;
    left = binary_expr(op, std::move(left), (this->*next)(), loc);
  }
}

ExprPtr Parser::parse_or() { return parse_left_assoc({"or"}, true, &Parser::parse_and); }
ExprPtr Parser::parse_and() { return parse_left_assoc({"and"}, true, &Parser::parse_not); }

ExprPtr Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  Nest nest(*this);
  ExprPtr e = make_expr(ExprKind::kUnary, cur().loc);
  ++i_;
  e->name = "not";
  e->a = parse_not();
  return e;
}

ExprPtr Parser::parse_compare() {
  const Loc loc = cur().loc;
  ExprPtr expr = parse_math1();
  ExprPtr cmp;
  while (true) {
    std::string op;
    static const char* const kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    for (const char* o : kOps)
      if (is_op(o)) op = o;
    if (!op.empty()) {
      ++i_;
    } else if (is_name("in")) {
      op = "in", ++i_;
    } else if (is_name("not") && look().type == TokType::kName && look().text == "in") {
      op = "notin", i_ += 2;
    } else {
      break;
    }
    if (!cmp) {
      cmp = make_expr(ExprKind::kCompare, loc);
      cmp->a = std::move(expr);
    }
    cmp->ops.push_back(op);
    cmp->items.push_back(parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(expr);
}

ExprPtr Parser::parse_math1() { return parse_left_assoc({"+", "-"}, false, &Parser::parse_concat); }
ExprPtr Parser::parse_concat() { return parse_left_assoc({"~"}, false, &Parser::parse_math2); }
ExprPtr Parser::parse_math2() { return parse_left_assoc({"*", "/", "//", "%"}, false, &Parser::parse_pow); }
ExprPtr Parser::parse_pow() { return parse_left_assoc({"**"}, false, &Parser::parse_power_operand); }
ExprPtr Parser::parse_power_operand() { return parse_unary(true); }

ExprPtr Parser::parse_unary(bool with_filter) {
  Nest nest(*this);
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    node = make_expr(ExprKind::kUnary, cur().loc);
    node->name = cur().text;
    ++i_;
    node->a = parse_unary(false);
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  return with_filter ? parse_filter_expr(std::move(node)) : std::move(node);
}

ExprPtr Parser::parse_primary() {
  const Token& t = cur();
  const Loc loc = t.loc;
  if (t.type == TokType::kName) {
    ExprPtr e = make_expr(ExprKind::kLiteral, loc);
    if (t.text == "true" || t.text == "True") e->literal = true;
    else if (t.text == "false" || t.text == "False") e->literal = false;
    else if (t.text == "none" || t.text == "None") e->literal = nullptr;
    else e->kind = ExprKind::kName, e->name = t.text;
    ++i_;
    return e;
  }
  if (t.type == TokType::kString) {
    std::string s;
    while (cur().type == TokType::kString) s += t_[i_++].text;  // 'a' 'b' is 'ab'
    ExprPtr e = make_expr(ExprKind::kLiteral, loc);
    e->literal = std::move(s);
    return e;
  }
  if (t.type == TokType::kInteger || t.type == TokType::kFloat) {
    ExprPtr e = make_expr(ExprKind::kLiteral, loc);
    if (t.type == TokType::kInteger) e->literal = t.int_value;
    else e->literal = t.float_value;
    ++i_;
    return e;
  }
  if (is_op("(")) {
    ++i_;
    ExprPtr e = parse_tuple(true, nullptr, true);
    expect_op(")");
    return e;
  }
  if (is_op("[")) return parse_list();
  if (is_op("{")) return parse_dict();
  fail_here(fmt::format("unexpected {} where an expression should be", describe(t)));
}

ExprPtr Parser::parse_list() {
  ExprPtr e = make_expr(ExprKind::kList, cur().loc);
  expect_op("[");
  while (!is_op("]")) {
    if (!e->items.empty()) expect_op(",");
    if (is_op("]")) break;
    e->items.push_back(parse_expression());
  }
  expect_op("]");
  return e;
}

ExprPtr Parser::parse_dict() {
  ExprPtr e = make_expr(ExprKind::kDict, cur().loc);
  expect_op("{");
  while (!is_op("}")) {
    if (!e->items.empty()) expect_op(",");
    if (is_op("}")) break;
    e->items.push_back(parse_expression());
    expect_op(":");
    e->items.push_back(parse_expression());
  }
  expect_op("}");
  return e;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".") || is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      ExprPtr call = make_expr(ExprKind::kCall, cur().loc);
      call->a = std::move(node);
      parse_call_args(*call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      node = parse_filter(std::move(node));
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      ExprPtr call = make_expr(ExprKind::kCall, cur().loc);
      call->a = std::move(node);
      parse_call_args(*call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  Nest nest(*this);
  const Loc loc = cur().loc;
  if (skip_op(".")) {
    if (cur().type == TokType::kInteger) {  // messages.0 is messages[0]
      ExprPtr e = make_expr(ExprKind::kGetItem, loc);
      e->a = std::move(node);
      e->b = make_expr(ExprKind::kLiteral, cur().loc);
      e->b->literal = t_[i_++].int_value;
      return e;
    }
    ExprPtr e = make_expr(ExprKind::kGetAttr, loc);
    e->a = std::move(node);
    e->name = expect_name("an attribute name after '.'");
    return e;
  }
  expect_op("[");
  ExprPtr key = parse_subscribed();
  if (is_op(",")) fail_here("unsupported: a tuple as a subscript (x[a, b])");
  expect_op("]");
  if (key->kind == ExprKind::kSlice) {
    key->a = std::move(node);
    return key;
  }
  ExprPtr e = make_expr(ExprKind::kGetItem, loc);
  e->a = std::move(node);
  e->b = std::move(key);
  return e;
}

// An index, or a slice `a:b:c` (any part omitted): a kSlice node whose `a` the caller sets.
ExprPtr Parser::parse_subscribed() {
  const Loc loc = cur().loc;
  ExprPtr start;
  if (!is_op(":")) {
    start = parse_expression();
    if (!is_op(":")) return start;
  }
  ++i_;  // the first ':'
  ExprPtr e = make_expr(ExprKind::kSlice, loc);
  e->items.push_back(std::move(start));
  e->items.push_back(is_op(":") || is_op("]") || is_op(",") ? nullptr : parse_expression());
  ExprPtr step;
  if (skip_op(":") && !is_op("]") && !is_op(",")) step = parse_expression();
  e->items.push_back(std::move(step));
  return e;
}

void Parser::parse_call_args(Expr& call) {
  expect_op("(");
  while (!is_op(")")) {
    if (!call.items.empty() || !call.kwargs.empty()) {
      expect_op(",");
      if (is_op(")")) break;
    }
    if (is_op("*") || is_op("**")) fail_here("unsupported: *args and **kwargs in calls");
    if (cur().type == TokType::kName && look().type == TokType::kOp && look().text == "=") {
      std::string key = t_[i_].text;
      i_ += 2;
      call.kwargs.emplace_back(std::move(key), parse_expression());
    } else {
      if (!call.kwargs.empty()) fail_here("a positional argument follows a keyword argument");
      call.items.push_back(parse_expression());
    }
  }
  expect_op(")");
}

// `| name` or `| name(args)`, repeated; `node` may be null (a block set's filter).
ExprPtr Parser::parse_filter(ExprPtr node) {
  while (skip_op("|")) {
    const Loc loc = cur().loc;
    ExprPtr f = make_expr(ExprKind::kFilter, loc);
    f->name = expect_name("a filter name after '|'");
    if (!has_filter(f->name)) throw TemplateError(loc, fmt::format("unknown filter '{}' (docs/chat-templates.md)", f->name));
    f->a = std::move(node);
    if (is_op("(")) parse_call_args(*f);
    node = std::move(f);
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  const Loc loc = cur().loc;
  ++i_;  // 'is'
  ExprPtr t = make_expr(ExprKind::kTest, loc);
  t->negated = skip_name("not");
  const Loc name_loc = cur().loc;
  t->name = expect_name("a test name after 'is'");
  if (!has_test(t->name)) throw TemplateError(name_loc, fmt::format("unknown test '{}' (docs/chat-templates.md)", t->name));
  t->a = std::move(node);
  const TokType ty = cur().type;
  if (is_op("(")) {
    parse_call_args(*t);
  } else if ((ty == TokType::kName || ty == TokType::kString || ty == TokType::kInteger || ty == TokType::kFloat ||
              is_op("[") || is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) fail_here("tests cannot be chained ('x is a is b')");
    t->items.push_back(parse_postfix(parse_primary()));  // `x is divisibleby 3`
  }
  return t;
}

}  // namespace chatforge::tok::jinja::detail
