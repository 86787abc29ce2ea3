// Implementation of progress.h.
#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fmt/format.h>

namespace chatforge {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  const long t = std::lround(s);
  if (t < 3600) return fmt::format("{}m{:02d}s", t / 60, static_cast<int>(t % 60));
  return fmt::format("{}h{:02d}m", t / 3600, static_cast<int>((t % 3600) / 60));
}

std::string format_count(double x) {
  if (x >= 1e9) return fmt::format("{:.2f}G", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e4) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

ProgressBar::ProgressBar(std::string label, uint64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(::isatty(2) != 0) {}

ProgressBar::~ProgressBar() {
  if (enabled_ && tty_ && !finished_ && last_draw_ >= 0) std::fputc('\n', stderr);
}

void ProgressBar::update(uint64_t done, const std::string& extra) {
  done_ = done;
  if (!enabled_) return;
  const double now = timer_.seconds();
  const double every = tty_ ? 0.1 : log_every_s_;
  if (last_draw_ >= 0 && now - last_draw_ < every && done_ != total_) return;
  last_draw_ = now;
  draw(false, extra);
}

void ProgressBar::finish(const std::string& extra) {
  if (!enabled_ || finished_) return;
  finished_ = true;
  draw(true, extra);
}

void ProgressBar::draw(bool final_line, const std::string& extra) {
  const double t = timer_.seconds();
  const double rate = t > 0 ? done_ / t : 0.0;
  std::string line = label_ + " ";
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / total_);
    if (tty_) {
      constexpr int kWidth = 24;
      const int filled = static_cast<int>(frac * kWidth);
      line.append(1, '[').append(filled, '#').append(kWidth - filled, '.').append("] ");
    }
    line += fmt::format("{:3.0f}% {}/{} {}", 100 * frac, format_count(done_), format_count(total_), unit_);
  } else {
    line += fmt::format("{} {}", format_count(done_), unit_);
  }
  // Slow work (a training step every few seconds) shows its fractional rate, not "0/s".
  line += fmt::format(" | {}/s", rate < 10 ? fmt::format("{:.2f}", rate) : format_count(rate));
  if (final_line) {
    line += " | took " + format_duration(t);
  } else if (total_ > 0 && rate > 0) {
    line += " | ETA " + format_duration((total_ - std::min(done_, total_)) / rate);
  }
  if (!extra.empty()) line += " | " + extra;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace chatforge
