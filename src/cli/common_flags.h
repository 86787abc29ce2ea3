// Flags and type names that many commands share, declared once so that they read the same
// in every command's --help (docs/architecture.md, "Command-line conventions"; checked by
// tests/scripts/help_consistency.sh): --threads, and FILE / DIR / PATH for path values.
#pragma once
#include <CLI/CLI.hpp>

#include "model/config.h"

namespace chatforge::cli {

// Type names --help shows for values that are paths (instead of CLI11's TEXT).
inline constexpr const char* kFile = "FILE";  // a file
inline constexpr const char* kDir = "DIR";    // a directory
inline constexpr const char* kPath = "PATH";  // a file or a directory

// --threads INT:[0, kMaxThreads]=0 with one text everywhere: 0 means OMP_NUM_THREADS if
// set, else all cores (resolve_threads). `threads` should start at 0.
CLI::Option* add_threads_option(CLI::App& cmd, int& threads);

// A new model's architecture flags (model::ArchOptions), with their ranges: --arch,
// --n-kv-head, --head-dim, --ffn-dim, --rope-theta, --untied-head.
void add_arch_options(CLI::App& cmd, model::ArchOptions& a);

// The thread count a --threads value stands for: n itself, or default_threads() for 0.
int resolve_threads(int n);

}  // namespace chatforge::cli
