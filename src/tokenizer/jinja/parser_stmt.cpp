// Statements: text, {{ output }}, and the block tags of the supported subset (if/elif/else,
// for/else with an optional filter, set (also block set and namespace attributes), macro,
// break/continue, generation). Token helpers shared with parser_expr.cpp live here too.
#include <fmt/format.h>

#include "tokenizer/jinja/parser_impl.h"

namespace chatforge::tok::jinja {
namespace detail {

ExprPtr make_expr(ExprKind kind, Loc loc) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->loc = loc;
  return e;
}

Parser::Nest::Nest(Parser& parser) : p(parser) {
  if (++p.depth_ > kMaxNesting) p.fail_here(fmt::format("nested more than {} levels deep", kMaxNesting));
}

bool Parser::skip_op(const char* op) {
  if (!is_op(op)) return false;
  ++i_;
  return true;
}

bool Parser::skip_name(const char* n) {
  if (!is_name(n)) return false;
  ++i_;
  return true;
}

std::string Parser::describe(const Token& t) const {
  switch (t.type) {
    case TokType::kData: return "text";
    case TokType::kVarBegin: return "'{{'";
    case TokType::kVarEnd: return "end of expression '}}'";
    case TokType::kBlockBegin: return "'{%'";
    case TokType::kBlockEnd: return "end of statement '%}'";
    case TokType::kName: return "'" + t.text + "'";
    case TokType::kString: return "a string";
    case TokType::kInteger:
    case TokType::kFloat: return "the number " + t.text;
    case TokType::kOp: return "'" + t.text + "'";
    case TokType::kEof: return "the end of the template";
  }
  return "?";
}

void Parser::fail_here(const std::string& msg) const { throw TemplateError(cur().loc, msg); }

void Parser::expect_op(const char* op) {
  if (!skip_op(op)) fail_here(fmt::format("expected '{}', got {}", op, describe(cur())));
}

std::string Parser::expect_name(const char* what) {
  if (cur().type != TokType::kName) fail_here(fmt::format("expected {}, got {}", what, describe(cur())));
  return t_[i_++].text;
}

void Parser::expect_block_end(const char* statement) {
  if (cur().type != TokType::kBlockEnd)
    fail_here(fmt::format("expected the end of the '{}' statement ('%}}'), got {}", statement, describe(cur())));
  ++i_;
}

Body Parser::parse_all() {
  Body body = subparse({}, nullptr, {});
  if (cur().type != TokType::kEof) fail_here(fmt::format("unexpected {}", describe(cur())));
  return body;
}

// Statements until a block tag whose first word is one of `ends` (left unconsumed, i_ at
// that word) or, with no ends, until the end of the template.
Body Parser::subparse(std::initializer_list<const char*> ends, const char* opener, Loc opener_loc) {
  Nest nest(*this);
  Body body;
  while (true) {
    const Token& t = cur();
    if (t.type == TokType::kEof) {
      if (ends.size() == 0) return body;
      std::string closer;
      for (const char* e : ends)
        if (std::string_view(e).substr(0, 3) == "end") closer = e;
      throw TemplateError(opener_loc, fmt::format("the '{{% {} %}}' here is never closed: expected '{{% {} %}}' before the "
                                                  "end of the template", opener, closer));
    }
    if (t.type == TokType::kData) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kText;
      s->loc = t.loc;
      s->text = t.text;
      body.push_back(std::move(s));
      ++i_;
    } else if (t.type == TokType::kVarBegin) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kOutput;
      s->loc = t.loc;
      ++i_;
      s->expr = parse_tuple();
      if (cur().type != TokType::kVarEnd) fail_here(fmt::format("expected '}}}}', got {}", describe(cur())));
      ++i_;
      body.push_back(std::move(s));
    } else if (t.type == TokType::kBlockBegin) {
      for (const char* e : ends)
        if (look().type == TokType::kName && look().text == e) {
          ++i_;
          return body;
        }
      ++i_;
      body.push_back(parse_statement());
    } else {
      fail_here(fmt::format("unexpected {}", describe(t)));
    }
  }
}

StmtPtr Parser::parse_statement() {
  const Loc loc = cur().loc;
  if (cur().type != TokType::kName) fail_here(fmt::format("expected a statement name after '{{%', got {}", describe(cur())));
  const std::string word = cur().text;
  ++i_;
  if (word == "if") return parse_if(loc);
  if (word == "for") return parse_for(loc);
  if (word == "set") return parse_set(loc);
  if (word == "macro") return parse_macro(loc);
  if (word == "generation") return parse_simple_block(StmtKind::kGeneration, "endgeneration", loc);
  if (word == "break" || word == "continue") {
    if (loop_depth_ == 0) throw TemplateError(loc, fmt::format("'{{% {} %}}' outside a for loop", word));
    expect_block_end(word.c_str());
    auto s = std::make_unique<Stmt>();
    s->kind = word == "break" ? StmtKind::kBreak : StmtKind::kContinue;
    s->loc = loc;
    return s;
  }
  static const char* const kUnsupported[] = {"block", "extends", "include", "import", "from", "call", "filter",
                                             "with", "autoescape", "do", "trans", "pluralize"};
  for (const char* u : kUnsupported)
    if (word == u) throw TemplateError(loc, fmt::format("unsupported statement '{{% {} %}}' (docs/chat-templates.md)", word));
  static const char* const kEnds[] = {"endif", "elif", "else", "endfor", "endset", "endmacro", "endgeneration", "endraw"};
  for (const char* e : kEnds)
    if (word == e) throw TemplateError(loc, fmt::format("unexpected '{{% {} %}}' with no open block it could close", word));
  throw TemplateError(loc, fmt::format("unknown statement '{{% {} %}}'", word));
}

StmtPtr Parser::parse_if(Loc loc) {
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kIf;
  s->loc = loc;
  while (true) {
    ExprPtr cond = parse_tuple(false);
    expect_block_end("if");
    Body body = subparse({"elif", "else", "endif"}, "if", loc);
    s->branches.emplace_back(std::move(cond), std::move(body));
    const std::string word = t_[i_++].text;
    if (word == "elif") continue;
    if (word == "else") {
      expect_block_end("else");
      s->branches.emplace_back(nullptr, subparse({"endif"}, "if", loc));
      ++i_;
    }
    expect_block_end("endif");
    return s;
  }
}

// Assignment targets: `a`, `a, b` or `(a, b)` (names only).
std::vector<std::string> Parser::parse_assign_names(const char* stop_name) {
  std::vector<std::string> names;
  const bool parens = skip_op("(");
  while (true) {
    const Loc loc = cur().loc;
    const std::string n = expect_name("a variable name");
    static const char* const kReserved[] = {"true", "false", "none", "True", "False", "None"};
    for (const char* r : kReserved)
      if (n == r) throw TemplateError(loc, fmt::format("cannot assign to '{}'", n));
    names.push_back(n);
    if (!skip_op(",")) break;
    if ((stop_name && is_name(stop_name)) || is_op(")") || is_op("=")) break;
  }
  if (parens) expect_op(")");
  return names;
}

StmtPtr Parser::parse_for(Loc loc) {
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kFor;
  s->loc = loc;
  s->targets = parse_assign_names("in");
  if (!skip_name("in")) fail_here(fmt::format("expected 'in' in the for loop, got {}", describe(cur())));
  s->expr = parse_tuple(false, "recursive");
  if (skip_name("if")) s->cond = parse_expression();
  if (is_name("recursive")) fail_here("unsupported: recursive for loops");
  expect_block_end("for");
  ++loop_depth_;
  s->body = subparse({"endfor", "else"}, "for", loc);
  --loop_depth_;
  if (t_[i_++].text == "else") {
    expect_block_end("else");
    s->else_body = subparse({"endfor"}, "for", loc);
    ++i_;
  }
  expect_block_end("endfor");
  return s;
}

StmtPtr Parser::parse_set(Loc loc) {
  auto s = std::make_unique<Stmt>();
  s->loc = loc;
  if (cur().type == TokType::kName && look().type == TokType::kOp && look().text == ".") {
    s->targets.push_back(t_[i_].text);
    i_ += 2;
    s->attr = expect_name("an attribute name after '.'");
  } else {
    s->targets = parse_assign_names(nullptr);
  }
  if (skip_op("=")) {
    s->kind = StmtKind::kSet;
    s->expr = parse_tuple();
    expect_block_end("set");
    return s;
  }
  if (!s->attr.empty() || s->targets.size() != 1)
    fail_here(fmt::format("expected '=' in the set statement, got {}", describe(cur())));
  s->kind = StmtKind::kSetBlock;
  if (is_op("|")) s->expr = parse_filter(nullptr);
  expect_block_end("set");
  s->body = subparse({"endset"}, "set", loc);
  ++i_;
  expect_block_end("endset");
  return s;
}

StmtPtr Parser::parse_macro(Loc loc) {
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kMacro;
  s->loc = loc;
  s->name = expect_name("a macro name");
  expect_op("(");
  while (!skip_op(")")) {
    if (!s->params.empty()) expect_op(",");
    if (skip_op(")")) break;
    if (is_op("*") || is_op("**")) fail_here("unsupported: *args and **kwargs in macro parameters");
    std::string param = expect_name("a parameter name");
    ExprPtr def = skip_op("=") ? parse_expression() : nullptr;
    if (!def && !s->params.empty() && s->params.back().second)
      fail_here(fmt::format("parameter '{}' without a default follows one with a default", param));
    s->params.emplace_back(std::move(param), std::move(def));
  }
  expect_block_end("macro");
  const int saved_loops = loop_depth_;
  loop_depth_ = 0;  // break/continue cannot leave a macro
  s->body = subparse({"endmacro"}, "macro", loc);
  loop_depth_ = saved_loops;
  ++i_;
  if (cur().type == TokType::kName) ++i_;  // {% endmacro name %}
  expect_block_end("endmacro");
  return s;
}

StmtPtr Parser::parse_simple_block(StmtKind kind, const char* end, Loc loc) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->loc = loc;
  expect_block_end("generation");
  s->body = subparse({end}, "generation", loc);
  ++i_;
  expect_block_end(end);
  return s;
}

}  // namespace detail

Body parse_template(std::string_view source) { return detail::Parser(lex(source)).parse_all(); }

}  // namespace chatforge::tok::jinja
