// The limits that keep `chatforge serve` answering under slow and hostile clients: how many
// connections may be open, how large and how slow a request may be, how long a stalled
// reader may hold a write. Defaults are the documented ones (docs/serve.md, "Limits");
// each has a `chatforge serve` flag.
#pragma once
#include <cstddef>

namespace chatforge::serve {

struct HttpLimits {
  int max_connections = 256;       // open connections, each with its own thread; more: see http_server.h
  int max_headers = 100;           // header lines per request -> 431
  size_t max_head_bytes = 32768;   // request line + headers -> 431 (414 for a long request line)
  size_t max_body_bytes = 1 << 20;  // decoded body (Content-Length or chunked) -> 413
  double idle_timeout_s = 5;       // wait for a request's first byte (new or kept-alive connection) -> close
  double header_timeout_s = 10;    // first byte to end of headers -> 408
  double body_timeout_s = 30;      // end of headers to end of body -> 408
  double write_timeout_s = 10;     // a write that makes no progress (client not reading) -> close
  int max_requests_per_connection = 1000;  // keep-alive requests on one connection, then it closes

  // Bytes of a chunked body on the wire (chunk framing included) read before giving up:
  // twice the decoded limit plus 64 KiB, so hex chunk-size lines cannot grow without bound.
  size_t max_wire_body_bytes() const { return 2 * max_body_bytes + 65536; }
};

}  // namespace chatforge::serve
