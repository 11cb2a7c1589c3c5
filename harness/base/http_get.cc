#include "base/http_get.h"

#include <cctype>
#include <cstdlib>

#include "base/tcp.h"
#include "base/text.h"

namespace dcslab {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A non-negative number in `base` that fills all of `s`.
bool parse_size(std::string_view s, int base, std::size_t* out) {
  if (s.empty() || s.size() > 15) return false;
  std::size_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * static_cast<std::size_t>(base) + static_cast<std::size_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

HttpParse parse_http_response(std::string_view in, bool eof, HttpReply* out, std::string* error) {
  auto bad = [&](std::string why) {
    *error = std::move(why);
    return HttpParse::Bad;
  };
  auto cut = [&](std::string_view what) {
    return eof ? bad("the server closed the connection " + std::string(what)) : HttpParse::Incomplete;
  };
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return cut("before the end of the headers");
  const std::string_view head = in.substr(0, head_end);
  std::string_view rest = in.substr(head_end + 4);

  HttpReply r;
  const auto nl = head.find("\r\n");
  const std::string_view status_line = head.substr(0, nl);
  // "HTTP/1.1 200 OK": the version, a space, three digits.
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ')
    return bad("not an HTTP answer: \"" + std::string(status_line.substr(0, 80)) + "\"");
  std::size_t code = 0;
  if (!parse_size(status_line.substr(9, 3), 10, &code) || code < 100)
    return bad("no status code in \"" + std::string(status_line.substr(0, 80)) + "\"");
  r.status = static_cast<int>(code);
  for (std::size_t pos = nl == std::string_view::npos ? head.size() : nl + 2; pos < head.size();) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    if (const auto colon = line.find(':'); colon != std::string_view::npos)
      r.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    pos = end + 2;
  }

  const auto te = r.headers.find("transfer-encoding");
  const auto cl = r.headers.find("content-length");
  if (te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    for (;;) {
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) return cut("in a chunk's size");
      std::string_view size_text = rest.substr(0, eol);
      if (const auto semi = size_text.find(';'); semi != std::string_view::npos)
        size_text = size_text.substr(0, semi);  // chunk extensions
      std::size_t size = 0;
      if (!parse_size(trim(size_text), 16, &size))
        return bad("a chunk's size is not hex: \"" + std::string(size_text.substr(0, 20)) + "\"");
      rest.remove_prefix(eol + 2);
      if (size == 0) {
        // Trailers, none expected, end with an empty line.
        if (rest.find("\r\n") == std::string_view::npos) return cut("in the trailers");
        break;
      }
      if (rest.size() < size + 2) return cut("in a chunk");
      if (rest.substr(size, 2) != "\r\n") return bad("a chunk does not end with CRLF");
      r.body.append(rest.substr(0, size));
      rest.remove_prefix(size + 2);
    }
  } else if (cl != r.headers.end()) {
    std::size_t size = 0;
    if (!parse_size(cl->second, 10, &size)) return bad("Content-Length: \"" + cl->second + "\"");
    if (rest.size() < size) return cut("before the end of the body");
    r.body.assign(rest.substr(0, size));
  } else if (r.status == 204 || r.status == 304 || r.status < 200) {
    // No body by definition.
  } else {
    if (!eof) return HttpParse::Incomplete;  // the body runs to the close
    r.body.assign(rest);
  }
  *out = std::move(r);
  return HttpParse::Complete;
}

Expected<HttpReply> http_get(const std::string& host, int port, const std::string& path,
                             std::chrono::milliseconds timeout) {
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = "http://" + host + ":" + std::to_string(port) + path;
  DCSLAB_TRY_ASSIGN(auto fd, tcp_connect(host, port, deadline));
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                          "\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
  if (auto sent = tcp_send_all(fd, req, deadline); !sent)
    return Failure{sent.error().kind, "GET " + where + ": " + sent.error().message};
  std::string in;
  for (;;) {
    bool eof = false;
    if (auto got = tcp_receive(fd, &in, &eof, deadline); !got) {
      const auto ms = std::to_string(timeout.count());
      return got.error().kind == Failure::Kind::Timeout
                 ? Failure::timeout("GET " + where + ": no complete answer within " + ms + " ms")
                 : Failure::error("GET " + where + ": " + got.error().message);
    }
    HttpReply reply;
    std::string error;
    switch (parse_http_response(in, eof, &reply, &error)) {
      case HttpParse::Complete: return reply;
      case HttpParse::Bad: return Failure::error("GET " + where + ": " + error);
      case HttpParse::Incomplete: break;
    }
  }
}

}  // namespace dcslab
