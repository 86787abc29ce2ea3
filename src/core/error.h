// Errors: every failure the user can cause is a chatforge::Error with a one-line message
// that names the file, line or field. CF_CHECK throws it; the CLI prints "error: ..." and
// exits 1 (UsageError: exit 2). The library never calls exit() or abort() on user input.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace chatforge {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// A mistake in how the program was called (bad flag value, missing argument): exit 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void usage_fail(fmt::format_string<Args...> f, Args&&... args) {
  throw UsageError(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace chatforge

// CF_CHECK(cond, "message {}", value): throws chatforge::Error with the message.
// The message is what the user sees, so it must name the file/field at fault.
#define CF_CHECK(cond, ...)                         \
  do {                                              \
    if (!(cond)) ::chatforge::fail(__VA_ARGS__);    \
  } while (0)

// CF_ASSERT: an internal invariant (a bug if it fails, never user input). Carries file:line.
#define CF_ASSERT(cond)                                                                  \
  do {                                                                                   \
    if (!(cond))                                                                         \
      ::chatforge::fail("internal error: {} failed at {}:{}", #cond, __FILE__, __LINE__); \
  } while (0)
