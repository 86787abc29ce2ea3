// Subcommand registry. Each file in src/cli defines one top-level subcommand and
// registers it with a static CF_REGISTER_COMMAND; main.cpp builds the CLI11 tree from the
// registry, so adding a subcommand never edits a shared file.
//
// Contract for a command's setup function: add options/nested subcommands to `cmd` and
// set callbacks that do the work. Callbacks report user mistakes by throwing
// chatforge::UsageError (exit 2) and runtime failures by chatforge::Error (exit 1).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace chatforge::cli {

struct CommandSpec {
  std::string name;
  std::string description;
  std::function<void(CLI::App& cmd)> setup;
  int order = 100;  // position in `chatforge --help` (pipeline order)
};

bool register_command(CommandSpec spec);
const std::vector<CommandSpec>& registered_commands();

// Adds `--config FILE` to a command: a TOML/INI file whose keys equal the long flags;
// flags given on the command line override it.
void add_config_option(CLI::App& cmd);

// Default thread count: OMP_NUM_THREADS if set, else all cores.
int default_threads();

}  // namespace chatforge::cli

#define CF_CONCAT_INNER(a, b) a##b
#define CF_CONCAT(a, b) CF_CONCAT_INNER(a, b)
#define CF_REGISTER_COMMAND(...) \
  static const bool CF_CONCAT(cf_registered_, __LINE__) = ::chatforge::cli::register_command(__VA_ARGS__)
