// Filters over sequences (builtins.h), as jinja2 defines them: map (attribute= or a filter
// name), select/reject (a test name, or truth), selectattr/rejectattr, unique, sort
// (stable; strings compared case-insensitively unless case_sensitive), reverse. Also the
// iteration and dotted-attribute helpers every sequence filter shares.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja {
namespace {

Value list_of(const std::vector<Value>& items, const char* fn, Loc loc) {
  Json out = Json::array();
  for (const Value& v : items) {
    if (v.is_undefined())
      fail_at(loc, "{}: {}", fn, v.why_undefined().empty() ? "an item is undefined" : v.why_undefined());
    if (!v.is_data()) fail_at(loc, "{}: a {} cannot be stored in a list", fn, type_name(v));
    out.push_back(v.data());
  }
  return Value::of(std::move(out));
}

// The arguments after the first `skip` positional ones.
CallArgs rest_args(const CallArgs& a, size_t skip) {
  CallArgs r;
  r.loc = a.loc;
  r.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(std::min(skip, a.args.size())), a.args.end());
  r.kwargs = a.kwargs;
  return r;
}

Value f_map(const Value& in, CallArgs& a) {
  std::vector<Value> out;
  const std::vector<Value> items = iterate_value(in, a.loc);
  if (a.args.empty()) {
    const auto b = bind_args(a, {"attribute", "default"}, "map");
    if (!b[0]) fail_at(a.loc, "map needs a filter name or attribute=");
    const std::string attr = to_str(*b[0]);
    for (const Value& item : items) {
      Value v = attribute_path(item, attr);
      out.push_back(v.is_undefined() && b[1] ? *b[1] : v);
    }
  } else {
    const std::string name = arg_str(a.args[0], "map", "the filter name", a.loc);
    if (!has_filter(name)) fail_at(a.loc, "map: unknown filter '{}'", name);
    for (const Value& item : items) {
      CallArgs rest = rest_args(a, 1);
      out.push_back(apply_filter(name, item, rest));
    }
  }
  return list_of(out, "map", a.loc);
}

// select/reject (attr empty) and selectattr/rejectattr.
Value select_impl(const Value& in, CallArgs& a, bool by_attr, bool keep_if, const char* fn) {
  if (by_attr && a.args.empty()) fail_at(a.loc, "{} needs an attribute name", fn);
  const size_t off = by_attr ? 1 : 0;
  std::string test;
  if (a.args.size() > off) {
    test = arg_str(a.args[off], fn, "the test name", a.loc);
    if (!has_test(test)) fail_at(a.loc, "{}: unknown test '{}'", fn, test);
  }
  const std::string attr = by_attr ? to_str(a.args[0]) : "";
  std::vector<Value> out;
  for (const Value& item : iterate_value(in, a.loc)) {
    const Value probe = by_attr ? attribute_path(item, attr) : item;
    CallArgs rest = rest_args(a, off + 1);
    const bool pass = test.empty() ? truthy(probe) : apply_test(test, probe, rest);
    if (pass == keep_if) out.push_back(item);
  }
  return list_of(out, fn, a.loc);
}

// The key unique and sort compare: the attribute, lower-cased when a string and not case_sensitive.
Value sort_key(const Value& item, const std::optional<Value>& attribute, bool case_sensitive) {
  Value k = attribute && !attribute->is_none() ? attribute_path(item, to_str(*attribute)) : item;
  if (!case_sensitive && k.is_string()) k = Value::of(py::lower(k.str()));
  return k;
}

Value f_unique(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"case_sensitive", "attribute"}, "unique");
  const bool cs = b[0] && truthy(*b[0]);
  std::vector<Value> out, seen;
  for (const Value& item : iterate_value(in, a.loc)) {
    const Value k = sort_key(item, b[1], cs);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return list_of(out, "unique", a.loc);
}

Value f_sort(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"reverse", "case_sensitive", "attribute"}, "sort");
  const bool rev = b[0] && truthy(*b[0]);
  const bool cs = b[1] && truthy(*b[1]);
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : iterate_value(in, a.loc)) keyed.emplace_back(sort_key(item, b[2], cs), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return rev ? compare(y.first, x.first, "<", a.loc) < 0 : compare(x.first, y.first, "<", a.loc) < 0;
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return list_of(out, "sort", a.loc);
}

Value f_reverse(const Value& in, CallArgs& a) {
  if (!a.args.empty() || !a.kwargs.empty()) fail_at(a.loc, "filter reverse takes no arguments");
  std::vector<Value> items = iterate_value(in, a.loc);
  std::reverse(items.begin(), items.end());
  if (in.is_string()) {
    std::string s;
    for (const Value& c : items) s += c.str();
    return Value::of(std::move(s));
  }
  return list_of(items, "reverse", a.loc);
}

using Filter = Value (*)(const Value&, CallArgs&);

const std::map<std::string_view, Filter>& seq_filters() {
  static const std::map<std::string_view, Filter> m = {
      {"map", f_map},
      {"select", [](const Value& in, CallArgs& a) { return select_impl(in, a, false, true, "select"); }},
      {"reject", [](const Value& in, CallArgs& a) { return select_impl(in, a, false, false, "reject"); }},
      {"selectattr", [](const Value& in, CallArgs& a) { return select_impl(in, a, true, true, "selectattr"); }},
      {"rejectattr", [](const Value& in, CallArgs& a) { return select_impl(in, a, true, false, "rejectattr"); }},
      {"unique", f_unique},
      {"sort", f_sort},
      {"reverse", f_reverse},
  };
  return m;
}

}  // namespace

std::vector<Value> iterate_value(const Value& v, Loc loc) {
  std::vector<Value> items;
  if (v.is_undefined()) return items;
  if (v.is_list()) {
    for (const Json& e : v.data()) items.push_back(v.child(e));
  } else if (v.is_dict()) {
    for (auto it = v.data().begin(); it != v.data().end(); ++it) items.push_back(Value::of(it.key()));
  } else if (v.is_string()) {
    const std::string& s = v.str();
    const std::vector<size_t> offs = py::char_offsets(s);
    for (size_t k = 0; k + 1 < offs.size(); ++k) items.push_back(Value::of(s.substr(offs[k], offs[k + 1] - offs[k])));
  } else {
    fail_at(loc, "'{}' object is not iterable", type_name(v));
  }
  return items;
}

Value attribute_path(const Value& item, const std::string& path) {
  Value cur = item;
  for (const std::string& part : py::split(path, std::string("."), -1)) {
    if (cur.is_dict()) {
      auto hit = cur.data().find(part);
      if (hit == cur.data().end()) return Value::undefined(fmt::format("'dict object' has no attribute '{}'", part));
      cur = cur.child(*hit);
    } else if (cur.is_list() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos &&
               part.size() < 10 && std::stoul(part) < cur.data().size()) {
      cur = cur.child(cur.data()[std::stoul(part)]);
    } else if (cur.kind() == Value::Kind::kNamespace && cur.ns().find(part)) {
      cur = *cur.ns().find(part);
    } else {
      return Value::undefined(fmt::format("'{} object' has no attribute '{}'", type_name(cur), part));
    }
  }
  return cur;
}

bool is_seq_filter(std::string_view name) { return seq_filters().count(name) > 0; }

Value seq_filter(std::string_view name, const Value& in, CallArgs& args) {
  return seq_filters().at(name)(in, args);
}

}  // namespace chatforge::tok::jinja
