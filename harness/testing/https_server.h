// Tests only: a TLS server on 127.0.0.1 (an ephemeral port) that answers HTTP/1.1
// requests through a handler, and the PKI it presents. Every request is recorded; the
// test asserts on what the client asked.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/sigpipe_block.h"
#include "tls/pki.h"

namespace dcslab {

struct TestRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
  int connection = 0;                          // which accepted connection (1, 2, ...)
};

struct TestResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  bool chunked = false;
  bool close = false;        // Connection: close, then close
  bool drop = false;         // close without answering
  std::chrono::milliseconds delay{0};
  // A streamed answer (chunked): each piece written on its own, `gap` apart, cut into
  // uneven chunks; then the last chunk when stream_end, else the connection is held open
  // until the client closes it or the server stops (a watch that never ends).
  std::vector<std::string> stream{};
  std::chrono::milliseconds gap{0};
  bool stream_end = false;
  bool stream_cut = false;  // closed after the pieces, without the last chunk (a member dies)
  // A live stream: called every `gap` (5 ms when 0) for the next piece ("": nothing yet);
  // nullopt ends it (the last chunk, or a cut with stream_cut). After `stream`'s pieces.
  std::function<std::optional<std::string>()> pull{};
};

// A CA and a server certificate for 127.0.0.1, EC P-256 (quick to make).
struct TestPki {
  Ca ca;
  Issued server;
  std::string ca_pem() const { return cert_pem(*ca.cert); }
  static TestPki make() {
    TestPki p;
    CaOptions co;
    co.key = KeySpec{KeySpec::Type::EcP256, 0};
    p.ca = create_ca(co).value();
    CertOptions c;
    c.key = co.key;
    p.server = issue_cert(p.ca, CertSubject{"localhost", "127.0.0.1", "localhost"}, c).value();
    return p;
  }
};

class TestHttpsServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  // require_client_ca: when not empty, a client certificate from that CA is required.
  TestHttpsServer(const TestPki& pki, Handler handler, const std::string& require_client_ca = "")
      : handler_(std::move(handler)) {
    SSL_CTX* ctx = ctx_.get();
    SSL_CTX_use_certificate(ctx, pki.server.cert.get());
    SSL_CTX_use_PrivateKey(ctx, pki.server.key.get());
    if (!require_client_ca.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      X509_STORE_add_cert(store, pki.ca.cert.get());
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_.get(), 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpsServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<TestRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int connections() const { return connections_; }
  // The peer certificate's subject of the last connection ("" when none).
  std::string last_client_subject() {
    std::lock_guard lock(mu_);
    return client_subject_;
  }

 private:
  // One thread per connection: a held-open stream must not keep the next connection
  // (a watch's authentication, a second watch) waiting.
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      Fd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) continue;
      const int id = ++connections_;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, id, c = std::move(conn)]() mutable { connection(std::move(c), id); });
    }
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& w : workers) w.join();
  }

  void connection(Fd conn, int id) {
    SigpipeBlock no_sigpipe;  // a client that closed a stream first
    const int c = conn.get();
    timeval tv{0, 200000};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), SSL_free);
    SSL_set_fd(ssl.get(), c);
    if (SSL_accept(ssl.get()) == 1) {
      const X509Ptr peer(SSL_get1_peer_certificate(ssl.get()), X509_free);
      {
        std::lock_guard lock(mu_);
        client_subject_ = peer ? describe(*peer).subject : "";
      }
      handle(ssl.get(), id);
    }
    ERR_clear_error();
    ssl.reset();  // before `conn` closes the socket under it
  }

  // Requests on one connection until the client closes it (or the test ends).
  void handle(SSL* ssl, int id) {
    std::string in;
    while (!stop_) {
      std::size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        char buf[4096];
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
          in.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        const int err = SSL_get_error(ssl, n);
        if ((err == SSL_ERROR_WANT_READ || (err == SSL_ERROR_SYSCALL && errno == EAGAIN)) && !stop_) {
          ERR_clear_error();
          continue;
        }
        return;
      }
      TestRequest req;
      req.connection = id;
      const std::string head = in.substr(0, head_end);
      in.erase(0, head_end + 4);
      const auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
      req.method = head.substr(0, sp1);
      req.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t pos = head.find("\r\n");
      while (pos != std::string::npos && pos < head.size()) {
        pos += 2;
        auto end = head.find("\r\n", pos);
        const std::string line = head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (auto colon = line.find(':'); colon != std::string::npos) {
          std::string k = line.substr(0, colon);
          for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          req.headers[k] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        pos = end;
      }
      const std::size_t length = std::stoul(req.headers.count("content-length") ? req.headers["content-length"] : "0");
      while (in.size() < length) {
        char buf[4096];
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
          if (!stop_ && SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ) continue;
          return;
        }
        in.append(buf, static_cast<std::size_t>(n));
      }
      req.body = in.substr(0, length);
      in.erase(0, length);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      const TestResponse r = handler_(req);
      if (r.delay.count()) std::this_thread::sleep_for(r.delay);
      if (r.drop) return;
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: " + r.content_type + "\r\n";
      if (r.close) out += "Connection: close\r\n";
      if (!r.stream.empty() || r.pull) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        SSL_write(ssl, out.data(), static_cast<int>(out.size()));
        for (const auto& piece : r.stream) {
          if (stop_) return;
          std::this_thread::sleep_for(r.gap);
          const std::string chunks = uneven_chunks(piece);
          if (SSL_write(ssl, chunks.data(), static_cast<int>(chunks.size())) <= 0) return;
        }
        while (r.pull && !stop_) {
          const auto piece = r.pull();
          if (!piece) break;
          if (piece->empty()) {
            std::this_thread::sleep_for(r.gap.count() ? r.gap : std::chrono::milliseconds(5));
            continue;
          }
          const std::string chunks = uneven_chunks(*piece);
          if (SSL_write(ssl, chunks.data(), static_cast<int>(chunks.size())) <= 0) return;
        }
        if (r.stream_cut) return;
        if (!r.stream_end) {
          // Held open: until the client closes (a read of 0) or the test ends.
          char buf[256];
          while (!stop_) {
            const int n = SSL_read(ssl, buf, sizeof buf);
            if (n > 0) continue;
            const int err = SSL_get_error(ssl, n);
            ERR_clear_error();
            if (err != SSL_ERROR_WANT_READ && !(err == SSL_ERROR_SYSCALL && errno == EAGAIN)) break;
          }
          return;
        }
        out = "0\r\n\r\n";
      } else if (r.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n" + uneven_chunks(r.body) + "0\r\n\r\n";
      } else {
        out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
      }
      SSL_write(ssl, out.data(), static_cast<int>(out.size()));
      if (r.close) {
        SSL_shutdown(ssl);
        return;
      }
    }
  }

  // Uneven chunks, so a client that assumes one chunk (or one message a chunk) fails.
  static std::string uneven_chunks(const std::string& body) {
    std::string out;
    for (std::size_t i = 0; i < body.size();) {
      const std::size_t n = std::min<std::size_t>(7 + i % 13, body.size() - i);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", n);
      out += size + body.substr(i, n) + "\r\n";
      i += n;
    }
    return out;
  }

  Handler handler_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free};
  Fd fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::string client_subject_;
  std::vector<std::thread> workers_;
  std::thread thread_;
};

}  // namespace dcslab
