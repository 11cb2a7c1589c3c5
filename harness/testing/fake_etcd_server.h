// Tests only: a TLS server on 127.0.0.1 (an ephemeral port) that answers HTTP/1.1
// requests through a handler, and FakeEtcd, a handler that speaks the part of etcd's JSON
// gateway the writer uses (authenticate, put, range, status, hashkv) over an in-memory
// store. Every request is recorded; the test asserts on what the client asked.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/text.h"
#include "etcd/etcd_client.h"
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
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, pki.server.cert.get());
    SSL_CTX_use_PrivateKey(ctx_, pki.server.key.get());
    if (!require_client_ca.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
      X509_STORE_add_cert(store, pki.ca.cert.get());
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
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
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      const int id = ++connections_;
      timeval tv{0, 200000};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        if (X509* peer = SSL_get1_peer_certificate(ssl)) {
          std::lock_guard lock(mu_);
          client_subject_ = describe(*peer).subject;
          X509_free(peer);
        } else {
          std::lock_guard lock(mu_);
          client_subject_.clear();
        }
        handle(ssl, id);
      }
      ERR_clear_error();
      SSL_free(ssl);
      ::close(c);
    }
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
      if (r.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        // Uneven chunks, so a client that assumes one chunk fails.
        for (std::size_t i = 0; i < r.body.size();) {
          const std::size_t n = std::min<std::size_t>(7 + i % 13, r.body.size() - i);
          char size[16];
          std::snprintf(size, sizeof size, "%zx\r\n", n);
          out += size + r.body.substr(i, n) + "\r\n";
          i += n;
        }
        out += "0\r\n\r\n";
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

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::string client_subject_;
  std::thread thread_;
};

// An etcd that keeps its keys in memory and answers like the JSON gateway.
class FakeEtcd {
 public:
  struct Kv {
    std::string value;
    std::int64_t create = 0, mod = 0, version = 0;
  };
  std::string user = "root", password = "pw";
  bool hashkv_available = true;   // false: 404 like 3.4's gateway
  std::int64_t revision = 1;
  std::map<std::string, Kv> kvs;
  std::map<std::string, bool> tokens;
  int authentications = 0;
  // Scripted failures for the next puts: "timeout" (dropped connection), "unavailable"
  // (etcdserver: request timed out, applied anyway), "apply_then_drop".
  std::vector<std::string> put_faults;
  std::mutex mu;

  TestResponse operator()(const TestRequest& req) {
    using nlohmann::json;
    std::lock_guard lock(mu);
    const json body = json::parse(req.body.empty() ? "{}" : req.body);
    auto header = [&] {
      return json{{"cluster_id", "1"}, {"member_id", "2"}, {"revision", std::to_string(revision)}, {"raft_term", "2"}};
    };
    auto error = [](int http, int code, const std::string& msg) {
      return TestResponse{http, json{{"error", msg}, {"message", msg}, {"code", code}}.dump()};
    };
    if (req.path == "/v3/auth/authenticate") {
      ++authentications;
      if (body.value("name", "") != user || body.value("password", "") != password)
        return error(400, 3, "etcdserver: authentication failed, invalid user ID or password");
      const std::string t = "tok" + std::to_string(authentications) + ".7";
      tokens[t] = true;
      return {200, json{{"header", header()}, {"token", t}}.dump()};
    }
    if (!user.empty()) {
      auto it = req.headers.find("authorization");
      if (it == req.headers.end()) return error(400, 3, "etcdserver: user name is empty");
      if (!tokens.count(it->second)) return error(401, 16, "etcdserver: invalid auth token");
    }
    auto decode = [](const json& j, const char* k) {
      std::string out;
      base64_decode(j.value(k, ""), &out);
      return out;
    };
    if (req.path == "/v3/kv/put") {
      std::string fault;
      if (!put_faults.empty()) {
        fault = put_faults.front();
        put_faults.erase(put_faults.begin());
      }
      if (fault == "timeout") return TestResponse{.drop = true};
      Kv& kv = kvs[decode(body, "key")];
      kv.value = decode(body, "value");
      kv.mod = ++revision;
      if (!kv.version++) kv.create = revision;
      if (fault == "unavailable") return error(503, 14, "etcdserver: request timed out");
      if (fault == "apply_then_drop") return TestResponse{.drop = true};
      return {200, json{{"header", header()}}.dump()};
    }
    if (req.path == "/v3/kv/range") {
      const std::string key = decode(body, "key"), end = decode(body, "range_end");
      json kv = json::array();
      for (const auto& [k, v] : kvs) {
        const bool in = end.empty() ? k == key : (end == std::string(1, '\0') ? k >= key : (k >= key && k < end));
        if (!in) continue;
        kv.push_back({{"key", base64_encode(k)}, {"value", base64_encode(v.value)},
                      {"create_revision", std::to_string(v.create)}, {"mod_revision", std::to_string(v.mod)},
                      {"version", std::to_string(v.version)}});
      }
      json out{{"header", header()}};
      if (!kv.empty()) out["kvs"] = kv, out["count"] = std::to_string(kv.size());
      return {200, out.dump(), "application/json", kv.size() > 3};
    }
    if (req.path == "/v3/maintenance/status")
      return {200, json{{"header", header()}, {"version", "3.4.23"}, {"leader", "2"},
                        {"raftIndex", std::to_string(revision + 10)},
                        {"raftAppliedIndex", std::to_string(revision + 10)}}.dump()};
    if (req.path == "/v3/maintenance/hashkv" && hashkv_available)
      return {200, json{{"header", header()}, {"hash", 12345}, {"compact_revision", "-1"}}.dump()};
    return TestResponse{404, "Not Found\n", "text/plain"};
  }
};

}  // namespace dcslab
