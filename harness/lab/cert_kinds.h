// The kinds of key and certificate a lab document and its scenarios name, as values with
// no OpenSSL in them: the scenario format (scenario/) reads them, the PKI (tls/pki.h)
// makes them.
#pragma once

#include <optional>
#include <string>

namespace dcslab {

struct KeySpec {
  enum class Type { Rsa, EcP256 };
  Type type = Type::Rsa;
  int bits = 4096;  // RSA only
  // "rsa:4096", "rsa:2048", "ec:p256" (also "rsa" = 4096, "ec" = P-256). nullopt otherwise.
  static std::optional<KeySpec> parse(const std::string& text);
  std::string str() const;
};

// What a scenario may push or present: the lab's own certificate, or negative material
// to show a server refusing it (signed by a second CA; or by the lab CA, but expired).
enum class CertVariant { Valid, OtherCa, Expired };
std::optional<CertVariant> parse_cert_variant(const std::string& text);  // valid, other-ca, expired
const char* cert_variant_name(CertVariant v);

}  // namespace dcslab
