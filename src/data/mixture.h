// Task mixtures for supervised fine-tuning: a JSON or YAML file lists datasets, each with
// a task name, a weight (share of the output) or epochs (repeat count), and an optional
// system prompt; plan_mixture turns the per-task pool sizes into a deterministic sequence
// of picks. Weights: each output example picks its task at random by weight (so shares
// match the weights within sampling error) and takes the task's next example in a
// shuffled cycle (every example is used before any repeats). Epochs: each example e times
// (a fractional part samples that share of the examples once more), then shuffled.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace chatforge::data {

struct MixtureTask {
  std::string task;                 // name: letters, digits, '_', '-', '.'
  std::vector<std::string> paths;   // resolved relative to the mixture file's directory
  double weight = 0;                // > 0 in weight mode
  double epochs = 0;                // > 0 in epochs mode
  std::string system;               // system prompt for conversations without one
  std::string format = "auto";      // input format for these paths
};

// Reads a mixture file: a JSON array (or {"tasks": [...]}) or the YAML subset
// "- key: value" lists of maps (values: plain or quoted scalars, or [a, b] lists).
// Keys: task, path (or paths), weight | epochs, system, format. All tasks use weights or
// all use epochs (neither given: epochs 1). Errors name the file and the task.
std::vector<MixtureTask> load_mixture(const std::string& path);
std::vector<MixtureTask> mixture_from_json(const nlohmann::json& j, const std::string& base_dir,
                                           const std::string& what);
// The YAML subset -> JSON (exposed for tests). Errors name `what` and the line.
nlohmann::json parse_simple_yaml(const std::string& text, const std::string& what);

struct MixturePick {
  uint32_t task = 0;
  uint64_t index = 0;  // into that task's pool
};

// The output sequence. `total` (weight mode): number of picks; 0 means natural size:
// the largest pool L counts n_L / share_L, so its examples appear about once.
// Tasks with an empty pool are skipped (their weight goes to the others).
std::vector<MixturePick> plan_mixture(const std::vector<MixtureTask>& tasks, const std::vector<uint64_t>& pool_sizes,
                                      uint64_t total, uint64_t seed);

}  // namespace chatforge::data
