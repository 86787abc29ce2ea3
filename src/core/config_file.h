// `--config FILE` for every command: the file's keys equal the long flag names (dashes
// or underscores), and flags given on the command line override it. Formats: TOML/INI
// (`key = value`), YAML-style (`key: value`, `- item` lists) or a JSON object.
// expand_config_args turns the file into flags inserted where `--config FILE` stood,
// skipping keys the command line already sets. Values of path flags (is_config_path_flag)
// that are relative resolve against the config file's directory, so `--config
// demo/chat.toml` works from any working directory. Lives in core (not cli) so the fuzz
// targets and tests can reach it without the program.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace chatforge {

// Parses FILE into (flag name, values) pairs; an empty value list means a true boolean.
std::vector<std::pair<std::string, std::vector<std::string>>> read_config_file(const std::string& path);

// Whether a long flag (no dashes) takes file or directory paths in every command that
// has it: --model, --tokenizer, --data, --out, --input, --in, --init, --resume, --db, ...
// The list is in config_file.cpp; a command adding a path flag adds its name there.
bool is_config_path_flag(const std::string& flag);

// A path value from a config file in directory `dir`: relative paths are joined to dir
// ("runs/sft/last" in "demo/chat.toml" -> "demo/runs/sft/last"); absolute paths, "~..."
// (used as written), "-" (stdin/stdout) and "" stay as they are.
// resolve_config_path("demo", "../x/./y") -> "x/y"; resolve_config_path("", "a") -> "a".
std::string resolve_config_path(const std::string& dir, const std::string& value);

// Returns argv with every `--config FILE` / `--config=FILE` expanded into flags; path
// flags' values are resolved against FILE's directory (resolve_config_path). Flags on
// the command line are left exactly as given.
std::vector<std::string> expand_config_args(const std::vector<std::string>& args);

}  // namespace chatforge
