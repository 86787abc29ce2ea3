// Argument binding and conversion for the builtins (builtins.h): Python's rules for
// positional and keyword arguments, with errors that name the function.
#include <fmt/format.h>

#include "tokenizer/jinja/builtins.h"

namespace chatforge::tok::jinja {

std::vector<std::optional<Value>> bind_args(const CallArgs& a, std::initializer_list<const char*> params,
                                            const char* func) {
  std::vector<std::optional<Value>> out(params.size());
  if (a.args.size() > params.size())
    fail_at(a.loc, "{}() takes at most {} argument{} ({} given)", func, params.size(), params.size() == 1 ? "" : "s",
            a.args.size());
  for (size_t k = 0; k < a.args.size(); ++k) out[k] = a.args[k];
  for (const auto& [key, value] : a.kwargs) {
    size_t k = 0;
    for (const char* p : params) {
      if (key == p) break;
      ++k;
    }
    if (k == params.size()) fail_at(a.loc, "{}() got an unexpected keyword argument '{}'", func, key);
    if (out[k]) fail_at(a.loc, "{}() got multiple values for argument '{}'", func, key);
    out[k] = value;
  }
  return out;
}

std::string arg_str(const Value& v, const char* func, const char* param, Loc loc) {
  if (v.is_string()) return v.str();
  if (v.is_undefined()) fail_at(loc, "{}(): {} is undefined{}", func, param,
                                v.why_undefined().empty() ? "" : " (" + v.why_undefined() + ")");
  fail_at(loc, "{}(): {} must be a string, not '{}'", func, param, type_name(v));
}

int64_t arg_int(const Value& v, const char* func, const char* param, Loc loc) {
  if (v.is_data() && is_int(v.data())) return as_int(v.data());
  fail_at(loc, "{}(): {} must be an integer, not '{}'", func, param, type_name(v));
}

}  // namespace chatforge::tok::jinja
