// JSON that comes from outside (files, JSONL lines, request bodies, database rows): every
// parse in chatforge goes through parse_json. It checks the nesting depth first, with an
// iterative scan (nlohmann's dump, copy and compare recurse, so ~100k levels overflow the
// stack), and turns nlohmann's errors into chatforge::Error naming `where` (a file, file:line
// or field). json_get / json_field_or read a typed value and name the field when it has the
// wrong type, instead of "[json.exception.type_error.302] type must be string".
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace chatforge {

// Deepest nesting of arrays/objects accepted anywhere (docs/limits.md). Real files stay far
// below it (a Hugging Face tokenizer.json is 5 levels deep, an OpenAI request about 6).
inline constexpr int kMaxJsonDepth = 512;

// "" when `text` nests at most `max_depth` arrays/objects; otherwise the reason, e.g.
// "JSON nested deeper than 512 levels (line 3)". Linear, no recursion; does not validate.
std::string json_depth_problem(std::string_view text, int max_depth = kMaxJsonDepth);

// Parse `text` or throw chatforge::Error "<where>: <reason>" (too deep, or invalid JSON with
// nlohmann's line/column). `where` names the source: a path, "file:line", "request body".
nlohmann::json parse_json(std::string_view text, std::string_view where);
// The same, with nlohmann's parser callback: `keep` sees every event and drops what it returns
// false for (tokenizer/bpe_tables.cpp takes the big tables out this way).
nlohmann::json parse_json(std::string_view text, std::string_view where,
                          const nlohmann::json::parser_callback_t& keep);
nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view where);

// Non-throwing parse for readers that skip bad records: nullopt and *why = "malformed JSON"
// or the nesting reason (no `where`: the caller adds file:line).
std::optional<nlohmann::json> try_parse_json(std::string_view text, std::string* why);

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string json_error_text(const std::exception& e);

// What a JSON value is, in words: "a string", "a number", "an object", "null" ...
std::string json_kind(const nlohmann::json& v);

namespace detail {
template <class T>
constexpr const char* json_wanted() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else return "a value of another type";
}
template <class T>
bool json_fits(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) return x >= 0 && static_cast<uint64_t>(x) <= std::numeric_limits<T>::max();
      else
        return x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
               x <= static_cast<int64_t>(std::numeric_limits<T>::max());
    }
    return false;
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else {
    static_assert(std::is_same_v<T, bool>, "json_get supports bool, integers, floating point and std::string");
    return false;
  }
}
}  // namespace detail

// v as T, or Error "<where>: <field> must be a string, not a number" (integers also out of
// T's range: "must be an integer, not 4294967596").
template <class T>
T json_get(const nlohmann::json& v, std::string_view where, std::string_view field) {
  if (!detail::json_fits<T>(v)) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      if (v.is_number_integer()) fail("{}: {} is out of range: {}", where, field, v.dump());
    fail("{}: {} must be {}, not {}", where, field, detail::json_wanted<T>(), json_kind(v));
  }
  return v.get<T>();
}

// obj[key] as T; `dflt` when obj has no such key or it is null. `parent` names obj in
// messages ("pre_tokenizer" -> "tokenizer.json: pre_tokenizer.type must be a string, not
// a number"); obj itself must be an object.
template <class T>
T json_field_or(const nlohmann::json& obj, std::string_view key, T dflt, std::string_view where,
                std::string_view parent = {}) {
  if (!obj.is_object())
    fail("{}: {} must be an object, not {}", where, parent.empty() ? std::string_view("the value") : parent,
         json_kind(obj));
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return dflt;
  return json_get<T>(*it, where, parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key));
}
inline std::string json_field_or(const nlohmann::json& obj, std::string_view key, const char* dflt,
                                 std::string_view where, std::string_view parent = {}) {
  return json_field_or<std::string>(obj, key, std::string(dflt), where, parent);
}

}  // namespace chatforge
