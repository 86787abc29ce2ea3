// HttpServer: cpp-httplib's Server with the connection handling replaced, so that slow and
// hostile clients cannot take it down. Debian 12's cpp-httplib 0.11.4 reads each request
// with only a per-recv timeout (a client sending a byte every few seconds holds a handler
// thread forever), queues connections without bound behind a fixed thread pool, makes a
// new stream per keep-alive request (dropping a pipelined request it had buffered), and
// bounds neither the header count nor a chunked body. Its hooks are enough to fix that
// without another HTTP library: the TaskQueue (ConnectionPool: a thread per connection up
// to a cap, admission and eviction by ConnRegistry, 503 beyond), the virtual
// process_and_close_socket (our keep-alive loop over one ConnStream per connection, with
// head/body deadlines and size limits), and process_request, which still parses and
// routes. Refused or failed connections close through a LingeringCloser, and after large
// requests memory goes back to the system (malloc_trim, at most once a second).
//
// Handlers see their connection through HttpServer::current() (same thread): mark_busy()
// once the request is complete, close_after_response() when part of it stays unread.
#pragma once
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "serve/conn_registry.h"
#include "serve/conn_stream.h"
#include "serve/http_limits.h"
#include "serve/lingering_close.h"

namespace chatforge::serve {

// The connection behind the request a handler is serving.
class ConnContext {
 public:
  explicit ConnContext(ConnStream& stream) : stream_(stream) {}
  void mark_busy() { stream_.mark_busy(); }
  void close_after_response() { close_after_ = true; }
  bool closing() const { return close_after_; }
  ConnFault fault() const { return stream_.fault(); }
  void note_large_request() { large_ = true; }
  bool large_request() const { return large_; }
  void reset() { close_after_ = large_ = false; }

 private:
  ConnStream& stream_;
  bool close_after_ = false;
  bool large_ = false;
};

// The status and message for a request that hit a limit (kNone: 0).
struct FaultAnswer {
  int status = 0;
  std::string message, code;
};
FaultAnswer fault_answer(ConnFault f, const HttpLimits& limits);

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(const HttpLimits& limits);
  ~HttpServer() override;

  const HttpLimits& limits() const { return limits_; }
  static ConnContext* current();  // null outside a connection thread

  // After bind: cpp-httplib listens with a backlog of 5, so a burst of connections (an
  // attack, or just many clients at once) had SYNs dropped and retried a second later.
  void widen_backlog();

  size_t open_connections() { return registry_.open(); }
  size_t evicted_connections() { return registry_.evictions(); }
  size_t refused_connections() { return registry_.refusals(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  void refuse(int sock);
  void trim_memory(bool large_request);

  HttpLimits limits_;
  ConnRegistry registry_;
  LingeringCloser closer_;
  std::atomic<double> last_trim_{0};
  std::atomic<bool> trim_pending_{false};
};

}  // namespace chatforge::serve
