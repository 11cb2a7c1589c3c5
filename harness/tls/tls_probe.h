// A TLS client that says how a server answered: did the handshake succeed, which
// protocol, which certificate did the server present. What `expect_tls` asserts on.
//
// "Failed" must be robust: with TLS 1.3 the client's handshake completes before the
// server has looked at the client's certificate, so a server that requires one rejects
// it afterwards, with an alert. The probe therefore waits `settle` after the handshake
// and reads: an alert or a close in that time is a failed handshake; silence (the server
// waiting for a request) or data is success.
//
// The connection is made from this process, so from whatever network namespace it is in
// (the lab's, when the lab is isolated).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/error.h"
#include "tls/pki.h"

namespace dcslab {

struct TlsProbeOptions {
  std::string host;          // an IPv4/IPv6 address or a name to connect to
  int port = 0;
  std::string ca_pem;        // CA(s) the server must chain to; empty: not verified
  std::string verify_name;   // checked against the server's SANs (IP or DNS); empty: none
  std::string cert_pem;      // client certificate and key: both or neither. The key is
  std::string key_pem;       //   handed to OpenSSL only, never logged
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};   // connect, handshake
  std::chrono::milliseconds settle{std::chrono::seconds(1)};     // see above
};

struct TlsProbeResult {
  bool handshake_ok = false;
  std::string failure;             // why not: "tlsv13 alert certificate required", ...
  std::string protocol;            // "TLSv1.3" (when the handshake got that far)
  std::string cipher;
  std::optional<CertInfo> server;  // the certificate the server presented
  bool client_cert = false;        // whether we had one to present
};

// Fails (a Failure, not a result) only when there is no TLS conversation to judge: the
// name does not resolve, the TCP connection is refused or times out, the handshake
// stalls. A refused handshake is a result with handshake_ok false.
Expected<TlsProbeResult> probe_tls(const TlsProbeOptions& options);

// "handshake: ok\nprotocol: TLSv1.3\n..." for reports (no key material).
std::string format_probe(const TlsProbeResult& r);

}  // namespace dcslab
