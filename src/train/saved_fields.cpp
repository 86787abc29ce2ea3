// Implementation of saved_fields.h.
#include "train/saved_fields.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace chatforge::train {

void SavedFields::bad(const std::string& field, const char* want, const nlohmann::json& got) const {
  std::string shown = got.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  fail("{}: field '{}' must be {}, got {}", file, field, want, shown);
}

const nlohmann::json& SavedFields::at(const std::string& key) const {
  CF_CHECK(obj.is_object() && obj.contains(key), "{}: missing field '{}'", file, name(key));
  return obj[key];
}

SavedFields SavedFields::object(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (!v.is_object()) bad(name(key), "an object", v);
  return SavedFields{v, file, name(key)};
}

int64_t SavedFields::integer(const std::string& key, int64_t lo, int64_t hi) const {
  const nlohmann::json& v = at(key);
  const bool ok = v.is_number_integer() &&
                  (v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi)
                                          : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi);
  if (!ok) bad(name(key), fmt::format("an integer in [{}, {}]", lo, hi).c_str(), v);
  return v.get<int64_t>();
}

uint64_t SavedFields::u64_string_at(const nlohmann::json& v, const std::string& field) const {
  uint64_t out = 0;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return out;
  }
  bad(field, "a decimal 64-bit integer in a string", v);
}

uint64_t SavedFields::u64_string(const std::string& key) const { return u64_string_at(at(key), name(key)); }

double SavedFields::number_or_null(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return NAN;
  if (!v.is_number()) bad(name(key), "a number or null", v);
  return v.get<double>();
}

}  // namespace chatforge::train
