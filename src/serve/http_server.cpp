// HttpServer: the per-connection loop (keep-alive, pipelining, limits, fault answers),
// refusal at the cap, lingering close and memory trimming.
#include "serve/http_server.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "serve/conn_pool.h"

namespace chatforge::serve {
namespace {

thread_local ConnContext* t_current = nullptr;
thread_local bool t_refusing = false;  // set by the pool while it runs a refused job inline

constexpr size_t kLargeBody = 256 * 1024;  // requests at least this large trigger a trim
constexpr double kTrimInterval = 1.0;      // seconds between two malloc_trim calls at most

const char* reason_phrase(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A complete answer with an OpenAI error object that closes the connection; for the cases
// where cpp-httplib writes none (a fault inside the request line, a refused connection).
std::string close_answer(int status, const std::string& message, const std::string& code, const char* extra = "") {
  const std::string body =
      nlohmann::json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr},
                                {"code", code}}}}
          .dump();
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}",
      status, reason_phrase(status), body.size(), extra, body);
}

// As cpp-httplib frames a request body: chunked, else Content-Length, else (for methods
// that carry one) everything up to EOF.
bool body_is_open_ended(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  if (req.has_header("Content-Length")) return false;
  return req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || req.method == "DELETE";
}

uint64_t body_length(const httplib::Request& req) {
  return req.has_header("Content-Length") ? std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10)
                                          : 0;
}

}  // namespace

FaultAnswer fault_answer(ConnFault f, const HttpLimits& l) {
  const size_t head_kb = l.max_head_bytes / 1024;
  switch (f) {
    case ConnFault::kNone:
    case ConnFault::kWriteTimeout: return {};
    case ConnFault::kRequestLineTooLong:
      return {414, fmt::format("the request line is longer than the header limit ({} KiB, --max-header-kb)", head_kb),
              "uri_too_long"};
    case ConnFault::kHeadTooLarge:
      return {431,
              fmt::format("request headers too large: at most {} KiB in all (--max-header-kb) and 8 KiB per line",
                          head_kb),
              "headers_too_large"};
    case ConnFault::kTooManyHeaders:
      return {431, fmt::format("too many request header lines: at most {} (--max-headers)", l.max_headers),
              "too_many_headers"};
    case ConnFault::kHeadTimeout:
      return {408, fmt::format("the request headers did not arrive within {:g} s (--header-timeout)", l.header_timeout_s),
              "request_timeout"};
    case ConnFault::kBodyTooLarge:
      return {413, fmt::format("the request body is larger than {} KiB (--max-body-kb)", l.max_body_bytes / 1024),
              "payload_too_large"};
    case ConnFault::kBodyTimeout:
      return {408, fmt::format("the request body did not arrive within {:g} s (--body-timeout)", l.body_timeout_s),
              "request_timeout"};
  }
  return {};
}

HttpServer::HttpServer(const HttpLimits& limits)
    : limits_(limits), registry_(static_cast<size_t>(std::max(1, limits.max_connections))) {
  new_task_queue = [this] {
    registry_.reopen();
    return new ConnectionPool(registry_, static_cast<size_t>(std::max(1, limits_.max_connections)),
                              [](const std::function<void()>& job) {
                                t_refusing = true;  // job() calls process_and_close_socket here
                                job();
                                t_refusing = false;
                              });
  };
  set_payload_max_length(limits_.max_body_bytes);
  // only what the Keep-Alive answer header announces; our loop enforces them
  set_keep_alive_timeout(static_cast<time_t>(std::ceil(limits_.idle_timeout_s)));
  set_keep_alive_max_count(static_cast<size_t>(std::max(1, limits_.max_requests_per_connection)));
  // every answer here is generated: byte ranges are not served (see process_request's
  // setup hook below), and HEAD answers say so instead of cpp-httplib's "bytes"
  set_default_headers({{"Accept-Ranges", "none"}});
}

HttpServer::~HttpServer() = default;

ConnContext* HttpServer::current() { return t_current; }

void HttpServer::widen_backlog() {
  const socket_t s = svr_sock_;
  if (s != INVALID_SOCKET) ::listen(s, SOMAXCONN);
}

void HttpServer::refuse(int sock) {
  const std::string answer =
      close_answer(503, fmt::format("the server has {} connections open, all busy (--max-connections); retry later",
                                    limits_.max_connections),
                   "too_many_connections", "Retry-After: 1\r\n");
  // a fresh socket's send buffer is empty: this never blocks the accepting thread
  (void)!::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  closer_.close_later(sock);
}

void HttpServer::trim_memory(bool large_request) {
  if (large_request) trim_pending_ = true;
  if (!trim_pending_) return;
  const double now = monotonic_seconds();
  double last = last_trim_.load();
  // once a second at most while connections are open; at once when the last one closes
  if (now - last < kTrimInterval && registry_.open() > 0) return;
  if (!last_trim_.compare_exchange_strong(last, now)) return;  // another thread trims
  trim_pending_ = false;
  // glibc keeps freed memory in per-thread arenas (and, after a large free, serves large
  // blocks from them too): request bodies of hundreds of connection threads would stay
  // resident. malloc_trim returns every free page of every arena to the system.
  malloc_trim(0);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  if (t_refusing) {
    refuse(sock);
    return true;
  }
  ConnSlot slot;
  slot.fd = sock;
  registry_.add(&slot);
  ConnStream strm(sock, limits_, [&](ConnPhase p) { registry_.set_phase(&slot, p); });
  ConnContext ctx(strm);
  t_current = &ctx;
  bool linger = false;
  try {
    for (int served = 0; served < limits_.max_requests_per_connection; ++served) {
      if (svr_sock_ == INVALID_SOCKET) break;  // stopping
      if (!strm.wait_for_request()) break;
      strm.begin_request();
      ctx.reset();
      bool closed = false;
      const bool last = served + 1 == limits_.max_requests_per_connection;
      // Range on generated answers: ignored (whole answer, 200) -- a multi-range request
      // otherwise makes cpp-httplib build one multipart copy per range (8 KB -> 35 MB)
      const bool ok = process_request(strm, last, closed, [&strm](httplib::Request& req) {
        req.ranges.clear();
        strm.expect_body(body_is_open_ended(req), body_length(req));
      });
      const ConnFault f = strm.fault();
      if (!ok && !strm.wrote_response()) {
        const FaultAnswer a = fault_answer(f, limits_);
        if (a.status) {
          const std::string answer = close_answer(a.status, a.message, a.code);
          (void)!::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
      }
      trim_memory(ctx.large_request() || strm.body_bytes() >= kLargeBody || f != ConnFault::kNone);
      if (f != ConnFault::kNone || ctx.closing()) {
        linger = f != ConnFault::kWriteTimeout;
        break;
      }
      if (!ok || closed) break;
    }
  } catch (...) {
    // nothing may escape a connection thread; the connection just closes
  }
  t_current = nullptr;
  const bool evicted = registry_.evicted(&slot);
  registry_.remove(&slot);
  if (linger && !evicted) {
    closer_.close_later(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  trim_memory(false);  // a trim held back by the rate limit happens when the last connection closes
  return true;
}

}  // namespace chatforge::serve
