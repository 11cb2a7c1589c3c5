#include "etcd/etcd_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>
#include "base/sigpipe_block.h"
#include "base/text.h"

namespace dcslab {

const char* etcd_error_kind_name(EtcdError::Kind k) {
  switch (k) {
    case EtcdError::Kind::NotSent: return "not sent";
    case EtcdError::Kind::Rejected: return "rejected";
    case EtcdError::Kind::Unknown: return "unknown";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

EtcdError not_sent(std::string m) { return {EtcdError::Kind::NotSent, std::move(m), 0, -1}; }
EtcdError unknown(std::string m) { return {EtcdError::Kind::Unknown, std::move(m), 0, -1}; }

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

}  // namespace

// One TLS connection. Closed (and reopened by the client) after any error or when the
// server says Connection: close.
struct HttpsClient::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string buffered;  // bytes read past the last response
  ~Conn() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
  // The server closed an idle keep-alive connection (or sent something unasked for):
  // readable before a request means it is of no further use.
  bool stale() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }
};

HttpsClient::HttpsClient(TlsClientConfig tls) : tls_(std::move(tls)) {}

HttpsClient::~HttpsClient() {
  conns_.clear();
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

EtcdResult<HttpResponse> HttpsClient::post(
    const std::string& host, int port, const std::string& path, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout, const std::string& verify_name) {
  SigpipeBlock no_sigpipe;
  const auto deadline = Clock::now() + timeout;
  const std::string where = host + ":" + std::to_string(port);

  if (!ctx_ && ctx_error_.empty()) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return not_sent("SSL_CTX_new: " + ssl_errors("failed"));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
    std::string err;
    if (!tls_.ca_pem.empty()) {
      BIO* bio = BIO_new_mem_buf(tls_.ca_pem.data(), static_cast<int>(tls_.ca_pem.size()));
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      int n = 0;
      while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, c);
        X509_free(c);
        ++n;
      }
      BIO_free(bio);
      ERR_clear_error();
      if (n == 0) err = "the CA holds no PEM certificate";
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (err.empty() && (!tls_.cert_pem.empty() || !tls_.key_pem.empty())) {
      BIO* cb = BIO_new_mem_buf(tls_.cert_pem.data(), static_cast<int>(tls_.cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO_free(cb);
      BIO* kb = BIO_new_mem_buf(tls_.key_pem.data(), static_cast<int>(tls_.key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      if (!cert || !key) err = "the client certificate or key is not PEM";
      else if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
               SSL_CTX_check_private_key(ctx) != 1)
        err = "the client key does not belong to the client certificate";
      if (cert) X509_free(cert);
      if (key) EVP_PKEY_free(key);
      ERR_clear_error();
    }
    if (!err.empty()) {
      SSL_CTX_free(ctx);
      ctx_error_ = err;
    } else {
      ctx_ = ctx;
    }
  }
  if (!ctx_) return not_sent(ctx_error_);

  // A connection: the open one unless the server closed it, else a new one.
  auto& slot = conns_[where];
  if (slot && slot->stale()) slot.reset();
  if (!slot) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list); rc != 0)
      return not_sent("cannot resolve " + host + ": " + gai_strerror(rc));
    auto conn = std::make_unique<Conn>();
    std::string last = "no address";
    for (addrinfo* a = list; a && conn->fd < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) {
        last = std::strerror(errno);
        continue;
      }
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
        last = std::strerror(errno);
        ::close(fd);
        continue;
      }
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left(deadline).count())));
      int err = 0;
      socklen_t len = sizeof err;
      if (n > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (n <= 0 || err != 0) {
        last = n == 0 ? "timed out" : std::strerror(n < 0 ? errno : err);
        ::close(fd);
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conn->fd = fd;
    }
    ::freeaddrinfo(list);
    if (conn->fd < 0) return not_sent("cannot connect to " + where + ": " + last);
    set_io_timeout(conn->fd, left(deadline));
    ERR_clear_error();
    conn->ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    if (!conn->ssl || SSL_set_fd(conn->ssl, conn->fd) != 1) return not_sent("SSL_new failed");
    if (!is_ip(host)) SSL_set_tlsext_host_name(conn->ssl, host.c_str());
    const std::string name = verify_name.empty() ? host : verify_name;
    if (!tls_.ca_pem.empty()) {
      X509_VERIFY_PARAM* param = SSL_get0_param(conn->ssl);
      const int set = is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                  : SSL_set1_host(conn->ssl, name.c_str());
      if (set != 1) return not_sent("cannot check the name " + name);
    }
    if (SSL_connect(conn->ssl) != 1) {
      const long verify = SSL_get_verify_result(conn->ssl);
      const std::string why = verify != X509_V_OK
                                  ? std::string("server certificate: ") + X509_verify_cert_error_string(verify)
                                  : ssl_errors(errno == EAGAIN ? "timed out" : "the server closed the connection");
      ERR_clear_error();
      return not_sent("TLS handshake with " + where + " failed: " + why);
    }
    slot = std::move(conn);
    ++opened_;
  }
  Conn& c = *slot;

  // The request, in one write.
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + where +
                    "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + body;
  set_io_timeout(c.fd, left(deadline));
  ERR_clear_error();
  const int w = SSL_write(c.ssl, req.data(), static_cast<int>(req.size()));
  if (w <= 0) {
    ERR_clear_error();
    slot.reset();
    // Nothing was written: the request cannot have reached etcd.
    return not_sent("cannot send to " + where + ": the connection broke");
  }

  // The answer: status line and headers, then a body by Content-Length, chunks, or
  // until the server closes.
  std::string& in = c.buffered;
  bool eof = false;
  auto fail = [&](const std::string& what) -> EtcdResult<HttpResponse> {
    slot.reset();
    return unknown(what + " (" + where + " " + path + ")");
  };
  auto read_more = [&]() -> std::string {  // empty: ok
    const auto l = left(deadline);
    if (l.count() <= 0) return "no answer within " + std::to_string(timeout.count()) + " ms";
    set_io_timeout(c.fd, l);
    char buf[16384];
    ERR_clear_error();
    const int n = SSL_read(c.ssl, buf, sizeof buf);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      return "";
    }
    const int err = SSL_get_error(c.ssl, n);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && n == 0)) {
      eof = true;
      return "";
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || errno == EAGAIN)
      return "no answer within " + std::to_string(timeout.count()) + " ms";
    return std::string("the connection broke: ") + (errno ? std::strerror(errno) : "TLS error");
  };

  std::size_t head_end;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
    if (eof) return fail("the server closed the connection before answering");
    if (auto e = read_more(); !e.empty()) return fail(e);
    if (eof && in.find("\r\n\r\n") == std::string::npos)
      return fail("the server closed the connection before answering");
  }
  HttpResponse resp;
  const std::string head = in.substr(0, head_end);
  in.erase(0, head_end + 4);
  {
    const auto nl = head.find("\r\n");
    const std::string status_line = head.substr(0, nl);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
      return fail("not an HTTP answer: " + status_line.substr(0, 80));
    resp.status = std::atoi(status_line.c_str() + 9);
    std::size_t pos = nl == std::string::npos ? head.size() : nl + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      if (const auto colon = line.find(':'); colon != std::string::npos)
        resp.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
      pos = end + 2;
    }
  }
  const bool chunked = lower(resp.headers["transfer-encoding"]).find("chunked") != std::string::npos;
  const bool close_after = lower(resp.headers["connection"]) == "close";
  if (chunked) {
    for (;;) {
      std::size_t eol;
      while ((eol = in.find("\r\n")) == std::string::npos) {
        if (eof) return fail("the answer was cut off");
        if (auto e = read_more(); !e.empty()) return fail(e);
      }
      const std::size_t size = std::strtoul(in.substr(0, eol).c_str(), nullptr, 16);
      in.erase(0, eol + 2);
      while (in.size() < size + 2) {
        if (eof) return fail("the answer was cut off");
        if (auto e = read_more(); !e.empty()) return fail(e);
      }
      if (size == 0) {
        // Trailers (none expected) end with an empty line.
        in.erase(0, 2);
        break;
      }
      resp.body.append(in, 0, size);
      in.erase(0, size + 2);
    }
  } else if (resp.headers.count("content-length")) {
    const std::size_t size = std::strtoul(resp.headers["content-length"].c_str(), nullptr, 10);
    while (in.size() < size) {
      if (eof) return fail("the answer was cut off");
      if (auto e = read_more(); !e.empty()) return fail(e);
    }
    resp.body = in.substr(0, size);
    in.erase(0, size);
  } else {
    while (!eof)
      if (auto e = read_more(); !e.empty()) return fail(e);
    resp.body = std::move(in);
    in.clear();
  }
  if (close_after || eof) slot.reset();
  return resp;
}

// ---- etcd ---------------------------------------------------------------------------

namespace {

using nlohmann::json;

// etcd's gateway writes 64-bit numbers as strings; accept numbers too.
std::int64_t i64(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number()) return v.get<std::int64_t>();
  if (v.is_string()) return std::strtoll(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}
std::uint64_t u64(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number()) return v.get<std::uint64_t>();
  if (v.is_string()) return std::strtoull(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

// gRPC codes etcd answers before applying anything: the request took no effect.
bool rejected_code(int code) {
  switch (code) {
    case 3:   // InvalidArgument: user name is empty, authentication failed, future revision
    case 5:   // NotFound
    case 6:   // AlreadyExists
    case 7:   // PermissionDenied
    case 8:   // ResourceExhausted: too many requests, database space exceeded
    case 9:   // FailedPrecondition: auth revision is old
    case 11:  // OutOfRange: compacted revision
    case 12:  // Unimplemented
    case 16:  // Unauthenticated: invalid auth token
      return true;
    default:  // Unavailable (request timed out, leader changed, no leader), Unknown, ...
      return false;
  }
}

bool token_expired(const EtcdError& e) {
  return e.grpc_code == 16 || e.message.find("invalid auth token") != std::string::npos ||
         e.message.find("revision in header is old") != std::string::npos;
}

template <typename T>
EtcdResult<T> parse_error(const std::string& what) {
  return EtcdError{EtcdError::Kind::Unknown, "cannot read etcd's answer: " + what, 200, -1};
}

}  // namespace

EtcdClient::EtcdClient(std::vector<EtcdEndpoint> endpoints, TlsClientConfig tls, std::string user,
                       std::string password)
    : endpoints_(std::move(endpoints)),
      user_(std::move(user)),
      password_(std::move(password)),
      http_(std::move(tls)) {}

const EtcdEndpoint* EtcdClient::find(const std::string& name) const {
  for (const auto& e : endpoints_)
    if (e.name == name) return &e;
  return nullptr;
}

EtcdResult<std::string> EtcdClient::post_once(const EtcdEndpoint& ep, const std::string& path,
                                              const std::string& body, const std::string& token,
                                              std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", token);
  auto r = http_.post(ep.host, ep.port, path, body, headers, timeout);
  if (!r) {
    EtcdError e = r.error();
    e.message = ep.name + ": " + e.message;
    return e;
  }
  if (r->status == 200) return std::move(r->body);
  EtcdError e;
  e.http_status = r->status;
  std::string msg;
  try {
    const json j = json::parse(r->body);
    e.grpc_code = static_cast<int>(j.value("code", -1));
    msg = j.value("error", j.value("message", ""));
  } catch (const json::exception&) {
    msg = trim(r->body).substr(0, 200);
  }
  // An answer that is not the gateway's JSON never reached etcd's gRPC server (404 for
  // a path the gateway lacks, 400 for a client certificate with a Common Name).
  if (e.grpc_code >= 0) e.kind = rejected_code(e.grpc_code) ? EtcdError::Kind::Rejected : EtcdError::Kind::Unknown;
  else e.kind = r->status >= 500 ? EtcdError::Kind::Unknown : EtcdError::Kind::Rejected;
  e.message = ep.name + ": HTTP " + std::to_string(r->status) + " " + path + ": " +
              (msg.empty() ? "(no message)" : msg);
  return e;
}

EtcdResult<std::string> EtcdClient::call(const std::string& endpoint, const std::string& path,
                                         const std::string& body, std::chrono::milliseconds timeout) {
  const EtcdEndpoint* ep = find(endpoint);
  if (!ep) return not_sent("no endpoint named " + endpoint);
  for (int attempt = 0;; ++attempt) {
    std::string token;
    if (!user_.empty()) {
      auto& t = tokens_[endpoint];
      if (t.empty()) {
        ++authentications_;
        const std::string auth = json{{"name", user_}, {"password", password_}}.dump();
        auto r = post_once(*ep, "/v3/auth/authenticate", auth, "", timeout);
        if (!r) {
          // The request itself was never sent: whatever happened to the authentication.
          EtcdError e = r.error();
          e.kind = e.kind == EtcdError::Kind::Rejected ? EtcdError::Kind::Rejected : EtcdError::Kind::NotSent;
          e.message = "authentication as " + user_ + " failed: " + e.message;
          return e;
        }
        try {
          t = json::parse(*r).value("token", "");
        } catch (const json::exception& x) {
          return not_sent(ep->name + ": authentication answer is not JSON: " + x.what());
        }
        if (t.empty()) return not_sent(ep->name + ": authentication answered no token");
      }
      token = t;
    }
    auto r = post_once(*ep, path, body, token, timeout);
    if (!r && !user_.empty() && attempt == 0 && r.error().kind == EtcdError::Kind::Rejected &&
        token_expired(r.error())) {
      // Tokens live in a member's memory: a restart or an auth change ends them.
      tokens_[endpoint].clear();
      continue;
    }
    return r;
  }
}

EtcdResult<EtcdPutReply> EtcdClient::put(const std::string& endpoint, const std::string& key,
                                         const std::string& value, std::chrono::milliseconds timeout) {
  auto r = call(endpoint, "/v3/kv/put",
                json{{"key", base64_encode(key)}, {"value", base64_encode(value)}}.dump(), timeout);
  if (!r) return r.error();
  try {
    const json j = json::parse(*r);
    EtcdPutReply p;
    p.revision = i64(j.at("header"), "revision");
    if (p.revision <= 0) return parse_error<EtcdPutReply>("no revision in " + r->substr(0, 200));
    return p;
  } catch (const json::exception& e) {
    return parse_error<EtcdPutReply>(e.what());
  }
}

EtcdResult<EtcdRangeReply> EtcdClient::range(const std::string& endpoint, const std::string& key,
                                             const std::string& range_end, std::int64_t revision,
                                             bool serializable, std::chrono::milliseconds timeout) {
  json req{{"key", base64_encode(key)}};
  if (!range_end.empty()) req["range_end"] = base64_encode(range_end);
  if (revision > 0) req["revision"] = std::to_string(revision);
  if (serializable) req["serializable"] = true;
  auto r = call(endpoint, "/v3/kv/range", req.dump(), timeout);
  if (!r) return r.error();
  try {
    const json j = json::parse(*r);
    EtcdRangeReply out;
    out.revision = i64(j.at("header"), "revision");
    out.more = j.value("more", false);
    if (j.contains("kvs"))
      for (const auto& kv : j.at("kvs")) {
        EtcdKv k;
        if (!base64_decode(kv.value("key", ""), &k.key) || !base64_decode(kv.value("value", ""), &k.value))
          return parse_error<EtcdRangeReply>("a key or value is not base64");
        k.create_revision = i64(kv, "create_revision");
        k.mod_revision = i64(kv, "mod_revision");
        k.version = i64(kv, "version");
        k.lease = i64(kv, "lease");
        out.kvs.push_back(std::move(k));
      }
    return out;
  } catch (const json::exception& e) {
    return parse_error<EtcdRangeReply>(e.what());
  }
}

EtcdResult<EtcdRangeReply> EtcdClient::get(const std::string& endpoint, const std::string& key,
                                           bool serializable, std::chrono::milliseconds timeout) {
  return range(endpoint, key, "", 0, serializable, timeout);
}

EtcdResult<EtcdStatus> EtcdClient::status(const std::string& endpoint, std::chrono::milliseconds timeout) {
  auto r = call(endpoint, "/v3/maintenance/status", "{}", timeout);
  if (!r) return r.error();
  try {
    const json j = json::parse(*r);
    EtcdStatus s;
    s.version = j.value("version", "");
    s.revision = i64(j.at("header"), "revision");
    s.member_id = u64(j.at("header"), "member_id");
    s.leader = u64(j, "leader");
    s.raft_index = i64(j, "raftIndex");
    s.raft_applied_index = i64(j, "raftAppliedIndex");
    return s;
  } catch (const json::exception& e) {
    return parse_error<EtcdStatus>(e.what());
  }
}

EtcdResult<EtcdHashKv> EtcdClient::hashkv(const std::string& endpoint, std::int64_t revision,
                                          std::chrono::milliseconds timeout) {
  json req = json::object();
  if (revision > 0) req["revision"] = std::to_string(revision);
  auto r = call(endpoint, "/v3/maintenance/hashkv", req.dump(), timeout);
  if (!r) return r.error();
  try {
    const json j = json::parse(*r);
    EtcdHashKv h;
    h.revision = i64(j.at("header"), "revision");
    h.hash = u64(j, "hash");
    h.compact_revision = i64(j, "compact_revision");
    return h;
  } catch (const json::exception& e) {
    return parse_error<EtcdHashKv>(e.what());
  }
}

}  // namespace dcslab
