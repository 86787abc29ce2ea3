// Range checks for numeric flags. Every INT/UINT/FLOAT flag of every command declares the
// range it accepts, written as in mathematics ("[0, 1)", "(0, inf)", see core/num_range.h):
// a value outside it, NaN or Inf is a usage error (exit 2) naming the flag and the range,
// e.g. "--beta2: must be in [0, 1), got 2", and --help shows it ("FLOAT:[0, 1)"). The
// same checks run on values from --config files, which are expanded into flags.
#pragma once
#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string>
#include <utility>

namespace chatforge::cli {

// Any 64-bit seed (a negative or larger number is an error, not a wrapped value).
inline constexpr const char* kSeedRange = "[0, 2^64-1]";

// Bootstrap resamples for 95% intervals (fewer give no interval worth printing).
inline constexpr const char* kBootstrapRange = "[10, 1000000]";

// A CLI11 validator for one range (name "RANGE", description the spec).
CLI::Validator in_range(const std::string& spec);

// Attaches in_range to each named flag of cmd (option groups included). A name that is
// not a flag of cmd is a programming error.
void set_ranges(CLI::App& cmd, std::initializer_list<std::pair<const char*, const char*>> ranges);

// Called once on the whole tree: a numeric flag that declares no range still rejects NaN
// and Inf (a backstop; tests/scripts/numeric_flags.sh asserts that every flag has one).
void guard_numeric_options(CLI::App& app);

}  // namespace chatforge::cli
