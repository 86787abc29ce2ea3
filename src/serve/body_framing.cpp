// BodyFraming: the checks of a request head's body framing.
#include "serve/body_framing.h"

#include <fmt/format.h>
#include <strings.h>

namespace chatforge::serve {

std::optional<ApiError> parse_framing(const httplib::Request& req, BodyFraming& f) {
  const size_t te_count = req.get_header_value_count("Transfer-Encoding");
  const size_t cl_count = req.get_header_value_count("Content-Length");
  if (te_count > 0) {
    const std::string te = req.get_header_value("Transfer-Encoding");
    if (te_count > 1 || strcasecmp(te.c_str(), "chunked") != 0)
      return ApiError(400, fmt::format("unsupported Transfer-Encoding '{}': only 'chunked' is accepted", te.substr(0, 40)), "",
                      "bad_transfer_encoding");
    if (cl_count > 0)
      return ApiError(400, "a request with both Content-Length and Transfer-Encoding: send one of them", "",
                      "bad_request");
    f.chunked = true;
  }
  if (cl_count > 0) {
    const std::string v = req.get_header_value("Content-Length");
    for (size_t i = 1; i < cl_count; ++i)
      if (req.get_header_value("Content-Length", i) != v)
        return ApiError(400, "conflicting Content-Length headers", "", "bad_request");
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
      return ApiError(400, fmt::format("invalid Content-Length '{}'", v.substr(0, 40)), "", "bad_request");
    f.has_length = true;
    f.length = std::stoull(v);
  }
  const std::string ce = req.get_header_value("Content-Encoding");
  if (!ce.empty() && strcasecmp(ce.c_str(), "identity") != 0)
    return ApiError(415, fmt::format("compressed request bodies (Content-Encoding: {}) are not accepted", ce.substr(0, 40)),
                    "", "unsupported_content_encoding");
  return std::nullopt;
}

}  // namespace chatforge::serve
