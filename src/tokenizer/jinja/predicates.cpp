// Jinja tests (`x is defined`, builtins.h), as jinja2 defines them: defined, undefined,
// none, boolean, true, false, integer (not bool), float, number (bool counts, as in
// Python), string, mapping, iterable, sequence, callable, odd, even, divisibleby,
// eq/equalto/==, ne/!=, lt/lessthan/<, le/<=, gt/greaterthan/>, ge/>=, in, lower,
// upper, sameas.
#include <fmt/format.h>

#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/eval.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja {
namespace {

using Test = bool (*)(const Value& v, CallArgs& a);

const Value& one_arg(CallArgs& a, const char* test) {
  if (a.args.size() != 1 || !a.kwargs.empty()) fail_at(a.loc, "test '{}' takes one argument", test);
  return a.args[0];
}

void test_no_args(CallArgs& a, const char* test) {
  if (!a.args.empty() || !a.kwargs.empty()) fail_at(a.loc, "test '{}' takes no arguments", test);
}

bool data_is(const Value& v, bool (*pred)(const Json&)) { return v.is_data() && pred(v.data()); }

int64_t int_of(const Value& v, CallArgs& a, const char* test) {
  if (!v.is_data() || !is_int(v.data())) fail_at(a.loc, "test '{}' needs an integer, not '{}'", test, type_name(v));
  return as_int(v.data());
}

template <int kCmp>  // -2 <, -1 <=, 1 >, 2 >=
bool cmp_test(const Value& v, CallArgs& a) {
  const char* op = kCmp == -2 ? "<" : kCmp == -1 ? "<=" : kCmp == 1 ? ">" : ">=";
  const int c = compare(v, one_arg(a, op), op, a.loc);
  return kCmp == -2 ? c < 0 : kCmp == -1 ? c <= 0 : kCmp == 1 ? c > 0 : c >= 0;
}

bool t_eq(const Value& v, CallArgs& a) { return equals(v, one_arg(a, "eq")); }
bool t_ne(const Value& v, CallArgs& a) { return !equals(v, one_arg(a, "ne")); }

bool t_sameas(const Value& v, CallArgs& a) {
  const Value& o = one_arg(a, "sameas");
  if (!v.is_data() || !o.is_data()) return equals(v, o) && v.kind() != Value::Kind::kData;
  const Json& x = v.data();
  const Json& y = o.data();
  if (x.is_null() || x.is_boolean() || y.is_null() || y.is_boolean()) return x.type() == y.type() && x == y;
  return &x == &y;
}

bool case_test(const Value& v, bool upper_case) {
  if (!v.is_string()) return false;
  const std::string& s = v.str();
  const std::string other = upper_case ? py::lower(s) : py::upper(s);
  const std::string same = upper_case ? py::upper(s) : py::lower(s);
  return s == same && s != other;  // has a cased character, all of one case
}

const std::map<std::string_view, Test>& tests() {
  static const std::map<std::string_view, Test> m = {
      {"defined", [](const Value& v, CallArgs& a) { test_no_args(a, "defined"); return !v.is_undefined(); }},
      {"undefined", [](const Value& v, CallArgs& a) { test_no_args(a, "undefined"); return v.is_undefined(); }},
      {"none", [](const Value& v, CallArgs& a) { test_no_args(a, "none"); return v.is_none(); }},
      {"boolean", [](const Value& v, CallArgs& a) { test_no_args(a, "boolean"); return data_is(v, [](const Json& j) { return j.is_boolean(); }); }},
      {"true", [](const Value& v, CallArgs& a) { test_no_args(a, "true"); return data_is(v, [](const Json& j) { return j.is_boolean() && j.get<bool>(); }); }},
      {"false", [](const Value& v, CallArgs& a) { test_no_args(a, "false"); return data_is(v, [](const Json& j) { return j.is_boolean() && !j.get<bool>(); }); }},
      {"integer", [](const Value& v, CallArgs& a) { test_no_args(a, "integer"); return data_is(v, [](const Json& j) { return j.is_number_integer(); }); }},
      {"float", [](const Value& v, CallArgs& a) { test_no_args(a, "float"); return data_is(v, [](const Json& j) { return j.is_number_float(); }); }},
      {"number", [](const Value& v, CallArgs& a) { test_no_args(a, "number"); return data_is(v, is_number); }},
      {"string", [](const Value& v, CallArgs& a) { test_no_args(a, "string"); return v.is_string(); }},
      {"mapping", [](const Value& v, CallArgs& a) { test_no_args(a, "mapping"); return v.is_dict(); }},
      {"iterable", [](const Value& v, CallArgs& a) { test_no_args(a, "iterable"); return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict(); }},
      {"sequence", [](const Value& v, CallArgs& a) { test_no_args(a, "sequence"); return v.is_string() || v.is_list() || v.is_dict(); }},
      {"callable", [](const Value& v, CallArgs& a) { test_no_args(a, "callable"); return v.kind() == Value::Kind::kCallable; }},
      {"odd", [](const Value& v, CallArgs& a) { test_no_args(a, "odd"); return int_of(v, a, "odd") % 2 != 0; }},
      {"even", [](const Value& v, CallArgs& a) { test_no_args(a, "even"); return int_of(v, a, "even") % 2 == 0; }},
      {"divisibleby", [](const Value& v, CallArgs& a) {
         const int64_t d = int_of(one_arg(a, "divisibleby"), a, "divisibleby");
         if (d == 0) fail_at(a.loc, "test 'divisibleby': division by zero");
         return int_of(v, a, "divisibleby") % d == 0;
       }},
      {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"ne", t_ne}, {"!=", t_ne},
      {"lt", cmp_test<-2>}, {"lessthan", cmp_test<-2>}, {"<", cmp_test<-2>}, {"le", cmp_test<-1>}, {"<=", cmp_test<-1>},
      {"gt", cmp_test<1>}, {"greaterthan", cmp_test<1>}, {">", cmp_test<1>}, {"ge", cmp_test<2>}, {">=", cmp_test<2>},
      {"in", [](const Value& v, CallArgs& a) { return ops::contains(one_arg(a, "in"), v, a.loc); }},
      {"lower", [](const Value& v, CallArgs& a) { test_no_args(a, "lower"); return case_test(v, false); }},
      {"upper", [](const Value& v, CallArgs& a) { test_no_args(a, "upper"); return case_test(v, true); }},
      {"sameas", t_sameas},
  };
  return m;
}

}  // namespace

bool has_test(std::string_view name) { return tests().count(name) > 0; }

bool apply_test(std::string_view name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail_at(args.loc, "unknown test '{}'", name);
  return it->second(input, args);
}

}  // namespace chatforge::tok::jinja
