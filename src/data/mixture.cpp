// Implementation of mixture.h.
#include "data/mixture.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/rng.h"

namespace chatforge::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A mixture repeats data at most this many times over: epochs up to 1000, and a weighted
// mixture's natural size up to 1000 times all the examples (an epochs value of 2^34, or a
// largest task weighing 1e-300 of the rest, asked for billions of rows).
constexpr double kMaxRepeats = 1000;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Strips a trailing " # comment" outside quotes.
std::string strip_comment(const std::string& s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

// A scalar, or a one-level [a, b] list (nested lists are refused, so "[[[[..." cannot
// recurse 100k deep).
json yaml_scalar(const std::string& raw, const std::string& where, bool in_list = false) {
  const std::string v = trim(raw);
  if (v.empty()) return "";
  if (v[0] == '"') {
    try {
      return parse_json(v, where);
    } catch (const Error&) {
      fail("{}: bad double-quoted string", where);
    }
  }
  if (v[0] == '\'') {
    CF_CHECK(v.size() >= 2 && v.back() == '\'', "{}: unterminated single-quoted string", where);
    std::string s;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      s += v[i];
      if (v[i] == '\'' && v[i + 1] == '\'') ++i;
    }
    return s;
  }
  if (v[0] == '[') {
    CF_CHECK(!in_list, "{}: nested [lists] are not supported", where);
    CF_CHECK(v.back() == ']', "{}: unterminated [list]", where);
    json arr = json::array();
    std::string inner = v.substr(1, v.size() - 2), item;
    char quote = 0;
    for (char c : inner) {
      if (quote == 0 && c == ',') {
        if (!trim(item).empty()) arr.push_back(yaml_scalar(item, where, true));
        item.clear();
        continue;
      }
      if (quote == 0 && (c == '"' || c == '\'')) quote = c;
      else if (c == quote) quote = 0;
      item += c;
    }
    if (!trim(item).empty()) arr.push_back(yaml_scalar(item, where, true));
    return arr;
  }
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != nullptr && *end == '\0') return d;
  if (v == "true") return true;
  if (v == "false") return false;
  if (v == "null" || v == "~") return nullptr;
  return v;
}

bool valid_task_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

json parse_simple_yaml(const std::string& text, const std::string& what) {
  json out = json::array();
  size_t line_no = 0, pos = 0;
  bool top_tasks_key = false;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = strip_comment(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    const std::string where = fmt::format("{}:{}", what, line_no);
    const std::string t = trim(line);
    if (t.empty() || t == "---") continue;
    if (t == "tasks:" && !top_tasks_key && out.empty()) {
      top_tasks_key = true;
      continue;
    }
    std::string body = t;
    if (t[0] == '-') {
      out.push_back(json::object());
      body = trim(t.substr(1));
      if (body.empty()) continue;
    }
    CF_CHECK(!out.empty(), "{}: expected a list item starting with '- '", where);
    const size_t colon = body.find(':');
    CF_CHECK(colon != std::string::npos && colon > 0, "{}: expected 'key: value'", where);
    const std::string key = trim(body.substr(0, colon));
    CF_CHECK(!out.back().contains(key), "{}: key '{}' given twice", where, key);
    out.back()[key] = yaml_scalar(body.substr(colon + 1), where);
  }
  return out;
}

std::vector<MixtureTask> mixture_from_json(const json& j0, const std::string& base_dir, const std::string& what) {
  const json& j = j0.is_object() && j0.contains("tasks") ? j0["tasks"] : j0;
  CF_CHECK(j.is_array() && !j.empty(), "{}: expected a non-empty list of tasks", what);
  std::vector<MixtureTask> tasks;
  bool any_weight = false, any_epochs = false;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    CF_CHECK(e.is_object(), "{}: task {} is not a map", what, i + 1);
    MixtureTask t;
    auto str = [&](const char* key, std::string& dst) {
      if (!e.contains(key)) return;
      CF_CHECK(e[key].is_string(), "{}: task {}: '{}' must be a string", what, i + 1, key);
      dst = e[key].get<std::string>();
    };
    str("task", t.task);
    CF_CHECK(valid_task_name(t.task), "{}: task {}: 'task' must be a name of letters, digits, _ - . (got '{}')", what,
             i + 1, t.task);
    for (const auto& [key, _] : e.items())
      CF_CHECK(key == "task" || key == "path" || key == "paths" || key == "weight" || key == "epochs" ||
                   key == "system" || key == "format",
               "{}: task '{}': unknown key '{}' (task, path, paths, weight, epochs, system, format)", what, t.task, key);
    for (const char* key : {"path", "paths"}) {
      if (!e.contains(key)) continue;
      const json& p = e[key];
      if (p.is_string()) {
        t.paths.push_back(p.get<std::string>());
      } else {
        CF_CHECK(p.is_array(), "{}: task '{}': '{}' must be a string or a list", what, t.task, key);
        for (const auto& x : p) {
          CF_CHECK(x.is_string(), "{}: task '{}': '{}' entries must be strings", what, t.task, key);
          t.paths.push_back(x.get<std::string>());
        }
      }
    }
    CF_CHECK(!t.paths.empty(), "{}: task '{}' has no 'path'", what, t.task);
    for (auto& p : t.paths)
      if (fs::path(p).is_relative() && !base_dir.empty()) p = (fs::path(base_dir) / p).string();
    for (const char* key : {"weight", "epochs"}) {
      if (!e.contains(key)) continue;
      CF_CHECK(e[key].is_number() && e[key].get<double>() > 0 && std::isfinite(e[key].get<double>()),
               "{}: task '{}': '{}' must be a positive number", what, t.task, key);
      (std::string(key) == "weight" ? t.weight : t.epochs) = e[key].get<double>();
    }
    CF_CHECK(t.weight == 0 || t.epochs == 0, "{}: task '{}' gives both weight and epochs", what, t.task);
    CF_CHECK(t.epochs <= kMaxRepeats, "{}: task '{}': 'epochs' must be at most {}, got {}", what, t.task, kMaxRepeats,
             t.epochs);
    any_weight = any_weight || t.weight > 0;
    any_epochs = any_epochs || t.epochs > 0;
    str("system", t.system);
    str("format", t.format);
    for (const auto& prev : tasks) CF_CHECK(prev.task != t.task, "{}: task '{}' listed twice", what, t.task);
    tasks.push_back(std::move(t));
  }
  CF_CHECK(!(any_weight && any_epochs), "{}: give every task a weight, or every task epochs, not a mix", what);
  for (auto& t : tasks) {
    CF_CHECK(!any_weight || t.weight > 0, "{}: task '{}' has no weight (the others do)", what, t.task);
    if (!any_weight && t.epochs == 0) t.epochs = 1;
  }
  return tasks;
}

std::vector<MixtureTask> load_mixture(const std::string& path) {
  CF_CHECK(file_exists(path), "mixture file {} does not exist", path);
  const std::string text = read_file(path);
  const std::string base = fs::path(path).parent_path().string();
  const size_t first = text.find_first_not_of(" \t\r\n");
  json j;
  if (first != std::string::npos && (text[first] == '[' || text[first] == '{')) {
    j = parse_json(text, path);
  } else {
    j = parse_simple_yaml(text, path);
  }
  return mixture_from_json(j, base, path);
}

namespace {
void shuffle(std::vector<uint64_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}
}  // namespace

std::vector<MixturePick> plan_mixture(const std::vector<MixtureTask>& tasks, const std::vector<uint64_t>& pool_sizes,
                                      uint64_t total, uint64_t seed) {
  CF_ASSERT(tasks.size() == pool_sizes.size());
  Rng rng(seed ^ 0x6d69787475726521ULL);
  std::vector<MixturePick> out;
  const bool weights = !tasks.empty() && tasks[0].weight > 0;
  if (!weights) {
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      const uint64_t n = pool_sizes[t];
      const double whole = std::floor(tasks[t].epochs);
      for (uint64_t r = 0; r < static_cast<uint64_t>(whole); ++r)
        for (uint64_t i = 0; i < n; ++i) out.push_back({t, i});
      std::vector<uint64_t> order(n);
      for (uint64_t i = 0; i < n; ++i) order[i] = i;
      shuffle(order, rng);
      const auto extra = static_cast<uint64_t>(std::llround((tasks[t].epochs - whole) * static_cast<double>(n)));
      for (uint64_t i = 0; i < extra && i < n; ++i) out.push_back({t, order[i]});
    }
    for (size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
    return out;
  }
  double wsum = 0;
  for (uint32_t t = 0; t < tasks.size(); ++t)
    if (pool_sizes[t] > 0) wsum += tasks[t].weight;
  if (wsum <= 0) return out;
  if (total == 0) {
    uint32_t largest = 0;
    for (uint32_t t = 0; t < tasks.size(); ++t)
      if (pool_sizes[t] > pool_sizes[largest]) largest = t;
    const double natural = static_cast<double>(pool_sizes[largest]) * wsum / tasks[largest].weight;
    double examples = 0;
    for (uint64_t n : pool_sizes) examples += static_cast<double>(n);
    CF_CHECK(natural <= kMaxRepeats * examples,
             "mixture: task '{}' (the largest) has weight {} of {} in all, so a mixture that shows its examples "
             "once would be {:.3g} rows, over {} times the {} examples; give it more weight or set --mixture-size",
             tasks[largest].task, tasks[largest].weight, wsum, natural, kMaxRepeats, examples);
    total = static_cast<uint64_t>(std::llround(natural));
  }
  std::vector<std::vector<uint64_t>> order(tasks.size());
  std::vector<uint64_t> cursor(tasks.size(), 0);
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    order[t].resize(pool_sizes[t]);
    for (uint64_t i = 0; i < pool_sizes[t]; ++i) order[t][i] = i;
    shuffle(order[t], rng);
  }
  out.reserve(total);
  for (uint64_t k = 0; k < total; ++k) {
    double u = rng.uniform() * wsum;
    uint32_t t = 0;
    for (uint32_t c = 0; c < tasks.size(); ++c) {
      if (pool_sizes[c] == 0) continue;
      t = c;
      if (u < tasks[c].weight) break;
      u -= tasks[c].weight;
    }
    if (cursor[t] == order[t].size()) {  // a new pass over this task, freshly shuffled
      shuffle(order[t], rng);
      cursor[t] = 0;
    }
    out.push_back({t, order[t][cursor[t]++]});
  }
  return out;
}

}  // namespace chatforge::data
