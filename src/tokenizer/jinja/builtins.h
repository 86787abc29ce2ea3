// The library a template can call: filters (`x | trim`), tests (`x is defined`) and the
// methods of strings and dicts (`s.startswith('a')`, `d.get('k')`), each as jinja2 and
// Python define it. Globals that need the render's state (namespace, range,
// raise_exception, strftime_now) live in the evaluator. Argument errors name the
// function and the template location (args.loc).
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace chatforge::tok::jinja {

bool has_filter(std::string_view name);
Value apply_filter(std::string_view name, const Value& input, CallArgs& args);

bool has_test(std::string_view name);
bool apply_test(std::string_view name, const Value& input, CallArgs& args);

// What `for x in v` walks: list items, dict keys, string characters; undefined is empty;
// anything else fails ("'int' object is not iterable").
std::vector<Value> iterate_value(const Value& v, Loc loc);

// item.a.b as jinja2's attribute= arguments read it (dotted; a number indexes a list);
// undefined when a part is missing.
Value attribute_path(const Value& item, const std::string& path);

// The filters over sequences (filters_seq.cpp): map, select, reject, selectattr,
// rejectattr, unique, sort, reverse.
bool is_seq_filter(std::string_view name);
Value seq_filter(std::string_view name, const Value& in, CallArgs& args);

// A bound method `obj.name` when obj (a string or dict) has one, else nullopt.
std::optional<Value> get_method(const Value& obj, const std::string& name);
// For a Python method of str, dict or list that is not supported here: the message
// saying so (e.g. "unsupported: the str method 'zfill' (docs/chat-templates.md)"); else "".
std::string unsupported_method(const Value& obj, const std::string& name);

// Binds call arguments to parameter names as Python does (positional first, then by
// keyword); extra or repeated arguments fail naming `func`. Unbound slots stay nullopt.
std::vector<std::optional<Value>> bind_args(const CallArgs& args, std::initializer_list<const char*> params,
                                            const char* func);

// Argument conversions that fail with "<func>: <param> must be ..." at args.loc.
std::string arg_str(const Value& v, const char* func, const char* param, Loc loc);
int64_t arg_int(const Value& v, const char* func, const char* param, Loc loc);

}  // namespace chatforge::tok::jinja
