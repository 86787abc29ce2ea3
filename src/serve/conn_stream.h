// ConnStream: cpp-httplib's Stream over one accepted socket, for the whole life of the
// connection (so pipelined requests already read into its buffer are kept), with the limits
// cpp-httplib 0.11 lacks: an absolute deadline for the request head and one for the body
// (a client that dribbles a byte a second cannot hold the connection past them), a cap on
// the head's size, its header count and each header line, a cap on the body bytes on the
// wire, and a no-progress timeout per write. At a limit, read()/write() fail and fault()
// says which limit it was; the caller answers (408/413/414/431) and closes.
// It follows the request as cpp-httplib reads it: the head byte by byte, ending at the
// first empty CRLF line after the request line, then the body.
#pragma once
#include <httplib.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "serve/http_limits.h"

namespace chatforge::serve {

// Where a connection is in its current request (also what ConnRegistry may evict).
enum class ConnPhase { kIdle, kHead, kBody, kBusy };

enum class ConnFault {
  kNone,
  kRequestLineTooLong,  // the head limit was reached inside the request line
  kHeadTooLarge,        // head bytes or one header line over the limit
  kTooManyHeaders,
  kHeadTimeout,
  kBodyTooLarge,        // wire bytes of the body over HttpLimits::max_wire_body_bytes()
  kBodyTimeout,
  kWriteTimeout,
};

double monotonic_seconds();

class ConnStream final : public httplib::Stream {
 public:
  // on_phase: told each phase change (the registry records it for eviction); may be empty.
  ConnStream(int fd, const HttpLimits& limits, std::function<void(ConnPhase)> on_phase = {});

  // Waits up to the idle timeout for the first byte of the next request (buffered bytes of
  // a pipelined request count). False: nothing came (or the socket failed); close.
  bool wait_for_request();
  // Starts a request: head deadline = now + header timeout, counters reset.
  void begin_request();
  // The head is parsed: what it says about the body. No body: the request is complete now
  // (kBusy); a Content-Length: complete once that many body bytes were read; open-ended
  // (chunked, or read to EOF): complete when the handler says so (mark_busy).
  void expect_body(bool open_ended, uint64_t length);
  // The request is complete (handled or answered): no longer evictable as unfinished.
  void mark_busy();

  ConnFault fault() const { return fault_; }
  ConnPhase phase() const { return phase_; }
  bool wrote_response() const { return wrote_; }  // since begin_request
  size_t body_bytes() const { return body_bytes_; }
  size_t header_lines() const { return lines_ > 0 ? lines_ - 1 : 0; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  void set_phase(ConnPhase p);
  bool fill();                            // one recv into buf_, within the phase's deadline
  bool account(const char* p, size_t n);  // head/body bookkeeping for bytes handed out
  void set_fault(ConnFault f) { if (fault_ == ConnFault::kNone) fault_ = f; }

  int fd_;
  HttpLimits limits_;
  std::function<void(ConnPhase)> on_phase_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  ConnPhase phase_ = ConnPhase::kIdle;
  ConnFault fault_ = ConnFault::kNone;
  double deadline_ = 0;
  size_t head_bytes_ = 0, line_len_ = 0, lines_ = 0, body_bytes_ = 0;
  uint64_t expected_body_ = UINT64_MAX;  // UINT64_MAX: unknown until the handler has read it
  char last_ = 0;
  bool wrote_ = false;
};

}  // namespace chatforge::serve
