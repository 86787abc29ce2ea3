// Implementation of config_file.h.
#include "core/config_file.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"

namespace chatforge {

namespace {

std::string trim_value(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string unquote(std::string v) {
  v = trim_value(v);
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\'')))
    return v.substr(1, v.size() - 2);
  return v;
}

std::string flag_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

// A scalar or a [a, b, c] list; "true" is a flag with no value, "false" drops it.
bool parse_value(const std::string& raw, std::vector<std::string>& out) {
  std::string v = trim_value(raw);
  if (v == "true") return true;
  if (v == "false") return false;
  if (v.size() >= 2 && v.front() == '[' && v.back() == ']') {
    std::stringstream ss(v.substr(1, v.size() - 2));
    std::string item;
    while (std::getline(ss, item, ','))
      if (!trim_value(item).empty()) out.push_back(unquote(item));
    return true;
  }
  out.push_back(unquote(v));
  return true;
}

std::string strip_comment(const std::string& line) {
  bool in_quote = false;
  char q = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quote) {
      if (c == q) in_quote = false;
    } else if (c == '"' || c == '\'') {
      in_quote = true;
      q = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

}  // namespace

bool is_config_path_flag(const std::string& flag) {
  // Every long flag that names a file or directory (grep the CLI for add_option of
  // paths). Not here: --from/--to (formats), --augment-command (a command line),
  // --special-tokens, --system and other text.
  static const std::set<std::string> kPathFlags = {
      "answers-a", "answers-b", "api-key-file", "augment-model", "corpus", "counterfactual", "data", "db", "dump-text",
      "feedback-db", "groups", "html", "hyp", "in", "init", "input", "kit", "mixture", "model", "out",
      "pairs", "prompt-file", "ratings", "ref", "resume", "sensitive-words", "tokenizer"};
  return kPathFlags.count(flag) > 0;
}

std::string resolve_config_path(const std::string& dir, const std::string& value) {
  if (dir.empty() || value.empty() || value == "-" || value.front() == '/' || value.front() == '~') return value;
  return (std::filesystem::path(dir) / value).lexically_normal().string();
}

std::vector<std::pair<std::string, std::vector<std::string>>> read_config_file(const std::string& path) {
  CF_CHECK(file_exists(path), "config file {} does not exist", path);
  const std::string text = read_file(path);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  // JSON: a .json file, or text starting with '{' -- or with '[' unless that is a TOML
  // table header such as "[train]" (a JSON array is valid JSON; "[train]" is not).
  const size_t start = text.find_first_not_of(" \t\r\n");
  const char first = start == std::string::npos ? '\0' : text[start];
  bool is_json = first == '{' || (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0);
  if (!is_json && first == '[') {
    std::string why;
    is_json = try_parse_json(text, &why).has_value() || why != "malformed JSON";  // valid, or nested too deep
  }
  if (is_json) {
    const nlohmann::json j = parse_json(text, path);
    CF_CHECK(j.is_object(), "{}: expected a JSON object of flag names to values, not {}", path, json_kind(j));
    for (auto it = j.begin(); it != j.end(); ++it) {
      CF_CHECK(!it.key().empty(), "{}: a key is empty (keys are flag names)", path);
      std::vector<std::string> vals;
      const auto& v = it.value();
      if (v.is_boolean()) {
        if (!v.get<bool>()) continue;
      } else if (v.is_array()) {
        for (const auto& x : v) vals.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      } else {
        vals.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      out.emplace_back(flag_name(it.key()), std::move(vals));
    }
    return out;
  }
  std::stringstream ss(text);
  std::string line;
  int lineno = 0;
  while (std::getline(ss, line)) {
    ++lineno;
    const std::string l = trim_value(strip_comment(line));
    if (l.empty() || l == "---") continue;
    if (l.front() == '[') {  // TOML/INI sections are ignored
      CF_CHECK(l.back() == ']', "{}:{}: expected a [section] header, got '{}'", path, lineno, l.substr(0, 60));
      continue;
    }
    if (l.rfind("- ", 0) == 0) {  // YAML list item continuing the previous key
      CF_CHECK(!out.empty(), "{}:{}: list item without a key", path, lineno);
      out.back().second.push_back(unquote(l.substr(2)));
      continue;
    }
    const auto eq = l.find('=');
    const auto colon = l.find(':');
    const auto sep = eq != std::string::npos ? eq : colon;
    CF_CHECK(sep != std::string::npos && sep > 0, "{}:{}: expected 'key = value', got '{}'", path, lineno, l);
    const std::string key = trim_value(l.substr(0, sep));
    const std::string val = trim_value(l.substr(sep + 1));
    std::vector<std::string> vals;
    if (val.empty()) {  // YAML: a list follows on "- item" lines
      out.emplace_back(flag_name(key), std::move(vals));
      continue;
    }
    if (!parse_value(val, vals)) continue;
    out.emplace_back(flag_name(key), std::move(vals));
  }
  return out;
}

std::vector<std::string> expand_config_args(const std::vector<std::string>& args) {
  std::set<std::string> given;  // flags set on the command line win over the file
  for (const auto& a : args)
    if (a.rfind("--", 0) == 0 && a != "--config" && a.rfind("--config=", 0) != 0)
      given.insert(a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2));
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string file;
    if (args[i] == "--config" && i + 1 < args.size()) {
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      out.push_back(args[i]);
      continue;
    }
    const std::string dir = std::filesystem::path(file).parent_path().string();
    for (const auto& [key, vals] : read_config_file(file)) {
      if (given.count(key)) continue;
      const bool is_path = is_config_path_flag(key);
      if (vals.empty()) {
        out.push_back("--" + key);
      } else {
        for (const auto& v : vals) out.push_back("--" + key + "=" + (is_path ? resolve_config_path(dir, v) : v));
      }
    }
  }
  return out;
}

}  // namespace chatforge
