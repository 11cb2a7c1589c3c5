// SHA-256 and random bytes (OpenSSL's libcrypto), once for the harness: cache keys,
// content digests, serial numbers and generated secrets.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace dcslab {

// An incremental SHA-256. field() feeds a length-prefixed part, so no two different
// lists of parts digest the same ("ab","c" and "a","bc" differ).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(std::string_view bytes);
  Sha256& field(std::string_view part);
  // The digest as lower-case hex; the object is spent afterwards.
  std::string hex_digest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);

// `n` bytes from the operating system's CSPRNG (throws Fatal if it cannot give them).
std::string random_bytes(std::size_t n);
// `length` characters of [A-Za-z0-9], uniformly chosen (passwords, tokens).
std::string random_alnum(std::size_t length);

}  // namespace dcslab
