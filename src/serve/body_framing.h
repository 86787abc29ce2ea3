// BodyFraming: what a request head says about its body (Content-Length, chunked), checked
// before any of the body is read. cpp-httplib frames a body by these headers, so whatever
// it would misread is refused: two framings, a transfer coding other than chunked, a
// malformed or conflicting Content-Length, and any Content-Encoding (cpp-httplib would
// decompress it, and no size limit sees the decompressed bytes).
// Examples: "Content-Length: 12" -> {length 12}; "Transfer-Encoding: chunked" -> {chunked};
// "Content-Length: 1e3" -> 400; "Content-Encoding: gzip" -> 415.
#pragma once
#include <httplib.h>

#include <cstdint>
#include <optional>

#include "serve/api_request.h"

namespace chatforge::serve {

struct BodyFraming {
  bool chunked = false;
  bool has_length = false;
  uint64_t length = 0;
  bool declared() const { return chunked || length > 0; }  // a body follows the head
};

// Fills `f`; a 400/415 ApiError for a head whose body cannot be read safely.
std::optional<ApiError> parse_framing(const httplib::Request& req, BodyFraming& f);

}  // namespace chatforge::serve
