// Typed reads of a saved run's JSON (trainer_state.json: step, tokens, loader cursor, RNG
// state ...) whose errors name the file and the field, e.g.
//   "run/step_0000005/trainer_state.json: field 'loader.cursor' must be a decimal 64-bit
//    integer in a string, got \"x\""
// instead of a bare "stoull" or a json.exception code. `where` is the dotted path of the
// object holding the field ("" at the top, "loader" for the loader's state).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace chatforge::train {

struct SavedFields {
  const nlohmann::json& obj;
  std::string file;
  std::string where;

  std::string name(const std::string& key) const { return where.empty() ? key : where + "." + key; }
  const nlohmann::json& at(const std::string& key) const;               // must exist
  SavedFields object(const std::string& key) const;                     // must be an object
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;  // in [lo, hi]
  uint64_t u64_string(const std::string& key) const;  // 64-bit values are kept as decimal strings
  uint64_t u64_string_at(const nlohmann::json& v, const std::string& field) const;
  double number_or_null(const std::string& key) const;  // null -> NaN
  [[noreturn]] void bad(const std::string& field, const char* want, const nlohmann::json& got) const;
};

}  // namespace chatforge::train
