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

// Default thread count: OMP_NUM_THREADS if set, else all cores (at most kMaxThreads).
int default_threads();

// Thread counts are 1..kMaxThreads (docs/limits.md). Far beyond the cores they only cost,
// and libgomp does not survive huge ones: it keeps per-thread state on the stack of the
// thread that starts a team (100000 overflows it) and aborts when pthread_create fails.
inline constexpr int kMaxThreads = 1024;

// CLI11 check for a --threads option: 1..kMaxThreads, or 0 too when 0 means "the default".
CLI::Validator threads_range(bool zero_is_default);

// OMP_NUM_THREADS set above kMaxThreads (or not a number): chatforge::Error naming it.
void check_omp_num_threads_env();

}  // namespace chatforge::cli

#define CF_CONCAT_INNER(a, b) a##b
#define CF_CONCAT(a, b) CF_CONCAT_INNER(a, b)
#define CF_REGISTER_COMMAND(...) \
  static const bool CF_CONCAT(cf_registered_, __COUNTER__) = ::chatforge::cli::register_command(__VA_ARGS__)
