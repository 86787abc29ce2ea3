// Progress bar with rate and ETA on stderr. On a terminal it redraws one line (\r);
// otherwise (logs, CI) it prints a plain line at most every `log_every_s` seconds, so
// long work is visible in both. Thread-compatible: call update() from one thread.
#pragma once
#include <cstdint>
#include <string>

#include "core/timer.h"

namespace chatforge {

class ProgressBar {
 public:
  // total == 0 means unknown (no percentage or ETA, just count and rate).
  ProgressBar(std::string label, uint64_t total, std::string unit = "it", bool enabled = true);
  ~ProgressBar();
  void update(uint64_t done, const std::string& extra = "");  // absolute position
  void advance(uint64_t n = 1, const std::string& extra = "") { update(done_ + n, extra); }
  void finish(const std::string& extra = "");  // final line with total time
  uint64_t done() const { return done_; }

 private:
  void draw(bool final_line, const std::string& extra);
  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  Timer timer_;
  double last_draw_ = -1.0;
  double log_every_s_ = 10.0;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"
std::string format_count(double x);           // "1.23M", "456k", "789"

}  // namespace chatforge
