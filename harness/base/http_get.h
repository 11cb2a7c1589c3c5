// A plain HTTP/1.1 GET (no TLS) with one deadline over the whole exchange: for the REST
// APIs on the lab's nodes that speak plain HTTP (Patroni's :8008). One connection per
// request (Connection: close): no state between calls, any thread may call it.
//
// The response parser is separate and pure (bytes in, a reply out), so it is tested
// without sockets and any other HTTP/1.1 client can use it: a body by Content-Length,
// by chunks, or up to the server's close.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace dcslab {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// GET http://host:port/path. Failure kinds: Refused (nothing listens), Timeout (no
// complete answer within `timeout`, counted from the call), Error (a broken or
// malformed answer). Any HTTP status is a reply, not a failure.
Expected<HttpReply> http_get(const std::string& host, int port, const std::string& path,
                             std::chrono::milliseconds timeout);

enum class HttpParse { Incomplete, Complete, Bad };
// Parses the response in `bytes` (everything received so far; `eof`: the server has
// closed). Complete fills *out; Bad says why in *error.
HttpParse parse_http_response(std::string_view bytes, bool eof, HttpReply* out, std::string* error);

}  // namespace dcslab
