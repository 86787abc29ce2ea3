// Implementation of json_util.h.
#include "core/json_util.h"

#include <cstring>

namespace chatforge {

std::string json_depth_problem(std::string_view s, int max_depth) {
  int depth = 0;
  size_t line = 1;
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char c = *p++;
    switch (c) {
      case '"':  // skip the string: only '\\' and '"' matter inside it
        while (p < end) {
          const char d = *p++;
          if (d == '\\') {
            if (p < end) ++p;
          } else if (d == '"') {
            break;
          } else if (d == '\n') {
            ++line;
          }
        }
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          // "line N" when the text has several lines (a trailing newline does not count).
          const size_t last = s.find_last_not_of(" \t\r\n");
          const char* stop = last == std::string_view::npos ? p : s.data() + last;
          const bool multiline = line > 1 || (stop > p && std::memchr(p, '\n', stop - p) != nullptr);
          return multiline ? fmt::format("JSON nested deeper than {} levels (line {})", max_depth, line)
                           : fmt::format("JSON nested deeper than {} levels (byte {})", max_depth, p - s.data());
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case '\n':
        ++line;
        break;
      default:
        break;
    }
  }
  return "";
}

std::string json_error_text(const std::exception& e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    const size_t close = m.find("] ");
    if (close != std::string::npos) m.erase(0, close + 2);
  }
  return m;
}

namespace {
template <class J>
J parse_checked(std::string_view text, std::string_view where, const typename J::parser_callback_t& keep = nullptr) {
  if (std::string why = json_depth_problem(text); !why.empty()) fail("{}: {}", where, why);
  try {
    return J::parse(text.begin(), text.end(), keep);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", where, json_error_text(e));
  }
}
}  // namespace

nlohmann::json parse_json(std::string_view text, std::string_view where) {
  return parse_checked<nlohmann::json>(text, where);
}

nlohmann::json parse_json(std::string_view text, std::string_view where,
                          const nlohmann::json::parser_callback_t& keep) {
  return parse_checked<nlohmann::json>(text, where, keep);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view where) {
  return parse_checked<nlohmann::ordered_json>(text, where);
}

std::optional<nlohmann::json> try_parse_json(std::string_view text, std::string* why) {
  std::string deep = json_depth_problem(text);
  if (!deep.empty()) {
    if (why) *why = std::move(deep);
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);  // no exception per bad line
  if (j.is_discarded()) {
    if (why) *why = "malformed JSON";
    return std::nullopt;
  }
  return j;
}

std::string json_kind(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "a number";
    default: return v.type_name();
  }
}

}  // namespace chatforge
