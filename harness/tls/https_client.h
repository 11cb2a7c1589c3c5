// HTTP/1.1 POSTs over TLS (OpenSSL), one keep-alive connection per host:port, a deadline
// on every request: the transport of etcd's JSON gateway (etcd/etcd_client.h), apart from
// etcd so that every OpenSSL handle of the harness lives in tls/.
//
// A failed request says only what a transport can know: whether any byte of it left this
// process. Whether an answer means "refused" is the protocol's judgment (an HTTP 400 from
// etcd is, a 503 is not), so non-2xx answers are answers here, not errors.
//
// The connection is made from this process, so from whatever network namespace it is in
// (the lab's, when the lab is isolated).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace dcslab {

// TLS material, PEM. The key is handed to OpenSSL only, never logged.
struct TlsClientConfig {
  std::string ca_pem;     // the server must chain to it; empty: the server is not verified
  std::string cert_pem;   // client certificate and key: both or neither
  std::string key_pem;
};

// Why a request got no answer, as a caller that must judge "could it have taken effect?"
// needs it.
struct HttpError {
  enum class Kind {
    NotSent,  // no byte of the request was written: the server cannot have acted on it
    Unknown,  // written, then no (complete) answer: the server may have acted on it
  };
  Kind kind = Kind::Unknown;
  std::string message;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// A streaming answer (post_stream): how it ended. A 2xx body went to the caller piece by
// piece; any other answer is read whole into `body` (an error, as the protocol says it).
struct HttpStream {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  enum class End {
    Finished,  // the server ended the body
    Stopped,   // the caller's stop flag, or its callback said no more
  };
  End end = End::Finished;
};
// Body bytes of a streaming answer as they arrive (chunk framing removed; a piece may end
// anywhere, in the middle of a message). false: read no more.
using StreamData = std::function<bool(std::string_view)>;

// Not thread-safe: one user thread.
class HttpsClient {
 public:
  explicit HttpsClient(const TlsClientConfig& tls);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // `verify_name` (an IP or a DNS name) must be in the server's certificate (default:
  // host). The connection to host:port is reused unless the server closed it.
  Expected<HttpResponse, HttpError> post(
      const std::string& host, int port, const std::string& path, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers,
      std::chrono::milliseconds timeout, const std::string& verify_name = "");
  // A POST whose answer is a stream (etcd's /v3/watch): connected and answered within
  // `timeout`, then read for as long as the server sends, each piece handed to `on_data`.
  // No byte for `idle` is an error (Unknown: a member that went silent, a cut link), as is
  // a connection that breaks. `stop` is looked at every 100 ms at most, so another
  // thread ends the stream at once. The stream has a connection of its own, closed at
  // the end (never the keep-alive one of post()).
  Expected<HttpStream, HttpError> post_stream(
      const std::string& host, int port, const std::string& path, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers,
      std::chrono::milliseconds timeout, std::chrono::milliseconds idle,
      const std::atomic<bool>& stop, const StreamData& on_data, const std::string& verify_name = "");
  // Connections opened so far (a test sees keep-alive work).
  int connections_opened() const { return opened_; }

 private:
  struct Context;     // the SSL_CTX, or why there is none (https_client.cc)
  class Connection;   // one TLS connection and what was read past its last answer
  // A new TLS connection to host:port (where), within the deadline.
  Expected<std::unique_ptr<Connection>, HttpError> open(
      const std::string& host, int port, const std::string& where, const std::string& verify_name,
      std::chrono::steady_clock::time_point deadline);
  std::unique_ptr<Context> ctx_;
  std::map<std::string, std::unique_ptr<Connection>> conns_;  // "host:port" ->
  int opened_ = 0;
};

}  // namespace dcslab
