// Filters (builtins.h), each as jinja2 defines it, with transformers' tojson (Python's
// json.dumps with ensure_ascii=False). Supported: trim, length/count, tojson, string,
// upper, lower, capitalize, title, first, last, join, default/d, items, list, replace,
// int, float, abs, safe, escape/e, map, select, reject, selectattr, rejectattr, unique,
// sort, reverse. str() of the input is what string filters see (None -> "None",
// undefined -> "").
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja {
namespace {

using Filter = Value (*)(const Value& in, CallArgs& a);

bool opt_bool(const std::optional<Value>& v) { return v && truthy(*v); }

void filter_no_args(CallArgs& a, const char* fn) {
  if (!a.args.empty() || !a.kwargs.empty()) fail_at(a.loc, "filter {} takes no arguments", fn);
}

Value f_trim(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"chars"}, "trim");
  std::optional<std::string> chars;
  if (b[0] && !b[0]->is_none()) chars = arg_str(*b[0], "trim", "chars", a.loc);
  return Value::of(py::strip(to_str(in), chars, true, true));
}

Value f_length(const Value& in, CallArgs& a) {
  filter_no_args(a, "length");
  if (in.is_undefined()) return Value::of(int64_t{0});
  if (in.is_string()) return Value::of(static_cast<int64_t>(py::char_count(in.str())));
  if (in.is_list() || in.is_dict()) return Value::of(static_cast<int64_t>(in.data().size()));
  fail_at(a.loc, "object of type '{}' has no length", type_name(in));
}

Value f_tojson(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  if (in.is_undefined()) fail_at(a.loc, "tojson: {}", in.why_undefined().empty() ? "the value is undefined" : in.why_undefined());
  if (!in.is_data()) fail_at(a.loc, "tojson: a {} is not JSON serializable", type_name(in));
  DumpOptions opt;
  opt.ensure_ascii = opt_bool(b[0]);
  if (b[1] && !b[1]->is_none()) {
    if (b[1]->is_string()) opt.indent = b[1]->str();
    else opt.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(arg_int(*b[1], "tojson", "indent", a.loc), 1024))), ' ');
  }
  if (b[2] && !b[2]->is_none()) {
    if (!b[2]->is_list() || b[2]->data().size() != 2) fail_at(a.loc, "tojson: separators must be a pair of strings");
    opt.separators = std::make_pair(arg_str(b[2]->child(b[2]->data()[0]), "tojson", "separators", a.loc),
                                    arg_str(b[2]->child(b[2]->data()[1]), "tojson", "separators", a.loc));
  }
  opt.sort_keys = opt_bool(b[3]);
  return Value::of(dumps(in.data(), opt));
}

Value f_string(const Value& in, CallArgs& a) { filter_no_args(a, "string"); return Value::of(to_str(in)); }
Value f_upper(const Value& in, CallArgs& a) { filter_no_args(a, "upper"); return Value::of(py::upper(to_str(in))); }
Value f_lower(const Value& in, CallArgs& a) { filter_no_args(a, "lower"); return Value::of(py::lower(to_str(in))); }
Value f_capitalize(const Value& in, CallArgs& a) { filter_no_args(a, "capitalize"); return Value::of(py::capitalize(to_str(in))); }

// jinja2's title: words start after runs of -, whitespace, ( { [ <; first letter upper, rest lower.
Value f_title(const Value& in, CallArgs& a) {
  filter_no_args(a, "title");
  const std::string s = to_str(in);
  const std::vector<size_t> offs = py::char_offsets(s);
  std::string out;
  bool word_start = true;
  for (size_t k = 0; k + 1 < offs.size(); ++k) {
    const std::string ch = s.substr(offs[k], offs[k + 1] - offs[k]);
    const bool sep = ch == "-" || ch == "(" || ch == "{" || ch == "[" || ch == "<" || py::strip(ch, std::nullopt, true, true).empty();
    out += sep ? ch : word_start ? py::upper(ch) : py::lower(ch);
    word_start = sep;
  }
  return Value::of(std::move(out));
}

Value f_first_last(const Value& in, CallArgs& a, bool last) {
  filter_no_args(a, last ? "last" : "first");
  const std::vector<Value> items = iterate_value(in, a.loc);
  if (items.empty()) return Value::undefined(fmt::format("{}: the sequence was empty", last ? "last" : "first"));
  return last ? items.back() : items.front();
}
Value f_first(const Value& in, CallArgs& a) { return f_first_last(in, a, false); }
Value f_last(const Value& in, CallArgs& a) { return f_first_last(in, a, true); }

Value f_join(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"d", "attribute"}, "join");
  const std::string sep = b[0] ? to_str(*b[0]) : "";
  std::string out;
  bool first = true;
  for (const Value& item : iterate_value(in, a.loc)) {
    if (!first) out += sep;
    first = false;
    out += to_str(b[1] && !b[1]->is_none() ? attribute_path(item, to_str(*b[1])) : item);
  }
  return Value::of(std::move(out));
}

Value f_default(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"default_value", "boolean"}, "default");
  if (in.is_undefined() || (opt_bool(b[1]) && !truthy(in))) return b[0] ? *b[0] : Value::of("");
  return in;
}

Value f_items(const Value& in, CallArgs& a) {
  filter_no_args(a, "items");
  Json out = Json::array();
  if (in.is_undefined()) return Value::of(std::move(out));
  if (!in.is_dict()) fail_at(a.loc, "items: can only get item pairs from a dict, not '{}'", type_name(in));
  for (auto it = in.data().begin(); it != in.data().end(); ++it) out.push_back(Json::array({it.key(), *it}));
  return Value::of(std::move(out));
}

Json to_list(const std::vector<Value>& items, Loc loc) {
  Json out = Json::array();
  for (const Value& v : items) {
    if (!v.is_data()) fail_at(loc, "a {} cannot be stored in a list", type_name(v));
    out.push_back(v.data());
  }
  return out;
}

Value f_list(const Value& in, CallArgs& a) {
  filter_no_args(a, "list");
  return Value::of(to_list(iterate_value(in, a.loc), a.loc));
}

Value f_replace(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"old", "new", "count"}, "replace");
  if (!b[0] || !b[1]) fail_at(a.loc, "replace needs old and new strings");
  const int64_t count = b[2] && !b[2]->is_none() ? arg_int(*b[2], "replace", "count", a.loc) : -1;
  return Value::of(py::replace(to_str(in), to_str(*b[0]), to_str(*b[1]), count));
}

// Python's int(str, base) / float(str): surrounding whitespace and single '_' between digits.
std::optional<int64_t> parse_int(std::string s, int base) {
  s = py::strip(s, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && std::isalnum(static_cast<unsigned char>(s[i - 1])) &&
        std::isalnum(static_cast<unsigned char>(s[i + 1])))
      continue;
    clean += s[i];
  }
  if (clean.empty() || base < 2 || base > 36) return std::nullopt;
  size_t start = clean[0] == '+' || clean[0] == '-' ? 1 : 0;
  if (start == clean.size() || !std::isalnum(static_cast<unsigned char>(clean[start]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(clean.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> parse_float(std::string s) {
  s = py::strip(s, std::nullopt, true, true);
  if (s.empty() || s.find_first_of("xXpP") != std::string::npos) return std::nullopt;
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return d;
}

Value f_int(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"default", "base"}, "int");
  const Value def = b[0] ? *b[0] : Value::of(int64_t{0});
  const int base = b[1] ? static_cast<int>(arg_int(*b[1], "int", "base", a.loc)) : 10;
  if (!in.is_data() || in.is_none() || in.is_list() || in.is_dict()) return def;
  const Json& j = in.data();
  if (is_int(j)) return Value::of(as_int(j));
  std::optional<double> d;
  if (j.is_string()) {
    if (auto v = parse_int(j.get<std::string>(), base)) return Value::of(*v);
    d = parse_float(j.get<std::string>());
  } else {
    d = j.get<double>();
  }
  if (!d) return def;
  if (!std::isfinite(*d) || std::fabs(*d) >= 9.2e18) fail_at(a.loc, "int: cannot convert {} to an integer", py::float_repr(*d));
  return Value::of(static_cast<int64_t>(std::trunc(*d)));
}

Value f_float(const Value& in, CallArgs& a) {
  const auto b = bind_args(a, {"default"}, "float");
  const Value def = b[0] ? *b[0] : Value::of(0.0);
  if (in.is_data() && is_number(in.data())) return Value::of(as_double(in.data()));
  if (in.is_string())
    if (auto d = parse_float(in.str())) return Value::of(*d);
  return def;
}

Value f_abs(const Value& in, CallArgs& a) {
  filter_no_args(a, "abs");
  if (!in.is_data() || !is_number(in.data())) fail_at(a.loc, "abs: bad operand type '{}'", type_name(in));
  if (in.data().is_number_float()) return Value::of(std::fabs(in.data().get<double>()));
  const int64_t v = as_int(in.data());
  if (v == INT64_MIN) fail_at(a.loc, "abs: integer overflow");
  return Value::of(v < 0 ? -v : v);
}

Value f_safe(const Value& in, CallArgs& a) { filter_no_args(a, "safe"); return in; }

Value f_escape(const Value& in, CallArgs& a) {
  filter_no_args(a, "escape");
  std::string out;
  for (char c : to_str(in)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value::of(std::move(out));
}

const std::map<std::string_view, Filter>& filters() {
  static const std::map<std::string_view, Filter> m = {
      {"trim", f_trim}, {"length", f_length}, {"count", f_length}, {"tojson", f_tojson}, {"string", f_string},
      {"upper", f_upper}, {"lower", f_lower}, {"capitalize", f_capitalize}, {"title", f_title},
      {"first", f_first}, {"last", f_last}, {"join", f_join}, {"default", f_default}, {"d", f_default},
      {"items", f_items}, {"list", f_list}, {"replace", f_replace}, {"int", f_int}, {"float", f_float},
      {"abs", f_abs}, {"safe", f_safe}, {"escape", f_escape}, {"e", f_escape},
  };
  return m;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().count(name) > 0 || is_seq_filter(name); }

Value apply_filter(std::string_view name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it != filters().end()) return it->second(input, args);
  if (is_seq_filter(name)) return seq_filter(name, input, args);
  fail_at(args.loc, "unknown filter '{}'", name);
}

}  // namespace chatforge::tok::jinja
