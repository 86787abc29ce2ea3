// chatforge: entry point. Builds the subcommand tree from the registry, parses, runs,
// and turns every failure into one line on stderr: usage errors exit 2, runtime errors
// exit 1 with "error: ...". Nothing escapes as an uncaught exception or a stack trace.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>

#include "cli/command.h"
#include "cli/option_checks.h"
#include "core/config_file.h"
#include "core/error.h"
#include "core/version.h"
#include "ops/ops.h"

namespace chatforge::cli {

namespace {
std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> r;
  return r;
}

// Name of the deepest subcommand that was selected, for error messages.
std::string selected_path(CLI::App& app) {
  std::string path = app.get_name();
  CLI::App* cur = &app;
  while (true) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    path += " " + cur->get_name();
  }
  return path;
}
}  // namespace

bool register_command(CommandSpec spec) {
  registry().push_back(std::move(spec));
  return true;
}

const std::vector<CommandSpec>& registered_commands() { return registry(); }

void add_config_option(CLI::App& cmd) {
  // The file itself is expanded into flags before parsing (config_file.h); the option
  // is declared here so that --help lists it.
  cmd.add_option("--config",
                 "read flags from a file (TOML, YAML or JSON) whose keys are the long flag names; the command "
                 "line overrides it (default: none)")
      ->type_name("FILE");
}

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, kMaxThreads);
  }
  return std::clamp(omp_get_num_procs(), 1, kMaxThreads);
}

CLI::Validator threads_range(bool zero_is_default) {
  const int lo = zero_is_default ? 0 : 1;
  return CLI::Validator(
      [lo](std::string& value) -> std::string {
        long long n = 0;
        try {
          size_t used = 0;
          n = std::stoll(value, &used);
          if (used != value.size()) return "";  // not a number: the conversion to int reports it
        } catch (const std::exception&) {
          return "";
        }
        if (n >= lo && n <= kMaxThreads) return "";
        return fmt::format("{} is out of range: use {} to {} threads{} (docs/limits.md)", value, lo == 0 ? 1 : lo,
                           kMaxThreads, lo == 0 ? ", or 0 for the default" : "");
      },
      fmt::format("[{}, {}]", lo, kMaxThreads));
}

void check_omp_num_threads_env() {
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env == nullptr) return;
  // libgomp's syntax: a number, or a list "8,4" of numbers per nesting level. It warns
  // about (and ignores) text that is not a number; a number above the limit is ours.
  const std::string v = env;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty() && item.find_first_not_of("0123456789") == std::string::npos)
      CF_CHECK(item.size() <= 9 && std::stoi(item) <= kMaxThreads,
               "OMP_NUM_THREADS={}: at most {} threads (docs/limits.md)", v, kMaxThreads);
    pos = comma + 1;
  }
}

}  // namespace chatforge::cli

int main(int argc, char** argv) {
  using namespace chatforge;
  // Two settings the OpenMP and BLAS runtimes read once, when they load, so they are set
  // here and the program starts again (once) with them:
  // - OpenMP threads that spin while waiting (libgomp's default) make every step up to
  //   15x slower when anything else runs on the machine; sleeping waits cost ~1% on a
  //   quiet one. OMP_WAIT_POLICY=ACTIVE (or any GOMP_SPINCOUNT) keeps spinning.
  // - OpenBLAS falls back to its SSE3 "Prescott" kernels on CPUs newer than it knows
  //   (measured 5x slower sgemm than its AVX-512 kernels on this machine's Xeon); when
  //   that happened, pick the family the CPU supports. OPENBLAS_CORETYPE overrides.
  if (std::getenv("CHATFORGE_REEXEC") == nullptr) {
    bool changed = false;
    if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
      ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
      changed = true;
    }
    if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
      if (const char* core = ops::blas_better_coretype()) {
        ::setenv("OPENBLAS_CORETYPE", core, 1);
        changed = true;
      }
    }
    if (changed) {
      ::setenv("CHATFORGE_REEXEC", "1", 1);
      ::execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
    }
  }
  CLI::App app{"chatforge: train, evaluate and serve your own chat model, end to end", "chatforge"};
  app.set_version_flag("--version", std::string("chatforge ") + CHATFORGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  // A flag given twice (or in --config and on the command line) takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto specs = cli::registered_commands();
  std::stable_sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& spec : specs) {
    CLI::App* cmd = app.add_subcommand(spec.name, spec.description);
    spec.setup(*cmd);
  }
  cli::guard_numeric_options(app);  // NaN/Inf never reach a numeric flag's variable
  try {
    cli::check_omp_num_threads_env();
    std::vector<std::string> args(argv + 1, argv + argc);
    args = expand_config_args(args);
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse order
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    std::fprintf(stderr, "%s: %s (see --help)\n", cli::selected_path(app).c_str(), msg.c_str());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", cli::selected_path(app).c_str(), e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
