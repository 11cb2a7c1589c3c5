#include "base/digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/error.h"
#include "base/text.h"

namespace dcslab {

struct Sha256::Ctx {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr) != 1)
    throw Fatal("OpenSSL: cannot start SHA-256");
}

Sha256::~Sha256() = default;

Sha256& Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_->md.get(), bytes.data(), bytes.size()) != 1)
    throw Fatal("OpenSSL: SHA-256 update failed");
  return *this;
}

Sha256& Sha256::field(std::string_view part) {
  update(std::to_string(part.size()) + ":");
  return update(part);
}

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md.get(), md, &n) != 1) throw Fatal("OpenSSL: SHA-256 failed");
  return hex(std::string_view(reinterpret_cast<const char*>(md), n));
}

std::string sha256_hex(std::string_view data) { return Sha256().update(data).hex_digest(); }

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw Fatal("cannot generate random bytes: OpenSSL's RAND_bytes failed");
  return out;
}

std::string random_alnum(std::size_t length) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  while (s.size() < length) {
    for (unsigned char b : random_bytes(64)) {
      if (b >= 248) continue;  // 248 = 62 * 4: keeps the choice uniform
      s += alphabet[b % 62];
      if (s.size() == length) break;
    }
  }
  return s;
}

}  // namespace dcslab
