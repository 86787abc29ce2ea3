// The syntax tree the parser builds and the evaluator walks: expressions (Expr) and
// statements (Stmt), one struct each with a kind and the fields that kind uses (listed
// per kind below). Every node keeps its Loc for error messages.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace chatforge::tok::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind : uint8_t {
  kLiteral,   // literal
  kName,      // name
  kList,      // items (a tuple is a list)
  kDict,      // items: key, value, key, value ...
  kGetAttr,   // a.name
  kGetItem,   // a[b]
  kSlice,     // a[b:c:d]: a, then items = {b, c, d}, null where omitted
  kCall,      // a(items..., kwargs...)
  kFilter,    // a | name(items..., kwargs...)
  kTest,      // a is [not] name(items..., kwargs...): negated
  kUnary,     // name ("-", "+", "not") a
  kBinary,    // a name b: + - * / // % ** ~ and or
  kCompare,   // a ops[0] items[0] ops[1] items[1] ... (==, !=, <, <=, >, >=, in, notin)
  kCondExpr,  // a if b else c (c may be null)
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Loc loc;
  Json literal;
  std::string name;
  bool negated = false;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind : uint8_t {
  kText,        // text
  kOutput,      // {{ expr }}
  kIf,          // branches: (condition, body) ...; a final else has a null condition
  kFor,         // for targets in expr [if cond] body [else else_body]
  kSet,         // set targets = expr, or set targets[0].attr = expr (namespace)
  kSetBlock,    // set targets[0] | filters %} body {% endset: filters chained on expr
  kMacro,       // macro name(params) body: params (name, default or null)
  kBreak,
  kContinue,
  kGeneration,  // {% generation %} body {% endgeneration %} (transformers' extension)
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  Loc loc;
  std::string text;
  std::string name;  // macro name
  std::string attr;  // kSet on a namespace attribute
  ExprPtr expr;
  ExprPtr cond;  // kFor's filter
  std::vector<std::string> targets;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<std::string, ExprPtr>> params;
  Body body, else_body;
  std::vector<ExprPtr> filters;  // kSetBlock: kFilter nodes whose `a` is null
};

}  // namespace chatforge::tok::jinja
