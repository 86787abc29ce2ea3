// Methods of strings and dicts that templates call (builtins.h, get_method): the
// non-mutating ones Python's str and dict have and jinja2's sandbox allows. Indexes that
// str.find returns count characters, as in Python.
#include <fmt/format.h>
#include <utf8proc.h>

#include <functional>
#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/eval.h"
#include "tokenizer/jinja/pystr.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok::jinja {
namespace {

using Method = std::function<Value(const Value& self, CallArgs& a)>;

std::optional<std::string> opt_str(const std::optional<Value>& v, const char* func, const char* param, Loc loc) {
  if (!v || v->is_none()) return std::nullopt;
  return arg_str(*v, func, param, loc);
}

int64_t opt_int(const std::optional<Value>& v, int64_t def, const char* func, const char* param, Loc loc) {
  if (!v || v->is_none()) return def;
  return arg_int(*v, func, param, loc);
}

Json str_list(const std::vector<std::string>& parts) {
  Json out = Json::array();
  for (const std::string& p : parts) out.push_back(p);
  return out;
}

// startswith/endswith: a string or a list of strings, within s[start:end] (characters).
Value starts_or_ends(const Value& self, CallArgs& a, bool ends) {
  const char* fn = ends ? "endswith" : "startswith";
  const auto b = bind_args(a, {ends ? "suffix" : "prefix", "start", "end"}, fn);
  if (!b[0]) fail_at(a.loc, "{}() needs an argument", fn);
  std::string s = self.str();
  if ((b[1] && !b[1]->is_none()) || (b[2] && !b[2]->is_none())) {
    std::optional<int64_t> lo, hi;
    if (b[1] && !b[1]->is_none()) lo = arg_int(*b[1], fn, "start", a.loc);
    if (b[2] && !b[2]->is_none()) hi = arg_int(*b[2], fn, "end", a.loc);
    s = ops::slice(self, lo, hi, std::nullopt, a.loc).str();
  }
  std::vector<std::string> subs;
  if (b[0]->is_list()) {
    for (const Json& x : b[0]->data()) subs.push_back(arg_str(b[0]->child(x), fn, "each item", a.loc));
  } else {
    subs.push_back(arg_str(*b[0], fn, ends ? "suffix" : "prefix", a.loc));
  }
  for (const std::string& sub : subs) {
    if (sub.size() > s.size()) continue;
    if (ends ? s.compare(s.size() - sub.size(), sub.size(), sub) == 0 : s.compare(0, sub.size(), sub) == 0)
      return Value::of(true);
  }
  return Value::of(false);
}

Value find_method(const Value& self, CallArgs& a, bool from_right) {
  const char* fn = from_right ? "rfind" : "find";
  const auto b = bind_args(a, {"sub"}, fn);
  if (!b[0]) fail_at(a.loc, "{}() needs an argument", fn);
  const std::string sub = arg_str(*b[0], fn, "sub", a.loc);
  const std::string& s = self.str();
  const size_t hit = from_right ? s.rfind(sub) : s.find(sub);
  if (hit == std::string::npos) return Value::of(int64_t{-1});
  return Value::of(static_cast<int64_t>(py::char_count(std::string_view(s).substr(0, hit))));
}

// str.format with {} / {0} / {name} fields and {{ }} escapes; no format specs.
Value format_method(const Value& self, CallArgs& a) {
  const std::string& f = self.str();
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if ((f[i] == '{' || f[i] == '}') && i + 1 < f.size() && f[i + 1] == f[i]) {
      out += f[i++];
      continue;
    }
    if (f[i] == '}') fail_at(a.loc, "format(): single '}}' in the format string");
    if (f[i] != '{') {
      out += f[i];
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos) fail_at(a.loc, "format(): unmatched '{{' in the format string");
    const std::string field = f.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos)
      fail_at(a.loc, "format(): unsupported field '{{{}}}' (only {{}}, {{0}} and {{name}})", field);
    const Value* v = nullptr;
    if (field.empty() || field.find_first_not_of("0123456789") == std::string::npos) {
      const size_t k = field.empty() ? auto_index++ : std::stoul(field);
      if (k >= a.args.size()) fail_at(a.loc, "format(): no argument {} for '{{{}}}'", k, field);
      v = &a.args[k];
    } else {
      for (const auto& [key, val] : a.kwargs)
        if (key == field) v = &val;
      if (!v) fail_at(a.loc, "format(): no keyword argument '{}'", field);
    }
    out += to_str(*v);
    i = close;
  }
  return Value::of(std::move(out));
}

// isdigit/isalpha/...: true when non-empty and every character passes.
Value char_class_method(const Value& self, const std::function<bool(int32_t)>& pass) {
  const std::string& s = self.str();
  if (s.empty()) return Value::of(false);
  for (size_t i = 0; i < s.size();) {
    const DecodedChar d = decode_utf8(s, i);
    if (d.cp < 0 || !pass(d.cp)) return Value::of(false);
    i += static_cast<size_t>(d.len);
  }
  return Value::of(true);
}

bool is_letter(int32_t cp) {
  const auto c = utf8proc_category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}
bool is_digit_cp(int32_t cp) { return utf8proc_category(cp) == UTF8PROC_CATEGORY_ND; }

Value strip_method(const Value& self, CallArgs& a, const char* fn, bool left, bool right) {
  const auto b = bind_args(a, {"chars"}, fn);
  return Value::of(py::strip(self.str(), opt_str(b[0], fn, "chars", a.loc), left, right));
}

Value split_method(const Value& self, CallArgs& a, const char* fn, bool from_right) {
  const auto b = bind_args(a, {"sep", "maxsplit"}, fn);
  const auto sep = opt_str(b[0], fn, "sep", a.loc);
  if (sep && sep->empty()) fail_at(a.loc, "{}(): empty separator", fn);
  const int64_t maxsplit = opt_int(b[1], -1, fn, "maxsplit", a.loc);
  return Value::of(str_list(from_right ? py::rsplit(self.str(), sep, maxsplit) : py::split(self.str(), sep, maxsplit)));
}

void method_no_args(CallArgs& a, const char* fn) {
  if (!a.args.empty() || !a.kwargs.empty()) fail_at(a.loc, "{}() takes no arguments", fn);
}

const std::map<std::string, Method>& string_methods() {
  static const std::map<std::string, Method> m = {
      {"startswith", [](const Value& s, CallArgs& a) { return starts_or_ends(s, a, false); }},
      {"endswith", [](const Value& s, CallArgs& a) { return starts_or_ends(s, a, true); }},
      {"strip", [](const Value& s, CallArgs& a) { return strip_method(s, a, "strip", true, true); }},
      {"lstrip", [](const Value& s, CallArgs& a) { return strip_method(s, a, "lstrip", true, false); }},
      {"rstrip", [](const Value& s, CallArgs& a) { return strip_method(s, a, "rstrip", false, true); }},
      {"split", [](const Value& s, CallArgs& a) { return split_method(s, a, "split", false); }},
      {"rsplit", [](const Value& s, CallArgs& a) { return split_method(s, a, "rsplit", true); }},
      {"upper", [](const Value& s, CallArgs& a) { method_no_args(a, "upper"); return Value::of(py::upper(s.str())); }},
      {"lower", [](const Value& s, CallArgs& a) { method_no_args(a, "lower"); return Value::of(py::lower(s.str())); }},
      {"title", [](const Value& s, CallArgs& a) { method_no_args(a, "title"); return Value::of(py::title_method(s.str())); }},
      {"capitalize",
       [](const Value& s, CallArgs& a) { method_no_args(a, "capitalize"); return Value::of(py::capitalize(s.str())); }},
      {"replace",
       [](const Value& s, CallArgs& a) {
         const auto b = bind_args(a, {"old", "new", "count"}, "replace");
         if (!b[0] || !b[1]) fail_at(a.loc, "replace() needs old and new");
         return Value::of(py::replace(s.str(), arg_str(*b[0], "replace", "old", a.loc),
                                      arg_str(*b[1], "replace", "new", a.loc), opt_int(b[2], -1, "replace", "count", a.loc)));
       }},
      {"find", [](const Value& s, CallArgs& a) { return find_method(s, a, false); }},
      {"rfind", [](const Value& s, CallArgs& a) { return find_method(s, a, true); }},
      {"count",
       [](const Value& s, CallArgs& a) {
         const auto b = bind_args(a, {"sub"}, "count");
         if (!b[0]) fail_at(a.loc, "count() needs an argument");
         return Value::of(py::count(s.str(), arg_str(*b[0], "count", "sub", a.loc)));
       }},
      {"join",
       [](const Value& s, CallArgs& a) {
         const auto b = bind_args(a, {"iterable"}, "join");
         if (!b[0] || !b[0]->is_list()) fail_at(a.loc, "join() needs a list of strings");
         std::string out;
         bool first = true;
         for (const Json& x : b[0]->data()) {
           if (!first) out += s.str();
           first = false;
           out += arg_str(b[0]->child(x), "join", "each item", a.loc);
         }
         return Value::of(std::move(out));
       }},
      {"format", format_method},
      {"removeprefix",
       [](const Value& s, CallArgs& a) {
         const auto b = bind_args(a, {"prefix"}, "removeprefix");
         const std::string p = b[0] ? arg_str(*b[0], "removeprefix", "prefix", a.loc) : "";
         return Value::of(s.str().compare(0, p.size(), p) == 0 ? s.str().substr(p.size()) : s.str());
       }},
      {"removesuffix",
       [](const Value& s, CallArgs& a) {
         const auto b = bind_args(a, {"suffix"}, "removesuffix");
         const std::string x = b[0] ? arg_str(*b[0], "removesuffix", "suffix", a.loc) : "";
         std::string t = s.str();
         if (!x.empty() && t.size() >= x.size() && t.compare(t.size() - x.size(), x.size(), x) == 0)
           t.resize(t.size() - x.size());
         return Value::of(std::move(t));
       }},
      {"isdigit", [](const Value& s, CallArgs& a) { method_no_args(a, "isdigit"); return char_class_method(s, is_digit_cp); }},
      {"isalpha", [](const Value& s, CallArgs& a) { method_no_args(a, "isalpha"); return char_class_method(s, is_letter); }},
      {"isalnum",
       [](const Value& s, CallArgs& a) {
         method_no_args(a, "isalnum");
         return char_class_method(s, [](int32_t c) { return is_letter(c) || is_digit_cp(c); });
       }},
      {"isspace",
       [](const Value& s, CallArgs& a) {
         method_no_args(a, "isspace");
         return char_class_method(s, [](int32_t c) { return py::is_space(static_cast<uint32_t>(c)); });
       }},
  };
  return m;
}

const std::map<std::string, Method>& dict_methods() {
  static const std::map<std::string, Method> m = {
      {"get",
       [](const Value& d, CallArgs& a) {
         const auto b = bind_args(a, {"key", "default"}, "get");
         if (!b[0]) fail_at(a.loc, "get() needs a key");
         if (b[0]->is_string()) {
           auto hit = d.data().find(b[0]->str());
           if (hit != d.data().end()) return d.child(*hit);
         }
         return b[1] ? *b[1] : Value::of(nullptr);
       }},
      {"items",
       [](const Value& d, CallArgs& a) {
         method_no_args(a, "items");
         Json out = Json::array();
         for (auto it = d.data().begin(); it != d.data().end(); ++it) out.push_back(Json::array({it.key(), *it}));
         return Value::of(std::move(out));
       }},
      {"keys",
       [](const Value& d, CallArgs& a) {
         method_no_args(a, "keys");
         Json out = Json::array();
         for (auto it = d.data().begin(); it != d.data().end(); ++it) out.push_back(it.key());
         return Value::of(std::move(out));
       }},
      {"values",
       [](const Value& d, CallArgs& a) {
         method_no_args(a, "values");
         Json out = Json::array();
         for (const Json& v : d.data()) out.push_back(v);
         return Value::of(std::move(out));
       }},
  };
  return m;
}

}  // namespace

std::string unsupported_method(const Value& obj, const std::string& name) {
  // Python's methods that templates could call but this interpreter does not have; the
  // mutating ones jinja2's sandbox refuses too.
  static const char* const kStr[] = {"center", "ljust", "rjust", "zfill", "partition", "rpartition", "splitlines",
                                     "index", "rindex", "casefold", "swapcase", "expandtabs", "encode", "isnumeric",
                                     "isdecimal", "istitle", "isprintable", "isidentifier", "translate", "format_map"};
  static const char* const kDict[] = {"copy", "fromkeys", "pop", "popitem", "setdefault", "update", "clear"};
  static const char* const kList[] = {"index", "count", "copy", "append", "extend", "insert", "pop", "remove",
                                      "reverse", "sort", "clear"};
  auto listed = [&](const auto& names) {
    for (const char* n : names)
      if (name == n) return true;
    return false;
  };
  if ((obj.is_string() && listed(kStr)) || (obj.is_dict() && listed(kDict)) || (obj.is_list() && listed(kList)))
    return fmt::format("unsupported: the {} method '{}' (docs/chat-templates.md)", type_name(obj), name);
  return "";
}

std::optional<Value> get_method(const Value& obj, const std::string& name) {
  const std::map<std::string, Method>* table = obj.is_string() ? &string_methods() : obj.is_dict() ? &dict_methods() : nullptr;
  if (!table) return std::nullopt;
  auto it = table->find(name);
  if (it == table->end()) return std::nullopt;
  const Method& m = it->second;
  return Value::of_callable(name, [obj, &m](CallArgs& a) { return m(obj, a); });
}

}  // namespace chatforge::tok::jinja
