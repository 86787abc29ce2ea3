// Implementation of option_checks.h.
#include "cli/option_checks.h"

#include <cmath>
#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "core/num_range.h"

namespace chatforge::cli {

CLI::Validator in_range(const std::string& spec) {
  auto range = std::make_shared<NumRange>(spec);
  return CLI::Validator([range](std::string& value) { return range->problem(value); }, range->str(), "RANGE");
}

void set_ranges(CLI::App& cmd, std::initializer_list<std::pair<const char*, const char*>> ranges) {
  for (const auto& [flag, spec] : ranges) {
    CLI::Option* opt = cmd.get_option_no_throw(flag);
    if (opt == nullptr) fail("internal error: {} has no flag {} to give the range {}", cmd.get_name(), flag, spec);
    opt->check(in_range(spec));
  }
}

namespace {
bool has_range(CLI::Option& opt) {
  try {
    opt.get_validator("RANGE");
    return true;
  } catch (const CLI::OptionNotFound&) {
    return false;
  }
}
}  // namespace

void guard_numeric_options(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    const bool numeric = type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0 || type.rfind("FLOAT", 0) == 0;
    if (!numeric || has_range(*opt)) continue;
    opt->check(CLI::Validator(
        [](std::string& value) -> std::string {
          char* end = nullptr;
          const double v = std::strtod(value.c_str(), &end);
          if (end != value.c_str() && !std::isfinite(v)) return "must be a finite number, got " + value;
          return "";
        },
        "", "FINITE"));
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) guard_numeric_options(*sub);
}

}  // namespace chatforge::cli
