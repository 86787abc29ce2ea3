// The parser's class, shared by parser_stmt.cpp (statements, blocks) and parser_expr.cpp
// (expressions). Recursive descent over the lexer's tokens; the method names follow
// jinja2's parser.py so the two can be compared rule by rule.
#pragma once
#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace chatforge::tok::jinja::detail {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}
  Body parse_all();

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;

  // Nesting guard: one per recursive rule entered.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser);
    ~Nest() { --p.depth_; }
  };

  const Token& cur() const { return t_[i_]; }
  const Token& look(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  bool is_op(const char* op) const { return cur().type == TokType::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == TokType::kName && cur().text == n; }
  bool skip_op(const char* op);
  bool skip_name(const char* n);
  void expect_op(const char* op);
  std::string expect_name(const char* what);
  void expect_block_end(const char* statement);
  [[noreturn]] void fail_here(const std::string& msg) const;
  std::string describe(const Token& t) const;

  // Statements (parser_stmt.cpp).
  Body subparse(std::initializer_list<const char*> ends, const char* opener, Loc opener_loc);
  StmtPtr parse_statement();
  StmtPtr parse_if(Loc loc);
  StmtPtr parse_for(Loc loc);
  StmtPtr parse_set(Loc loc);
  StmtPtr parse_macro(Loc loc);
  StmtPtr parse_simple_block(StmtKind kind, const char* end, Loc loc);
  std::vector<std::string> parse_assign_names(const char* stop_name);

  // Expressions (parser_expr.cpp), in jinja2's precedence order, loosest first.
  ExprPtr parse_expression(bool with_condexpr = true);
  ExprPtr parse_tuple(bool with_condexpr = true, const char* extra_end = nullptr, bool explicit_parens = false);
  ExprPtr parse_filter(ExprPtr node);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_power_operand();  // parse_unary(true): what `**` takes on either side
  ExprPtr parse_left_assoc(std::initializer_list<const char*> ops, bool names, ExprPtr (Parser::*next)());
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  ExprPtr parse_test(ExprPtr node);
  ExprPtr parse_list();
  ExprPtr parse_dict();
  void parse_call_args(Expr& call);
};

ExprPtr make_expr(ExprKind kind, Loc loc);

}  // namespace chatforge::tok::jinja::detail
