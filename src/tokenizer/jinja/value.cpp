// Values and Python's meaning of them: truth, str(), repr(), ==, ordering (value.h).
#include "tokenizer/jinja/value.h"

#include <cmath>
#include <limits>

#include "tokenizer/jinja/pystr.h"

namespace chatforge::tok::jinja {

Value Value::undefined(std::string why) {
  Value v;
  v.why_ = std::move(why);
  return v;
}

Value Value::of(Json j) {
  Value v;
  v.kind_ = Kind::kData;
  v.data_ = std::make_shared<const Json>(std::move(j));
  return v;
}

Value Value::of_namespace(std::shared_ptr<Namespace> ns) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.ns_ = std::move(ns);
  return v;
}

Value Value::of_callable(std::string name, std::function<Value(CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value* Namespace::find(const std::string& name) {
  for (auto& [k, v] : attrs)
    if (k == name) return &v;
  return nullptr;
}

bool is_int(const Json& j) { return j.is_boolean() || j.is_number_integer(); }
bool is_number(const Json& j) { return j.is_boolean() || j.is_number(); }

int64_t as_int(const Json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1 : 0;
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                           : static_cast<int64_t>(u);
  }
  return j.get<int64_t>();
}

double as_double(const Json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1.0 : 0.0;
  return j.get<double>();
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "undefined";
    case Value::Kind::kNamespace: return "namespace";
    case Value::Kind::kCallable: return "function";
    case Value::Kind::kData: break;
  }
  const Json& j = v.data();
  if (j.is_null()) return "NoneType";
  if (j.is_boolean()) return "bool";
  if (j.is_number_integer()) return "int";
  if (j.is_number_float()) return "float";
  if (j.is_string()) return "str";
  if (j.is_array()) return "list";
  return "dict";
}

bool truthy(const Value& v) {
  if (v.is_undefined()) return false;
  if (!v.is_data()) return true;
  const Json& j = v.data();
  if (j.is_null()) return false;
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_float()) return j.get<double>() != 0.0;
  if (j.is_number()) return as_int(j) != 0;
  if (j.is_string()) return !j.get_ref<const std::string&>().empty();
  return !j.empty();
}

std::string repr(const Json& j) {
  if (j.is_null()) return "None";
  if (j.is_boolean()) return j.get<bool>() ? "True" : "False";
  if (j.is_number_float()) return py::float_repr(j.get<double>());
  if (j.is_number()) return j.dump();
  if (j.is_string()) return py::repr(j.get_ref<const std::string&>());
  std::string out = j.is_array() ? "[" : "{";
  bool first = true;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!first) out += ", ";
    first = false;
    if (j.is_object()) out += py::repr(it.key()) + ": ";
    out += repr(*it);
  }
  return out + (j.is_array() ? "]" : "}");
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kCallable: return "<function " + v.callable().name + ">";
    case Value::Kind::kNamespace: {
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [k, x] : v.ns().attrs) {
        out += (first ? "" : ", ") + py::repr(k) + ": " + (x.is_data() ? repr(x.data()) : to_str(x));
        first = false;
      }
      return out + "}>";
    }
    case Value::Kind::kData: break;
  }
  if (v.is_string()) return v.str();
  return repr(v.data());
}

namespace {

bool json_equals(const Json& a, const Json& b) {
  if (is_number(a) && is_number(b)) {
    if (is_int(a) && is_int(b)) return as_int(a) == as_int(b);
    return as_double(a) == as_double(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!json_equals(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !json_equals(*it, *other)) return false;
    }
    return true;
  }
  return a == b;
}

int json_compare(const Json& a, const Json& b, const char* op, Loc loc) {
  if (is_number(a) && is_number(b)) {
    if (is_int(a) && is_int(b)) return as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b) ? 1 : 0;
    const double x = as_double(a), y = as_double(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_array() && b.is_array()) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
      if (!json_equals(a[i], b[i])) return json_compare(a[i], b[i], op, loc);
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
  }
  fail_at(loc, "'{}' is not supported between {} and {}", op, type_name(Value::of(a)), type_name(Value::of(b)));
}

}  // namespace

bool equals(const Value& a, const Value& b) {
  if (a.is_data() && b.is_data()) return json_equals(a.data(), b.data());
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined: return true;
    case Value::Kind::kNamespace: return &a.ns() == &b.ns();
    case Value::Kind::kCallable: return &a.callable() == &b.callable();
    case Value::Kind::kData: break;
  }
  return false;
}

int compare(const Value& a, const Value& b, const char* op, Loc loc) {
  if (!a.is_data() || !b.is_data())
    fail_at(loc, "'{}' is not supported between {} and {}", op, type_name(a), type_name(b));
  return json_compare(a.data(), b.data(), op, loc);
}

}  // namespace chatforge::tok::jinja
