#include "tls/https_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/sigpipe_block.h"
#include "base/text.h"
#include "tls/pki.h"

namespace dcslab {

namespace {

using Clock = std::chrono::steady_clock;
using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

HttpError not_sent(std::string m) { return {HttpError::Kind::NotSent, std::move(m)}; }
HttpError unknown(std::string m) { return {HttpError::Kind::Unknown, std::move(m)}; }

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string ssl_errors(const std::string& fallback) {
  std::string reason;
  while (unsigned long e = ERR_get_error())
    if (const char* r = ERR_reason_error_string(e)) reason = r;
  return reason.empty() ? fallback : reason;
}

void set_io_timeout(int fd, std::chrono::milliseconds t) {
  if (t.count() < 1) t = std::chrono::milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::chrono::milliseconds left(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A header's value in lower case ("" when absent), without adding it to the answer.
std::string header(const HttpResponse& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : lower(it->second);
}

// Every certificate of the PEM text into the context's trust store; how many there were.
int add_cas(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free_all);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int n = 0;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    if (!cert) break;
    X509_STORE_add_cert(store, cert.get());
    ++n;
  }
  ERR_clear_error();  // the end of the text reads as an error
  return n;
}

Expected<void, std::string> use_client_cert(SSL_CTX* ctx, const TlsClientConfig& tls) {
  auto cert = parse_cert(tls.cert_pem, "client certificate");
  auto key = parse_key(tls.key_pem, "client key");
  std::string err;
  if (!cert || !key) err = "the client certificate or key is not PEM";
  else if (SSL_CTX_use_certificate(ctx, cert->get()) != 1 ||
           SSL_CTX_use_PrivateKey(ctx, key->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    err = "the client key does not belong to the client certificate";
  ERR_clear_error();
  if (!err.empty()) return err;
  return {};
}

// What every connection of a client shares: TLS 1.2 at least, the CA to verify against
// (none: the server is not verified), the client certificate.
Expected<SslCtxPtr, std::string> make_context(const TlsClientConfig& tls) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return "SSL_CTX_new: " + ssl_errors("failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_verify(ctx.get(), tls.ca_pem.empty() ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  if (!tls.ca_pem.empty() && add_cas(ctx.get(), tls.ca_pem) == 0)
    return std::string("the CA holds no PEM certificate");
  if (!tls.cert_pem.empty() || !tls.key_pem.empty()) DCSLAB_TRY(use_client_cert(ctx.get(), tls));
  return ctx;
}

// One address, connected within the deadline (non-blocking, so the deadline holds; then
// blocking again, reads and writes bounded by socket timeouts). The socket BIO owns the
// socket: whoever frees it closes it. The error: why not (strerror).
Expected<BioPtr, std::string> connect_one(const addrinfo& a, Clock::time_point deadline) {
  Fd owned(::socket(a.ai_family, a.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a.ai_protocol));
  if (!owned) return std::string(std::strerror(errno));
  BioPtr sock(BIO_new_socket(owned.get(), BIO_CLOSE), BIO_free_all);
  if (!sock) return std::string("cannot make a socket BIO");
  const int fd = owned.release();  // the BIO closes it now
  if (::connect(fd, a.ai_addr, a.ai_addrlen) != 0 && errno != EINPROGRESS)
    return std::string(std::strerror(errno));
  pollfd p{fd, POLLOUT, 0};
  const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left(deadline).count())));
  int err = 0;
  socklen_t len = sizeof err;
  if (n > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (n <= 0 || err != 0) return std::string(n == 0 ? "timed out" : std::strerror(n < 0 ? errno : err));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return sock;
}

Expected<BioPtr, HttpError> connect_tcp(const std::string& host, int port, const std::string& where,
                                        Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return not_sent("cannot resolve " + host + ": " + gai_strerror(rc));
  const AddrInfoPtr list(found, freeaddrinfo);
  std::string last = "no address";
  for (const addrinfo* a = list.get(); a; a = a->ai_next) {
    auto sock = connect_one(*a, deadline);
    if (sock) return std::move(*sock);
    last = sock.error();
  }
  return not_sent("cannot connect to " + where + ": " + last);
}

// TLS over the connected socket, which the SSL then owns. SNI for a DNS name; when
// verifying, the server's certificate must chain to the CA and name `name` (IP or DNS).
Expected<SslPtr, HttpError> handshake(SSL_CTX* ctx, bool verify, BioPtr sock, const std::string& host,
                                      const std::string& name, const std::string& where,
                                      Clock::time_point deadline) {
  int fd = -1;
  BIO_get_fd(sock.get(), &fd);
  set_io_timeout(fd, left(deadline));
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx), SSL_free);
  if (!ssl) return not_sent("SSL_new failed");
  SSL_set_bio(ssl.get(), sock.get(), sock.get());  // one reference, now the SSL's
  (void)sock.release();
  if (!is_ip(host)) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  if (verify) {
    const int set = is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str())
                                : SSL_set1_host(ssl.get(), name.c_str());
    if (set != 1) return not_sent("cannot check the name " + name);
  }
  if (SSL_connect(ssl.get()) != 1) {
    const long verified = SSL_get_verify_result(ssl.get());
    const std::string why =
        verified != X509_V_OK
            ? std::string("server certificate: ") + X509_verify_cert_error_string(verified)
            : ssl_errors(errno == EAGAIN ? "timed out" : "the server closed the connection");
    ERR_clear_error();
    return not_sent("TLS handshake with " + where + " failed: " + why);
  }
  return ssl;
}

std::string request_text(const std::string& where, const std::string& path, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + where +
                    "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  return req + "\r\n" + body;
}

}  // namespace

struct HttpsClient::Context {
  SslCtxPtr ssl_ctx{nullptr, SSL_CTX_free};
  std::string error;    // why there is no ssl_ctx: every request's NotSent
  bool verify = false;  // the server's certificate and name are checked
};

// One TLS connection. Closed (and reopened by the client) after any error or when the
// server says Connection: close.
struct HttpsClient::Connection {
  SslPtr ssl{nullptr, SSL_free};  // owns the socket
  std::string buffered;           // bytes read past the last answer
  int fd() const { return SSL_get_fd(ssl.get()); }
  // The server closed an idle keep-alive connection (or sent something unasked for):
  // readable before a request means it is of no further use.
  bool stale() const {
    pollfd p{fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }
  // The request, in one write (no partial writes: SSL_write sends all of it or fails).
  bool send(const std::string& request, Clock::time_point deadline) {
    set_io_timeout(fd(), left(deadline));
    ERR_clear_error();
    const bool sent = SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) > 0;
    ERR_clear_error();
    return sent;
  }
};

namespace {

// One answer off a connection within the deadline: status line and headers, then a body
// by Content-Length, by chunks, or until the server closes. What follows the answer stays
// buffered for the next one. The error: why there is no (complete) answer.
class ResponseReader {
 public:
  // The connection's SSL and buffer are borrowed: the reader lives within one post().
  ResponseReader(SSL* ssl, int fd, std::string& in, Clock::time_point deadline,
                 std::chrono::milliseconds timeout)
      : ssl_(ssl), fd_(fd), in_(in), deadline_(deadline), timeout_(timeout) {}

  Expected<HttpResponse, std::string> read() {
    HttpResponse r;
    DCSLAB_TRY(read_head(&r));
    DCSLAB_TRY(read_body(&r));
    return r;
  }

  Expected<void, std::string> read_head(HttpResponse* r) {
    DCSLAB_TRY(until([&] { return in_.find("\r\n\r\n") != std::string::npos; },
                     "the server closed the connection before answering"));
    return parse_head(r);
  }

  Expected<void, std::string> read_body(HttpResponse* r) {
    const auto length = r->headers.find("content-length");
    if (chunked(*r)) {
      DCSLAB_TRY(chunked_body([&](std::string_view piece) {
        r->body.append(piece);
        return true;
      }));
    } else if (length != r->headers.end()) {
      const std::size_t size = std::strtoul(length->second.c_str(), nullptr, 10);
      DCSLAB_TRY(until([&] { return in_.size() >= size; }, "the answer was cut off"));
      r->body = in_.substr(0, size);
      in_.erase(0, size);
    } else {
      while (!closed_) DCSLAB_TRY(more());
      r->body = std::move(in_);
      in_.clear();
    }
    return {};
  }

  static bool chunked(const HttpResponse& r) {
    return header(r, "transfer-encoding").find("chunked") != std::string::npos;
  }

  // A stream: from now on the deadline is `idle` after the last byte, and `stop` is
  // looked at while waiting.
  void stream(std::chrono::milliseconds idle, const std::atomic<bool>* stop) {
    idle_ = idle;
    stop_ = stop;
    deadline_ = Clock::now() + idle;
  }
  // The stream's body, each piece to `on_data` as it arrives; true: the body ended, false:
  // stopped (the flag, or on_data said no more).
  Expected<bool, std::string> stream_body(const HttpResponse& r, const StreamData& on_data) {
    if (!chunked(r)) {  // not a stream after all: the whole body at once
      HttpResponse whole = r;
      DCSLAB_TRY(read_body(&whole));
      if (stopped_) return false;
      return on_data(whole.body);
    }
    auto body = chunked_body(on_data);
    if (stopped_) return false;
    if (!body) return body.error();
    return true;
  }
  // The server closed the connection.
  bool closed() const { return closed_; }
  // The stop flag was seen, or on_data said no more.
  bool stopped() const { return stopped_; }

 private:
  // One read: more bytes, or the server's close noted, or (a stream) the stop flag seen.
  Expected<void, std::string> more() {
    const auto l = left(deadline_);
    const std::string late = idle_.count() ? "no data for " + std::to_string(idle_.count()) + " ms"
                                           : "no answer within " + std::to_string(timeout_.count()) + " ms";
    if (l.count() <= 0) return late;
    if (stop_) {
      DCSLAB_TRY_ASSIGN(const bool readable, wait_readable());
      if (stopped_) return {};
      if (!readable) return late;
    }
    set_io_timeout(fd_, left(deadline_));
    char buf[16384];
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      if (idle_.count()) deadline_ = Clock::now() + idle_;
      return {};
    }
    const int err = SSL_get_error(ssl_, n);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && n == 0)) {
      closed_ = true;
      return {};
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || errno == EAGAIN) return late;
    return std::string("the connection broke: ") + (errno ? std::strerror(errno) : "TLS error");
  }

  // Until the socket is readable (true), the deadline passes (false) or the stop flag is
  // set (stopped_), in slices of at most 100 ms.
  Expected<bool, std::string> wait_readable() {
    for (;;) {
      if (stop_->load()) {
        stopped_ = true;
        return false;
      }
      if (SSL_pending(ssl_) > 0) return true;
      const auto l = left(deadline_);
      if (l.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(100, l.count())));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    }
  }

  // Reads until `have` holds; the server closing first is `cut_off`.
  template <typename Have>
  Expected<void, std::string> until(Have have, const char* cut_off) {
    while (!have()) {
      if (closed_) return std::string(cut_off);
      DCSLAB_TRY(more());
      if (stopped_) return std::string("stopped");
    }
    return {};
  }

  Expected<void, std::string> parse_head(HttpResponse* r) {
    const std::size_t end = in_.find("\r\n\r\n");
    const std::string head = in_.substr(0, end);
    in_.erase(0, end + 4);
    const auto nl = head.find("\r\n");
    const std::string status_line = head.substr(0, nl);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
      return "not an HTTP answer: " + status_line.substr(0, 80);
    r->status = std::atoi(status_line.c_str() + 9);
    for (std::size_t pos = nl == std::string::npos ? head.size() : nl + 2; pos < head.size();) {
      auto eol = head.find("\r\n", pos);
      if (eol == std::string::npos) eol = head.size();
      const std::string line = head.substr(pos, eol - pos);
      if (const auto colon = line.find(':'); colon != std::string::npos)
        r->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
      pos = eol + 2;
    }
    return {};
  }

  // Chunks until the last one, their data to `on_data` as it arrives (a piece of a chunk
  // at a time: a stream's chunk may take long to come whole). Stops early when on_data
  // says no more or the stop flag is seen (stopped_).
  Expected<void, std::string> chunked_body(const StreamData& on_data) {
    for (;;) {
      DCSLAB_TRY(until([&] { return in_.find("\r\n") != std::string::npos; }, "the answer was cut off"));
      const std::size_t eol = in_.find("\r\n");
      const std::size_t size = std::strtoul(in_.substr(0, eol).c_str(), nullptr, 16);
      in_.erase(0, eol + 2);
      for (std::size_t rest = size; rest > 0;) {
        DCSLAB_TRY(until([&] { return !in_.empty(); }, "the answer was cut off"));
        const std::size_t n = std::min(rest, in_.size());
        if (!on_data(std::string_view(in_).substr(0, n))) {
          stopped_ = true;
          return {};
        }
        in_.erase(0, n);
        rest -= n;
      }
      DCSLAB_TRY(until([&] { return in_.size() >= 2; }, "the answer was cut off"));
      in_.erase(0, 2);  // the chunk's CRLF; after the last chunk, the empty trailer line
      if (size == 0) return {};
    }
  }

  SSL* ssl_;
  int fd_;
  std::string& in_;
  Clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds idle_{0};       // a stream: the deadline moves with each byte
  const std::atomic<bool>* stop_ = nullptr; // a stream: the caller's stop flag
  bool closed_ = false;
  bool stopped_ = false;
};

}  // namespace

HttpsClient::HttpsClient(const TlsClientConfig& tls) : ctx_(std::make_unique<Context>()) {
  auto made = make_context(tls);
  if (made) ctx_->ssl_ctx = std::move(*made);
  else ctx_->error = made.error();
  ctx_->verify = !tls.ca_pem.empty();
}

HttpsClient::~HttpsClient() = default;

Expected<std::unique_ptr<HttpsClient::Connection>, HttpError> HttpsClient::open(
    const std::string& host, int port, const std::string& where, const std::string& verify_name,
    Clock::time_point deadline) {
  DCSLAB_TRY_ASSIGN(BioPtr sock, connect_tcp(host, port, where, deadline));
  DCSLAB_TRY_ASSIGN(SslPtr ssl, handshake(ctx_->ssl_ctx.get(), ctx_->verify, std::move(sock), host,
                                          verify_name.empty() ? host : verify_name, where, deadline));
  auto conn = std::make_unique<Connection>();
  conn->ssl = std::move(ssl);
  ++opened_;
  return conn;
}

Expected<HttpResponse, HttpError> HttpsClient::post(
    const std::string& host, int port, const std::string& path, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout, const std::string& verify_name) {
  SigpipeBlock no_sigpipe;
  const auto deadline = Clock::now() + timeout;
  const std::string where = host + ":" + std::to_string(port);
  if (!ctx_->ssl_ctx) return not_sent(ctx_->error);

  // A connection: the open one unless the server closed it, else a new one.
  auto& conn = conns_[where];
  if (conn && conn->stale()) conn.reset();
  if (!conn) {
    DCSLAB_TRY_ASSIGN(conn, open(host, port, where, verify_name, deadline));
  }

  if (!conn->send(request_text(where, path, body, headers), deadline)) {
    conn.reset();
    // At most part of the request left: no server acts on a request it did not get whole.
    return not_sent("cannot send to " + where + ": the connection broke");
  }
  ResponseReader reader(conn->ssl.get(), conn->fd(), conn->buffered, deadline, timeout);
  auto response = reader.read();
  if (!response) {
    conn.reset();
    return unknown(response.error() + " (" + where + " " + path + ")");
  }
  if (reader.closed() || header(*response, "connection") == "close") conn.reset();
  return std::move(*response);
}

Expected<HttpStream, HttpError> HttpsClient::post_stream(
    const std::string& host, int port, const std::string& path, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout, std::chrono::milliseconds idle,
    const std::atomic<bool>& stop, const StreamData& on_data, const std::string& verify_name) {
  SigpipeBlock no_sigpipe;
  const auto deadline = Clock::now() + timeout;
  const std::string where = host + ":" + std::to_string(port);
  if (!ctx_->ssl_ctx) return not_sent(ctx_->error);
  DCSLAB_TRY_ASSIGN(const auto conn, open(host, port, where, verify_name, deadline));
  if (!conn->send(request_text(where, path, body, headers), deadline))
    return not_sent("cannot send to " + where + ": the connection broke");
  ResponseReader reader(conn->ssl.get(), conn->fd(), conn->buffered, deadline, timeout);
  HttpStream out;
  HttpResponse head;
  if (auto h = reader.read_head(&head); !h)
    return unknown(h.error() + " (" + where + " " + path + ")");
  out.status = head.status;
  out.headers = head.headers;
  if (head.status < 200 || head.status > 299) {
    if (auto b = reader.read_body(&head); !b) return unknown(b.error() + " (" + where + " " + path + ")");
    out.body = std::move(head.body);
    return out;
  }
  reader.stream(idle, &stop);
  auto ended = reader.stream_body(head, on_data);
  if (!ended) return unknown(ended.error() + " (" + where + " " + path + ")");
  out.end = *ended ? HttpStream::End::Finished : HttpStream::End::Stopped;
  return out;
}

}  // namespace dcslab
