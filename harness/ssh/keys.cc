#include "ssh/keys.h"

#include <cstring>
#include <sstream>
#include <system_error>

#include "base/file.h"
#include "base/text.h"

namespace dcslab {
namespace {

std::filesystem::path pub_path_of(const std::filesystem::path& private_path) {
  return private_path.string() + ".pub";
}

}  // namespace

Expected<PublicKeyParts> split_public_key(const std::string& public_line) {
  std::istringstream in(public_line);
  PublicKeyParts parts;
  if (!(in >> parts.type >> parts.base64)) {
    return Failure::error("not an SSH public key line (want \"TYPE BASE64 [COMMENT]\"): \"" +
                          public_line.substr(0, 40) + "\"");
  }
  return parts;
}

Expected<std::string> public_line_of(ssh_key key) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || b64 == nullptr) {
    return Failure::error("cannot export a public key to base64");
  }
  SshChars owned(b64);
  const char* type = ssh_key_type_to_char(ssh_key_type(key));
  if (type == nullptr) return Failure::error("public key of unknown type");
  return std::string(type) + " " + owned.get();
}

std::string fingerprint_sha256(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (key == nullptr ||
      ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK) {
    return "(unparsable key)";
  }
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (fp == nullptr) return "(unparsable key)";
  SshChars owned(fp);
  return owned.get();
}

std::string fingerprint_sha256(const std::string& public_line) {
  auto parts = split_public_key(public_line);
  if (!parts) return "(unparsable key)";
  ssh_key raw = nullptr;
  const auto type = ssh_key_type_from_name(parts->type.c_str());
  if (type == SSH_KEYTYPE_UNKNOWN ||
      ssh_pki_import_pubkey_base64(parts->base64.c_str(), type, &raw) != SSH_OK) {
    return "(unparsable key)";
  }
  SshKey key(raw);
  return fingerprint_sha256(key.get());
}

Expected<std::string> read_public_key(const std::filesystem::path& pub_path) {
  auto text = read_file(pub_path);
  if (!text) return Failure::not_found("cannot read public key " + pub_path.string());
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    DCSLAB_TRY(split_public_key(line));
    return line;
  }
  return Failure::error(pub_path.string() + " holds no public key line");
}

Expected<std::string> generate_ed25519(const std::filesystem::path& private_path,
                                       const std::string& comment) {
  const auto pub_path = pub_path_of(private_path);
  std::error_code ec;
  if (std::filesystem::exists(private_path, ec)) {
    if (std::filesystem::exists(pub_path, ec)) return read_public_key(pub_path);
    // The private key is what matters; the .pub is derived, so re-derive it.
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(private_path.c_str(), nullptr, nullptr, nullptr, &raw) !=
        SSH_OK) {
      return Failure::error("cannot read private key " + private_path.string() +
                            " (remove it to have a new key generated)");
    }
    SshKey key(raw);
    DCSLAB_TRY_ASSIGN(auto line, public_line_of(key.get()));
    std::string pub = line + (comment.empty() ? "" : " " + comment);
    DCSLAB_TRY(write_file_atomic(pub_path, pub + "\n", 0644));
    return pub;
  }

  if (private_path.has_parent_path()) {
    std::filesystem::create_directories(private_path.parent_path(), ec);
    if (ec) {
      return Failure::error("cannot create " + private_path.parent_path().string() + ": " +
                            ec.message());
    }
  }
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK) {
    return Failure::error("libssh could not generate an ed25519 key");
  }
  SshKey key(raw);
  // libssh writes ed25519 private keys in the OpenSSH format ("BEGIN OPENSSH PRIVATE
  // KEY"), the one format both sshd and libssh read for this key type.
  char* b64 = nullptr;
  if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &b64) != SSH_OK ||
      b64 == nullptr) {
    return Failure::error("libssh could not export the new private key");
  }
  std::string private_text(b64);
  // Scrub libssh's copy of the secret before freeing it.
  std::memset(b64, 0, private_text.size());
  ssh_string_free_char(b64);
  if (private_text.empty() || private_text.back() != '\n') private_text += '\n';
  auto written = write_file_atomic(private_path, private_text, 0600);
  std::fill(private_text.begin(), private_text.end(), '\0');
  if (!written) return written.error();

  DCSLAB_TRY_ASSIGN(auto line, public_line_of(key.get()));
  std::string pub = line + (comment.empty() ? "" : " " + comment);
  DCSLAB_TRY(write_file_atomic(pub_path, pub + "\n", 0644));
  return pub;
}

}  // namespace dcslab
