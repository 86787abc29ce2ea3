// Numeric ranges for flags and config values, written as in mathematics so that one
// string serves the check, the error message and --help:
//   NumRange("(0, 1]").contains(1.0) == true;  NumRange("[0, 1)").contains(1.0) == false
//   NumRange("[1, 2^24]"), NumRange("[0, inf)"), NumRange("[0, 2^64-1]")
// contains() is false for NaN and for +-inf whatever the ends: a value that reaches the
// arithmetic is always finite. A malformed spec is a programming error (CF_ASSERT).
#pragma once
#include <string>
#include <string_view>

namespace chatforge {

class NumRange {
 public:
  explicit NumRange(std::string_view spec);
  bool contains(double v) const;
  const std::string& str() const { return text_; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  // Throws UsageError "NAME must be a finite number in RANGE, got V" (`name` is a flag
  // such as "--lr", or a field such as "options.lr").
  void check(std::string_view name, double v) const;
  // The same for a value as the user typed it ("nan", "1e400", "abc").
  void check_text(std::string_view name, const std::string& text) const;
  // The message check_text would throw, or "" when `text` is a number in the range.
  std::string problem(const std::string& text) const;

 private:
  std::string text_;
  double lo_ = 0, hi_ = 0;
  bool lo_open_ = false, hi_open_ = false;
};

}  // namespace chatforge
