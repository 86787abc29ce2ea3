// ConnStream: buffered, deadline-bounded reads and progress-bounded writes on one socket;
// the head/body bookkeeping that turns a slow or oversized request into a ConnFault.
#include "serve/conn_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>

namespace chatforge::serve {
namespace {

// cpp-httplib's own limit on one header line (CPPHTTPLIB_HEADER_MAX_LENGTH, compiled into
// Debian's library): a longer line is answered 431 here instead of a bare 400 there.
constexpr size_t kMaxHeaderLine = 8192;
constexpr size_t kRecvBuffer = 16384;

int poll_ms(double seconds) {
  if (seconds <= 0) return 0;
  const double ms = std::ceil(seconds * 1000.0);
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// Waits for `events` on fd until `deadline` (monotonic seconds). True: ready (or the socket
// has an error or hung up, which the following recv/send reports).
bool wait_fd(int fd, short events, double deadline) {
  for (;;) {
    const double left = deadline - monotonic_seconds();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, poll_ms(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let the caller's recv/send see the error
  }
}

void address_string(const sockaddr_storage& ss, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

}  // namespace

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ConnStream::ConnStream(int fd, const HttpLimits& limits, std::function<void(ConnPhase)> on_phase)
    : fd_(fd), limits_(limits), on_phase_(std::move(on_phase)), buf_(kRecvBuffer) {}

void ConnStream::set_phase(ConnPhase p) {
  phase_ = p;
  if (on_phase_) on_phase_(p);
}

bool ConnStream::wait_for_request() {
  set_phase(ConnPhase::kIdle);
  if (pos_ < len_) return true;  // a pipelined request is already here
  if (eof_ || fault_ != ConnFault::kNone) return false;
  return wait_fd(fd_, POLLIN, monotonic_seconds() + limits_.idle_timeout_s);
}

void ConnStream::begin_request() {
  head_bytes_ = line_len_ = lines_ = body_bytes_ = 0;
  expected_body_ = UINT64_MAX;
  last_ = 0;
  wrote_ = false;
  deadline_ = monotonic_seconds() + limits_.header_timeout_s;
  set_phase(ConnPhase::kHead);
}

void ConnStream::expect_body(bool open_ended, uint64_t length) {
  expected_body_ = open_ended ? UINT64_MAX : length;
  if (!open_ended && body_bytes_ >= length) mark_busy();
}

void ConnStream::mark_busy() {
  if (phase_ != ConnPhase::kBusy) set_phase(ConnPhase::kBusy);
}

bool ConnStream::fill() {
  for (;;) {
    if (!wait_fd(fd_, POLLIN, deadline_)) {
      set_fault(phase_ == ConnPhase::kHead ? ConnFault::kHeadTimeout : ConnFault::kBodyTimeout);
      return false;
    }
    const ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n > 0) {
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
  }
}

// Head: counts bytes, lines and the current line's length; the first empty CRLF line after
// the request line ends it and starts the body (the rest of this read already counts).
bool ConnStream::account(const char* p, size_t n) {
  size_t i = 0;
  if (phase_ == ConnPhase::kHead) {
    for (; i < n; ++i) {
      const char c = p[i];
      ++head_bytes_;
      ++line_len_;
      if (head_bytes_ > limits_.max_head_bytes) {
        set_fault(lines_ == 0 ? ConnFault::kRequestLineTooLong : ConnFault::kHeadTooLarge);
        return false;
      }
      if (lines_ >= 1 && line_len_ > kMaxHeaderLine) {
        set_fault(ConnFault::kHeadTooLarge);
        return false;
      }
      if (c == '\n') {
        if (lines_ >= 1 && line_len_ == 2 && last_ == '\r') {
          deadline_ = monotonic_seconds() + limits_.body_timeout_s;
          set_phase(ConnPhase::kBody);
          ++i;
          break;
        }
        ++lines_;
        line_len_ = 0;
        if (lines_ - 1 > static_cast<size_t>(limits_.max_headers)) {
          set_fault(ConnFault::kTooManyHeaders);
          return false;
        }
      }
      last_ = c;
    }
  }
  if (phase_ == ConnPhase::kBody && i < n) {
    body_bytes_ += n - i;
    if (body_bytes_ > limits_.max_wire_body_bytes()) {
      set_fault(ConnFault::kBodyTooLarge);
      return false;
    }
    if (body_bytes_ >= expected_body_) mark_busy();
  }
  return true;
}

bool ConnStream::is_readable() const {
  if (pos_ < len_) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

bool ConnStream::is_writable() const {
  pollfd p{fd_, POLLOUT, 0};
  return fault_ == ConnFault::kNone && ::poll(&p, 1, 0) > 0 && !(p.revents & (POLLERR | POLLHUP));
}

ssize_t ConnStream::read(char* ptr, size_t size) {
  if (fault_ != ConnFault::kNone) return -1;
  if (size == 0) return 0;
  if (pos_ == len_ && !fill()) return eof_ && fault_ == ConnFault::kNone ? 0 : -1;
  const size_t n = std::min(size, len_ - pos_);
  if (!account(buf_.data() + pos_, n)) return -1;
  std::memcpy(ptr, buf_.data() + pos_, n);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

// Partial writes are fine (cpp-httplib's write_data loops); the timeout is per call, so a
// client that keeps reading, however slowly, is never cut off, and one that stops is.
ssize_t ConnStream::write(const char* ptr, size_t size) {
  if (size == 0) return 0;
  if (fault_ != ConnFault::kNone) return -1;
  const double deadline = monotonic_seconds() + limits_.write_timeout_s;
  for (;;) {
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      wrote_ = true;
      return n;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (!wait_fd(fd_, POLLOUT, deadline)) {
      set_fault(ConnFault::kWriteTimeout);
      return -1;
    }
  }
}

void ConnStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) address_string(ss, ip, port);
}

void ConnStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) address_string(ss, ip, port);
}

}  // namespace chatforge::serve
