// Implementation of demo_marker.h.
#include "demo/demo_marker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/json_util.h"
#include "core/version.h"

namespace chatforge::demo {
namespace {

using nlohmann::json;

// The options that change what the demo trains. Corpus paths are made absolute, so the
// same files named from another working directory still match.
json shaping_options(const DemoOptions& opt) {
  json langs = json::array();
  for (Lang l : opt.langs) langs.push_back(lang_code(l));
  json corpus = json::array();
  for (const auto& c : opt.corpus) corpus.push_back(std::filesystem::absolute(c).lexically_normal().string());
  return {{"version", CHATFORGE_VERSION},
          {"langs", langs},
          {"seed", opt.seed},
          {"minutes", opt.minutes},
          {"arch", opt.arch},
          {"dtype", resolved_dtype(opt)},
          {"corpus", corpus}};
}

// "--seed 7" style rendering of one recorded option for the reason line.
std::string shown(const std::string& key, const json& v) {
  if (key == "langs") return "--lang " + fmt::format("{}", fmt::join(v.get<std::vector<std::string>>(), "+"));
  if (key == "corpus") return v.empty() ? "no --corpus" : "--corpus " + fmt::format("{}", fmt::join(v.get<std::vector<std::string>>(), " "));
  if (key == "version") return "chatforge " + v.get<std::string>();
  if (v.is_string()) return "--" + key + " " + v.get<std::string>();
  return "--" + key + " " + v.dump();
}

}  // namespace

std::string demo_marker_path(const std::string& out) { return out + "/demo-finished.json"; }

void write_demo_marker(const DemoOptions& opt, double minutes_taken) {
  const json j = {{"finished", true},
                  {"options", shaping_options(opt)},
                  {"model", "runs/sft/last"},
                  {"minutes_taken", minutes_taken}};
  write_file_atomic(demo_marker_path(opt.out), j.dump(2) + "\n");
}

void remove_demo_marker(const std::string& out) {
  std::error_code ec;
  std::filesystem::remove(demo_marker_path(out), ec);
}

ReuseDecision check_finished_demo(const DemoOptions& opt) {
  const std::string path = demo_marker_path(opt.out);
  if (!file_exists(path)) return {false, fmt::format("{} has no finished demo ({} is missing)", opt.out, path)};
  json j;
  try {
    j = parse_json(read_file(path), path);
  } catch (const std::exception& e) {
    return {false, fmt::format("{} is unreadable: {}", path, e.what())};
  }
  if (!j.is_object() || j.value("finished", false) != true || !j.contains("options") || !j["options"].is_object())
    return {false, fmt::format("{} does not mark a finished demo", path)};
  const json want = shaping_options(opt);
  const json& have = j["options"];
  for (const auto& [key, v] : want.items()) {
    if (!have.contains(key)) return {false, fmt::format("{} does not record {}", path, key)};
    if (have[key] != v) {
      try {
        return {false, fmt::format("it was made with {}, not {}", shown(key, have[key]), shown(key, v))};
      } catch (const std::exception&) {  // a recorded value of the wrong type
        return {false, fmt::format("{} records a different {}", path, key)};
      }
    }
  }
  for (const std::string f : {"/runs/sft/last/config.json", "/runs/sft/last/model.safetensors", "/chat.toml"})
    if (!file_exists(opt.out + f)) return {false, fmt::format("{}{} is missing", opt.out, f)};
  return {true, fmt::format("finished demo in {} (--lang {}, --seed {}, --minutes {})", opt.out,
                            fmt::join(want["langs"].get<std::vector<std::string>>(), "+"), opt.seed, opt.minutes)};
}

}  // namespace chatforge::demo
