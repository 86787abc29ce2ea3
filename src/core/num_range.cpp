// Implementation of num_range.h.
#include "core/num_range.h"

#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace chatforge {

namespace {

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// "inf", "-inf", "2^N", "2^N-1" or a decimal number.
double parse_bound(std::string_view b) {
  b = trim_spaces(b);
  if (b == "inf") return INFINITY;
  if (b == "-inf") return -INFINITY;
  if (b.substr(0, 2) == "2^") {
    const std::string rest(b.substr(2));
    char* end = nullptr;
    const long e = std::strtol(rest.c_str(), &end, 10);
    const double v = std::ldexp(1.0, static_cast<int>(e));
    const std::string_view tail(end);
    CF_ASSERT(tail.empty() || tail == "-1");
    return tail.empty() ? v : v - 1;  // 2^64-1 rounds to 2^64 in a double: fine for a bound
  }
  const std::string s(b);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  CF_ASSERT(end != s.c_str() && *end == '\0');
  return v;
}

}  // namespace

NumRange::NumRange(std::string_view spec) : text_(spec) {
  const std::string_view s = trim_spaces(spec);
  CF_ASSERT(s.size() >= 5 && (s.front() == '[' || s.front() == '(') && (s.back() == ']' || s.back() == ')'));
  lo_open_ = s.front() == '(';
  hi_open_ = s.back() == ')';
  const size_t comma = s.find(',');
  CF_ASSERT(comma != std::string_view::npos);
  lo_ = parse_bound(s.substr(1, comma - 1));
  hi_ = parse_bound(s.substr(comma + 1, s.size() - comma - 2));
  CF_ASSERT(lo_ <= hi_);
}

bool NumRange::contains(double v) const {
  if (!std::isfinite(v)) return false;
  const bool above = lo_open_ ? v > lo_ : v >= lo_;
  const bool below = hi_open_ ? v < hi_ : v <= hi_;
  return above && below;
}

std::string NumRange::problem(const std::string& text) const {
  const std::string_view t = trim_spaces(text);
  const std::string s(t);
  char* end = nullptr;
  const double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return fmt::format("expected a number in {}, got '{}'", text_, text);
  if (!std::isfinite(v)) return fmt::format("must be a finite number in {}, got {}", text_, s);
  if (!contains(v)) return fmt::format("must be in {}, got {}", text_, s);
  return "";
}

void NumRange::check(std::string_view name, double v) const {
  if (!std::isfinite(v)) usage_fail("{} must be a finite number in {}, got {}", name, text_, v);
  if (!contains(v)) usage_fail("{} must be in {}, got {}", name, text_, v);
}

void NumRange::check_text(std::string_view name, const std::string& text) const {
  const std::string p = problem(text);
  if (!p.empty()) usage_fail("{} {}", name, p);
}

}  // namespace chatforge
