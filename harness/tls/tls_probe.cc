#include "tls/tls_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include "base/fd.h"
#include "base/sigpipe_block.h"
#include "base/text.h"

namespace dcslab {

namespace {

using SslCtx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;
using AddrInfo = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Expected<Fd> connect_tcp(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &raw); rc != 0)
    return Failure::not_found("cannot resolve " + host + ": " + gai_strerror(rc));
  AddrInfo list(raw, freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = list.get(); a; a = a->ai_next) {
    Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      continue;
    }
    pollfd p{s.get(), POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n == 0) return Failure::timeout("TCP connection to " + where + " timed out after " +
                                        std::to_string(timeout.count()) + " ms");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0 || err != 0) {
      last = std::strerror(n < 0 ? errno : err);
      continue;
    }
    // Blocking from here, with the timeout on every read and write.
    ::fcntl(s.get(), F_SETFL, ::fcntl(s.get(), F_GETFL) & ~O_NONBLOCK);
    set_timeouts(s.get(), timeout);
    return s;
  }
  return Failure::refused("cannot connect to " + where + ": " + last);
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// The reason of the last OpenSSL error ("tlsv13 alert certificate required"), the queue
// cleared.
std::string ssl_reason(const std::string& fallback) {
  std::string reason;
  while (unsigned long e = ERR_get_error())
    if (const char* r = ERR_reason_error_string(e)) reason = r;
  return reason.empty() ? fallback : reason;
}

// Notes the server's certificate while OpenSSL verifies it: when verification fails,
// the certificate is not kept, and a report should still say what the server presented.
int note_server_cert(int ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* res = ssl ? static_cast<TlsProbeResult*>(SSL_get_app_data(ssl)) : nullptr;
  if (res && !res->server)
    if (X509* leaf = X509_STORE_CTX_get0_cert(store)) res->server = describe(*leaf);
  return ok;
}

}  // namespace

Expected<TlsProbeResult> probe_tls(const TlsProbeOptions& o) {
  const std::string where = o.host + ":" + std::to_string(o.port);
  ERR_clear_error();
  SslCtx ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Failure::error(openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!o.ca_pem.empty()) {
    BioPtr bio(BIO_new_mem_buf(o.ca_pem.data(), static_cast<int>(o.ca_pem.size())), BIO_free_all);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    int n = 0;
    while (const X509Ptr c{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free}) {
      X509_STORE_add_cert(store, c.get());  // the store takes a reference of its own
      ++n;
    }
    ERR_clear_error();  // the end of the bundle reads as an error
    if (n == 0) return Failure::error("the CA for " + where + " holds no PEM certificate");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, note_server_cert);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  TlsProbeResult res;
  if (!o.cert_pem.empty() || !o.key_pem.empty()) {
    DCSLAB_TRY_ASSIGN(auto cert, parse_cert(o.cert_pem, "client certificate"));
    DCSLAB_TRY_ASSIGN(auto key, parse_key(o.key_pem, "client key"));
    if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      ERR_clear_error();
      return Failure::error("the client key does not belong to the client certificate " +
                            describe(*cert).subject);
    }
    res.client_cert = true;
  }

  SigpipeBlock no_sigpipe;
  DCSLAB_TRY_ASSIGN(auto sock, connect_tcp(o.host, o.port, o.timeout));
  Ssl ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), sock.get()) != 1) return Failure::error(openssl_error("SSL_new"));
  SSL_set_app_data(ssl.get(), &res);
  if (!is_ip(o.host)) SSL_set_tlsext_host_name(ssl.get(), o.host.c_str());
  if (!o.ca_pem.empty() && !o.verify_name.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    const int set = is_ip(o.verify_name) ? X509_VERIFY_PARAM_set1_ip_asc(param, o.verify_name.c_str())
                                         : SSL_set1_host(ssl.get(), o.verify_name.c_str());
    if (set != 1) return Failure::error(openssl_error("cannot check the name " + o.verify_name));
  }

  auto peer = [&] {
    if (res.server) return;
    if (const X509Ptr c{SSL_get1_peer_certificate(ssl.get()), X509_free}) res.server = describe(*c);
  };
  ERR_clear_error();
  const int rc = SSL_connect(ssl.get());
  res.protocol = SSL_get_version(ssl.get());
  peer();
  if (rc != 1) {
    const int err = SSL_get_error(ssl.get(), rc);
    const long verify = SSL_get_verify_result(ssl.get());
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return Failure::timeout("TLS handshake with " + where + " stalled for " +
                              std::to_string(o.timeout.count()) + " ms");
    }
    if (verify != X509_V_OK) {
      ERR_clear_error();
      res.failure = std::string("server certificate verify failed: ") +
                    X509_verify_cert_error_string(verify);
    } else if (err == SSL_ERROR_SSL) {
      res.failure = ssl_reason("handshake failed");
    } else {
      ERR_clear_error();
      res.failure = "the server closed the connection during the handshake";
    }
    return res;
  }
  res.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl.get()));

  // The server's verdict on our certificate may follow the handshake (TLS 1.3).
  set_timeouts(sock.get(), o.settle);
  char byte;
  ERR_clear_error();
  const int n = SSL_read(ssl.get(), &byte, 1);
  const int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), n);
  if (err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    res.handshake_ok = true;
    set_timeouts(sock.get(), std::chrono::milliseconds(500));
    SSL_shutdown(ssl.get());
  } else if (err == SSL_ERROR_SSL) {
    res.failure = ssl_reason("the server rejected the connection after the handshake");
  } else {
    ERR_clear_error();
    res.failure = "the server closed the connection right after the handshake";
  }
  ERR_clear_error();
  return res;
}

std::string format_probe(const TlsProbeResult& r) {
  std::string s = "handshake: " + std::string(r.handshake_ok ? "ok" : "fail") + "\n";
  if (!r.failure.empty()) s += "failure: " + r.failure + "\n";
  if (!r.protocol.empty()) s += "protocol: " + r.protocol + "\n";
  if (!r.cipher.empty()) s += "cipher: " + r.cipher + "\n";
  s += "client certificate: " + std::string(r.client_cert ? "presented" : "none") + "\n";
  if (r.server) {
    s += "server subject: " + r.server->subject + "\n";
    s += "server issuer: " + r.server->issuer + "\n";
    const std::string sans = join(r.server->sans, ", ");
    s += "server SANs: " + sans + "\n";
    s += "server not after: " + r.server->not_after + "\n";
    s += "server SHA-256: " + r.server->sha256 + "\n";
  }
  return s;
}

}  // namespace dcslab
