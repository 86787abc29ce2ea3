// LingeringCloser: one poll() loop over the sockets that are draining before close.
#include "serve/lingering_close.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "serve/conn_stream.h"

namespace chatforge::serve {
namespace {
constexpr size_t kMaxLingering = 64;  // with 900 connections, fds stay below 1024 (select)
constexpr double kLingerSeconds = 2.0;
constexpr size_t kMaxDiscard = 64 << 20;

struct Lingering {
  int fd;
  double deadline;
  size_t discarded = 0;
};
}  // namespace

LingeringCloser::LingeringCloser() {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  if (wake_[0] >= 0) thread_ = std::thread(&LingeringCloser::run, this);
}

LingeringCloser::~LingeringCloser() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : incoming_) ::close(fd);
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

void LingeringCloser::close_later(int fd) {
  ::shutdown(fd, SHUT_WR);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!stop_ && wake_[1] >= 0 && lingering_ < kMaxLingering) {
      ++lingering_;
      incoming_.push_back(fd);
      (void)!::write(wake_[1], "x", 1);
      return;
    }
  }
  ::close(fd);
}

void LingeringCloser::run() {
  std::vector<Lingering> socks;
  std::vector<pollfd> fds;
  char buf[16384];
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stop_) break;
      const double deadline = monotonic_seconds() + kLingerSeconds;
      for (int fd : incoming_) socks.push_back({fd, deadline});
      incoming_.clear();
    }
    const double now = monotonic_seconds();
    double next = now + 60;
    fds.assign(1, pollfd{wake_[0], POLLIN, 0});
    for (const auto& s : socks) {
      fds.push_back({s.fd, POLLIN, 0});
      next = std::min(next, s.deadline);
    }
    ::poll(fds.data(), fds.size(), std::max(0, static_cast<int>((next - now) * 1000) + 1));
    if (fds[0].revents & POLLIN)
      while (::read(wake_[0], buf, sizeof buf) > 0) {
      }
    const double t = monotonic_seconds();
    size_t closed = 0;
    for (size_t i = 0; i < socks.size();) {
      Lingering& s = socks[i];
      bool done = t >= s.deadline;
      if (!done && (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) s.discarded += static_cast<size_t>(n);
        done = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || s.discarded > kMaxDiscard;
      }
      if (done) {
        ::close(s.fd);
        ++closed;
        fds[i + 1] = fds[socks.size()];  // keep fds aligned with socks
        s = socks.back();
        socks.pop_back();
      } else {
        ++i;
      }
    }
    if (closed) {
      std::lock_guard<std::mutex> lk(mu_);
      lingering_ -= closed;
    }
  }
  for (const auto& s : socks) ::close(s.fd);
}

}  // namespace chatforge::serve
