// The global functions a template can call: jinja2's namespace(), range() (capped at
// 100000 items like jinja2's sandbox), dict(), and transformers' raise_exception(msg) and
// strftime_now(fmt) (the C library's strftime, as Python's datetime.strftime uses, on
// RenderOptions::now when set, else the local time).
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/eval_impl.h"

namespace chatforge::tok::jinja::detail {
namespace {

constexpr int64_t kMaxRange = 100000;

Value range_fn(CallArgs& a) {
  if (!a.kwargs.empty() || a.args.empty() || a.args.size() > 3)
    fail_at(a.loc, "range() takes 1 to 3 integer arguments");
  int64_t v[3] = {0, 0, 1};
  for (size_t k = 0; k < a.args.size(); ++k) v[a.args.size() == 1 ? 1 : k] = arg_int(a.args[k], "range", "each argument", a.loc);
  const int64_t start = v[0], stop = v[1], step = v[2];
  if (step == 0) fail_at(a.loc, "range() step must not be zero");
  Json out = Json::array();
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) fail_at(a.loc, "range() larger than {} items", kMaxRange);
    out.push_back(i);
  }
  return Value::of(std::move(out));
}

Value namespace_fn(CallArgs& a) {
  auto ns = std::make_shared<Namespace>();
  for (const Value& arg : a.args) {
    if (!arg.is_dict()) fail_at(a.loc, "namespace() takes a dict or name=value arguments, not '{}'", type_name(arg));
    for (auto it = arg.data().begin(); it != arg.data().end(); ++it) ns->attrs.emplace_back(it.key(), arg.child(*it));
  }
  for (const auto& [k, v] : a.kwargs) {
    if (Value* slot = ns->find(k)) *slot = v;
    else ns->attrs.emplace_back(k, v);
  }
  return Value::of_namespace(std::move(ns));
}

Value dict_fn(CallArgs& a) {
  Json out = Json::object();
  for (const Value& arg : a.args) {
    if (!arg.is_dict()) fail_at(a.loc, "dict() takes a dict or name=value arguments, not '{}'", type_name(arg));
    for (auto it = arg.data().begin(); it != arg.data().end(); ++it) out[it.key()] = *it;
  }
  for (const auto& [k, v] : a.kwargs) {
    if (!v.is_data()) fail_at(a.loc, "dict(): the value of '{}' is {}", k, type_name(v));
    out[k] = v.data();
  }
  return Value::of(std::move(out));
}

// One strftime call with room for the longest expansions (%c is ~24 bytes); a format
// whose result would not fit the output limit fails instead of growing without bound.
std::string format_time(const std::string& fmt_str, const std::tm& tm, size_t max_size, Loc loc) {
  if (fmt_str.empty()) return "";
  if (fmt_str.find('\0') != std::string::npos) fail_at(loc, "strftime_now(): the format contains a NUL character");
  const size_t room = std::min<size_t>(256 + fmt_str.size() * 64, max_size);
  std::string buf(room, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), fmt_str.c_str(), &tm);
  if (n == 0 && fmt_str.size() * 64 > max_size) fail_at(loc, "strftime_now(): the result is over the output limit");
  return buf.substr(0, n);  // n == 0: a format that yields nothing
}

}  // namespace

void Renderer::install_globals() {
  globals_.set("range", Value::of_callable("range", range_fn));
  globals_.set("namespace", Value::of_callable("namespace", namespace_fn));
  globals_.set("dict", Value::of_callable("dict", dict_fn));
  globals_.set("raise_exception", Value::of_callable("raise_exception", [](CallArgs& a) -> Value {
    const auto b = bind_args(a, {"message"}, "raise_exception");
    throw TemplateError(a.loc, b[0] ? to_str(*b[0]) : "", true);
  }));
  globals_.set("strftime_now", Value::of_callable("strftime_now", [this](CallArgs& a) {
    const auto b = bind_args(a, {"format"}, "strftime_now");
    if (!b[0]) fail_at(a.loc, "strftime_now() needs a format");
    const std::string f = arg_str(*b[0], "strftime_now", "format", a.loc);
    std::tm tm{};
    if (opt_.now) {
      tm = *opt_.now;
    } else {
      const std::time_t t = std::time(nullptr);
      localtime_r(&t, &tm);
    }
    return Value::of(format_time(f, tm, opt_.limits.max_output, a.loc));
  }));
}

}  // namespace chatforge::tok::jinja::detail
