// The values a Jinja template computes with, and Python's meaning of them (what jinja2
// under transformers does): JSON data (None, bool, int, float, str, list, dict — tuples are
// lists here), `undefined` (a missing variable or key: prints "", is false, iterates as
// empty, errors when used further), namespace() objects (shared and mutable: `set ns.x`
// is seen by every copy) and callables (globals, bound methods, macros).
// Data is immutable and shared: `messages[3].content` is a view into the context's JSON,
// never a copy. Errors are TemplateError with the line and column of the expression.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace chatforge::tok::jinja {

using Json = nlohmann::ordered_json;

// 1-based line and column (in characters) of a construct in the template source.
struct Loc {
  int line = 0;
  int column = 0;
};

// A template error: `message` is the text after the location. `raised` marks the
// template's own raise_exception(message).
class TemplateError : public Error {
 public:
  TemplateError(Loc loc, std::string message, bool raised = false)
      : Error(message), loc(loc), message(std::move(message)), raised(raised) {}
  Loc loc;
  std::string message;
  bool raised;
};

template <typename... Args>
[[noreturn]] void fail_at(Loc loc, fmt::format_string<Args...> f, Args&&... args) {
  throw TemplateError(loc, fmt::format(f, std::forward<Args>(args)...));
}

class Value;

// Arguments of a call, filter or test (the filtered value is not among them).
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  Loc loc;
};

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> fn;
};

struct Namespace;

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kData, kNamespace, kCallable };

  Value() = default;  // undefined, with no name
  // Undefined; `why` is the error shown if it is used further ("'x' is undefined").
  static Value undefined(std::string why);
  static Value of(Json j);
  // A view of `node`, which lives inside *root (no copy).
  static Value view(std::shared_ptr<const Json> root, const Json& node) {
    Value v;
    v.kind_ = Kind::kData;
    v.data_ = std::shared_ptr<const Json>(std::move(root), &node);
    return v;
  }
  static Value of_namespace(std::shared_ptr<Namespace> ns);
  static Value of_callable(std::string name, std::function<Value(CallArgs&)> fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_data() const { return kind_ == Kind::kData; }
  bool is_none() const { return is_data() && data_->is_null(); }
  bool is_string() const { return is_data() && data_->is_string(); }
  bool is_list() const { return is_data() && data_->is_array(); }
  bool is_dict() const { return is_data() && data_->is_object(); }

  const Json& data() const { return *data_; }
  const std::string& str() const { return data_->get_ref<const std::string&>(); }
  // A child node of this value's data, as a view sharing its storage.
  Value child(const Json& node) const { return view(data_, node); }
  Namespace& ns() const { return *ns_; }
  const Callable& callable() const { return *fn_; }
  const std::string& why_undefined() const { return why_; }

 private:
  Kind kind_ = Kind::kUndefined;
  std::shared_ptr<const Json> data_;
  std::shared_ptr<Namespace> ns_;
  std::shared_ptr<const Callable> fn_;
  std::string why_;
};

struct Namespace {
  std::vector<std::pair<std::string, Value>> attrs;  // in assignment order
  Value* find(const std::string& name);
};

// Python's view of the data. Booleans are integers in arithmetic and comparisons.
bool is_int(const Json& j);     // int or bool
bool is_number(const Json& j);  // int, bool or float
int64_t as_int(const Json& j);  // precondition is_int
double as_double(const Json& j);  // precondition is_number

// Python type name for messages: "str", "int", "float", "bool", "NoneType", "list",
// "dict", "undefined", "namespace", "function".
std::string type_name(const Value& v);
bool truthy(const Value& v);
// str(v): undefined -> "", None -> "None", True -> "True", lists and dicts as Python
// prints them (['a', 1], {'k': None}).
std::string to_str(const Value& v);
std::string repr(const Json& j);
// ==: Python equality (1 == 1.0 == True; 'a' != 1; lists and dicts by content).
bool equals(const Value& a, const Value& b);
// <, <=, >, >= between numbers, between strings (by code point) and between lists;
// anything else fails at `loc` as Python's TypeError does. Returns <0, 0, >0.
int compare(const Value& a, const Value& b, const char* op, Loc loc);

// Python's json.dumps(j, ensure_ascii=False, indent=indent, separators=..., sort_keys=...)
// (transformers' tojson filter). indent unset: one line with ", " and ": "; indent set:
// "," and ": " with newlines. separators overrides the (item, key) separators.
struct DumpOptions {
  std::optional<std::string> indent;  // a number n is n spaces
  std::optional<std::pair<std::string, std::string>> separators;
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string dumps(const Json& j, const DumpOptions& opt = {});

}  // namespace chatforge::tok::jinja
