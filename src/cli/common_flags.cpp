// Implementation of common_flags.h.
#include "cli/common_flags.h"

#include "cli/command.h"

namespace chatforge::cli {

CLI::Option* add_threads_option(CLI::App& cmd, int& threads) {
  return cmd.add_option("--threads", threads, "CPU threads; 0: OMP_NUM_THREADS if set, else all cores")
      ->check(threads_range(true))
      ->capture_default_str();
}

int resolve_threads(int n) { return n > 0 ? n : default_threads(); }

}  // namespace chatforge::cli
