// Python's operators on template values (eval.h, namespace ops): int arithmetic with
// overflow checks (Python's ints are unbounded; ours fail cleanly past 64 bits), true
// division, floor division and modulo with Python's signs, str/list concatenation and
// repetition (bounded by max_size), `in`, and slicing with negative indexes and steps.
#include <cmath>
#include <limits>

#include "tokenizer/jinja/eval.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja::ops {
namespace {

[[noreturn]] void bad_operands(const std::string& op, const Value& a, const Value& b, Loc loc) {
  if (a.is_undefined()) fail_at(loc, "{}", a.why_undefined().empty() ? "an undefined value" : a.why_undefined());
  if (b.is_undefined()) fail_at(loc, "{}", b.why_undefined().empty() ? "an undefined value" : b.why_undefined());
  fail_at(loc, "unsupported operand types for {}: '{}' and '{}'", op, type_name(a), type_name(b));
}

Value arith_int(const std::string& op, int64_t x, int64_t y, Loc loc) {
  if (op == "+" || op == "-" || op == "*") {
    int64_t r = 0;
    const bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &r)
                          : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                      : __builtin_mul_overflow(x, y, &r);
    if (overflow) fail_at(loc, "integer overflow in '{}' (beyond 64 bits)", op);
    return Value::of(r);
  }
  if (op == "/") {
    if (y == 0) fail_at(loc, "division by zero");
    return Value::of(static_cast<double>(x) / static_cast<double>(y));
  }
  if (op == "//" || op == "%") {
    if (y == 0) fail_at(loc, "{} by zero", op == "//" ? "integer division" : "modulo");
    if (x == std::numeric_limits<int64_t>::min() && y == -1) fail_at(loc, "integer overflow in '{}'", op);
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) --q, m += y;
    return Value::of(op == "//" ? q : m);
  }
  // "**"
  if (y < 0) return Value::of(std::pow(static_cast<double>(x), static_cast<double>(y)));
  if (y == 0) return Value::of(int64_t{1});
  if (x == 0 || x == 1) return Value::of(x);
  if (x == -1) return Value::of(y % 2 == 0 ? int64_t{1} : int64_t{-1});
  int64_t result = 1;  // |x| >= 2: overflow comes within 64 steps
  for (int64_t k = 0; k < y; ++k)
    if (__builtin_mul_overflow(result, x, &result)) fail_at(loc, "integer overflow in '**' (beyond 64 bits)");
  return Value::of(result);
}

Value arith_float(const std::string& op, double x, double y, Loc loc) {
  if (op == "+") return Value::of(x + y);
  if (op == "-") return Value::of(x - y);
  if (op == "*") return Value::of(x * y);
  if (op == "**") return Value::of(std::pow(x, y));
  if (y == 0) fail_at(loc, "float division by zero");
  if (op == "/") return Value::of(x / y);
  const double q = std::floor(x / y);
  if (op == "//") return Value::of(q);
  double m = std::fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return Value::of(m);
}

// s * n or list * n, capped at max_size bytes/items.
Value repeat(const Value& seq, int64_t n, size_t max_size, Loc loc) {
  if (n <= 0) return Value::of(seq.is_string() ? Json("") : Json::array());
  const size_t unit = seq.is_string() ? seq.str().size() : seq.data().size();
  if (unit != 0 && static_cast<uint64_t>(n) > max_size / unit)
    fail_at(loc, "'*' would build a value larger than the limit of {} bytes", max_size);
  if (seq.is_string()) {
    std::string out;
    out.reserve(unit * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out += seq.str();
    return Value::of(std::move(out));
  }
  Json out = Json::array();
  for (int64_t k = 0; k < n; ++k)
    for (const Json& x : seq.data()) out.push_back(x);
  return Value::of(std::move(out));
}

}  // namespace

Value binary(const std::string& op, const Value& a, const Value& b, Loc loc, size_t max_size) {
  if (op == "~") {
    std::string s = to_str(a) + to_str(b);
    if (s.size() > max_size) fail_at(loc, "'~' built a string over the limit of {} bytes", max_size);
    return Value::of(std::move(s));
  }
  if (!a.is_data() || !b.is_data()) bad_operands(op, a, b, loc);
  const Json& x = a.data();
  const Json& y = b.data();
  if (is_number(x) && is_number(y)) {
    if (is_int(x) && is_int(y)) return arith_int(op, as_int(x), as_int(y), loc);
    return arith_float(op, as_double(x), as_double(y), loc);
  }
  if (op == "+" && ((x.is_string() && y.is_string()) || (x.is_array() && y.is_array()))) {
    if (x.is_string()) {
      if (a.str().size() + b.str().size() > max_size) fail_at(loc, "'+' built a string over the limit of {} bytes", max_size);
      return Value::of(a.str() + b.str());
    }
    Json out = x;
    for (const Json& e : y) out.push_back(e);
    return Value::of(std::move(out));
  }
  if (op == "*" && (x.is_string() || x.is_array()) && is_int(y)) return repeat(a, as_int(y), max_size, loc);
  if (op == "*" && (y.is_string() || y.is_array()) && is_int(x)) return repeat(b, as_int(x), max_size, loc);
  if (op == "%" && x.is_string()) fail_at(loc, "unsupported: string formatting with '%' (use ~ or format())");
  bad_operands(op, a, b, loc);
}

Value negate(const Value& a, bool minus, Loc loc) {
  if (!a.is_data() || !is_number(a.data()))
    fail_at(loc, "bad operand type for unary {}: '{}'", minus ? '-' : '+', type_name(a));
  const Json& x = a.data();
  if (x.is_number_float()) return Value::of(minus ? -x.get<double>() : x.get<double>());
  const int64_t v = as_int(x);
  if (minus && v == std::numeric_limits<int64_t>::min()) fail_at(loc, "integer overflow in unary '-'");
  return Value::of(minus ? -v : v);
}

bool contains(const Value& container, const Value& item, Loc loc) {
  if (container.is_undefined()) return false;  // jinja2's Undefined is an empty iterable
  if (container.is_string()) {
    if (!item.is_string())
      fail_at(loc, "'in <string>' requires a string on the left, not '{}'", type_name(item));
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Json& e : container.data())
      if (equals(container.child(e), item)) return true;
    return false;
  }
  if (container.is_dict()) return item.is_string() && container.data().contains(item.str());
  fail_at(loc, "argument of type '{}' is not iterable (in 'in')", type_name(container));
}

Value slice(const Value& v, const std::optional<int64_t>& start, const std::optional<int64_t>& stop,
            const std::optional<int64_t>& step, Loc loc) {
  if (!v.is_string() && !v.is_list()) fail_at(loc, "'{}' cannot be sliced", type_name(v));
  const int64_t st = step.value_or(1);
  if (st == 0) fail_at(loc, "slice step cannot be zero");
  std::vector<size_t> offs;
  if (v.is_string()) offs = py::char_offsets(v.str());
  const int64_t n = v.is_string() ? static_cast<int64_t>(offs.size()) - 1 : static_cast<int64_t>(v.data().size());
  auto clamp = [&](const std::optional<int64_t>& x, int64_t def) {
    if (!x) return def;
    int64_t i = *x < 0 ? *x + n : *x;
    if (i < 0) i = st < 0 ? -1 : 0;
    if (i >= n) i = st < 0 ? n - 1 : n;
    return i;
  };
  const int64_t b = clamp(start, st > 0 ? 0 : n - 1);
  const int64_t e = clamp(stop, st > 0 ? n : -1);
  std::string s;
  Json list = Json::array();
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (v.is_string()) s.append(v.str(), offs[static_cast<size_t>(i)], offs[static_cast<size_t>(i) + 1] - offs[static_cast<size_t>(i)]);
    else list.push_back(v.data()[static_cast<size_t>(i)]);
  }
  return v.is_string() ? Value::of(std::move(s)) : Value::of(std::move(list));
}

}  // namespace chatforge::tok::jinja::ops
