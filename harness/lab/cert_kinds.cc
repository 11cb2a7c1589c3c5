#include "lab/cert_kinds.h"

namespace dcslab {

std::optional<KeySpec> KeySpec::parse(const std::string& text) {
  if (text == "ec" || text == "ec:p256" || text == "ec:P-256") return KeySpec{Type::EcP256, 0};
  if (text == "rsa") return KeySpec{Type::Rsa, 4096};
  if (text.rfind("rsa:", 0) == 0) {
    const std::string n = text.substr(4);
    if (n.empty() || n.size() > 5 || n.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    const int bits = std::stoi(n);
    if (bits < 1024 || bits > 16384) return std::nullopt;
    return KeySpec{Type::Rsa, bits};
  }
  return std::nullopt;
}

std::string KeySpec::str() const {
  return type == Type::EcP256 ? "ec:p256" : "rsa:" + std::to_string(bits);
}

std::optional<CertVariant> parse_cert_variant(const std::string& text) {
  if (text == "valid") return CertVariant::Valid;
  if (text == "other-ca") return CertVariant::OtherCa;
  if (text == "expired") return CertVariant::Expired;
  return std::nullopt;
}

const char* cert_variant_name(CertVariant v) {
  switch (v) {
    case CertVariant::Valid: return "valid";
    case CertVariant::OtherCa: return "other-ca";
    case CertVariant::Expired: return "expired";
  }
  return "?";
}

}  // namespace dcslab
