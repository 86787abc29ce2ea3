// `--config FILE` for every command: the file's keys equal the long flag names (dashes
// or underscores), and flags given on the command line override it. Formats: TOML/INI
// (`key = value`), YAML-style (`key: value`, `- item` lists) or a JSON object.
// expand_config_args turns the file into flags inserted where `--config FILE` stood,
// skipping keys the command line already sets. Lives in core (not cli) so the fuzz
// targets and tests can reach it without the program.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace chatforge {

// Parses FILE into (flag name, values) pairs; an empty value list means a true boolean.
std::vector<std::pair<std::string, std::vector<std::string>>> read_config_file(const std::string& path);

// Returns argv with every `--config FILE` / `--config=FILE` expanded into flags.
std::vector<std::string> expand_config_args(const std::vector<std::string>& args);

}  // namespace chatforge
