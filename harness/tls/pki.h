// The lab's PKI, as the lab document builds it with the openssl CLI, done with OpenSSL 3's
// EVP/X509 APIs: a CA (/CN=dcs-ca, RSA 4096, 3650 days) and per node a key, a CSR
// (/CN=<hostname>) and a certificate with subjectAltName
//   IP:<node IP>, IP:127.0.0.1, DNS:localhost, DNS:<hostname>, DNS:<fqdn>
// written under the document's names (ca.crt, ca.key, <host>.key, <host>.csr, <host>.crt,
// <host>.ext) with its modes (ca.key 0600, *.crt 0640, <host>.key 0640, others 0644).
//
// Where it lives: <lab state>/pki (lab_pki_dir). The CA key stays there unless a
// scenario asks to push it. Negative material for scenarios that show etcd refusing a
// certificate: <lab state>/pki/other-ca/ (a second CA and its node certificates) and
// <lab state>/pki/expired/ (node certificates of the lab CA whose validity is over).
//
// Private keys are only ever written to files (0600/0640) or handed to OpenSSL; nothing
// here logs them, and describe() has no key material in it.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/cert_kinds.h"
#include "lab/lab.h"
#include "lab/state.h"

namespace dcslab {

// Every OpenSSL handle the PKI touches, owned by a unique_ptr with its free function.
using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using X509ReqPtr = std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)>;
using X509NamePtr = std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;
using X509StorePtr = std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;
using BignumPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

// The last OpenSSL error(s) as text, and the queue cleared ("what: reason").
std::string openssl_error(const std::string& what);

// Generates a key. RSA below 2048 bits is refused except for tests (min_rsa_bits).
Expected<PKey> generate_key(const KeySpec& spec, int min_rsa_bits = 2048);

struct CaOptions {
  KeySpec key;                      // the document's: RSA 4096
  std::string common_name = "dcs-ca";
  int days = 3650;
};

// A certificate authority held in memory: its key and self-signed certificate.
struct Ca {
  PKey key{nullptr, EVP_PKEY_free};
  X509Ptr cert{nullptr, X509_free};
};

Expected<Ca> create_ca(const CaOptions& options);

// Who a node certificate is for.
struct CertSubject {
  std::string hostname;  // CN and DNS SAN
  std::string ip;        // first IP SAN
  std::string fqdn;      // last DNS SAN
  static CertSubject of(const Node& node) { return {node.name, node.ip.str(), node.fqdn}; }
};

struct CertOptions {
  KeySpec key;        // the document's: RSA 4096
  int days = 3650;
  // Shifts the validity window's start (seconds from now; negative is in the past).
  // Expired material: start -30 days with days 1.
  long start_offset_seconds = 0;
};

// A node's key, CSR and certificate, plus the text of its SAN extension file as the
// document writes it (<host>.ext).
struct Issued {
  PKey key{nullptr, EVP_PKEY_free};
  X509ReqPtr csr{nullptr, X509_REQ_free};
  X509Ptr cert{nullptr, X509_free};
  std::string ext_text;
};

// The document's five SANs, in its order: "IP:<ip>", "IP:127.0.0.1", "DNS:localhost",
// "DNS:<hostname>", "DNS:<fqdn>".
std::vector<std::string> seed_sans(const CertSubject& who);
// The document's SAN extension file for `who`.
std::string san_ext_text(const CertSubject& who);

// A key and CSR (/CN=hostname) for `who`, signed by `ca` with the seed's SANs, a random
// serial, extendedKeyUsage serverAuth+clientAuth (etcd uses one certificate as client,
// server and peer).
Expected<Issued> issue_cert(const Ca& ca, const CertSubject& who, const CertOptions& options);

// A client certificate for a subject that is not a node's: the writer's, which etcd's
// gateway refuses with a Common Name once authentication is on (etcd/etcd_client.h).
struct ClientCertOptions {
  std::string organization;  // O=
  std::string common_name;   // CN=; empty: none
  int days = 2;
  // Valid from this long ago: a lab node's clock may be behind this host's.
  long backdate_seconds = 3600;
};
// For `key`, signed by `ca`: CA:FALSE, keyUsage digitalSignature+keyEncipherment,
// extendedKeyUsage clientAuth, a random serial.
Expected<X509Ptr> issue_client_cert(const Ca& ca, const EVP_PKEY& key, const ClientCertOptions& options);
// The same subject as a CSR signed by `key`, for a CA that signs elsewhere (the lab
// document's `openssl x509 -req -extfile`), and those extensions as its -extfile text.
Expected<X509ReqPtr> client_csr(const EVP_PKEY& key, const ClientCertOptions& options);
std::string client_cert_ext_text();

// PEM text. key_pem is for writing files and for OpenSSL only: never log it.
std::string cert_pem(const X509& cert);
std::string csr_pem(const X509_REQ& csr);
std::string key_pem(const EVP_PKEY& key);

Expected<X509Ptr> parse_cert(const std::string& pem_or_der, const std::string& what);
Expected<PKey> parse_key(const std::string& pem, const std::string& what);
Expected<X509Ptr> load_cert(const std::filesystem::path& file);
Expected<PKey> load_key(const std::filesystem::path& file);

// What `dcslab pki show` prints and expect_tls compares.
struct CertInfo {
  std::string subject;                // "CN=dcs-00"
  std::string issuer;                 // "CN=dcs-ca"
  std::vector<std::string> sans;      // "IP:192.168.56.10", "DNS:localhost", in order
  std::vector<std::string> ext_key_usage;  // "serverAuth", "clientAuth"
  bool is_ca = false;
  std::string serial;                 // hex
  std::string not_before, not_after;  // "2026-01-02T03:04:05Z"
  std::time_t not_before_t = 0, not_after_t = 0;
  std::string sha256;                 // "AB:CD:..." as `openssl x509 -fingerprint -sha256`
  std::string key;                    // "RSA 4096", "EC P-256" (the public key)
};
CertInfo describe(const X509& cert);
std::string format_info(const CertInfo& info);  // the lines `pki show` prints

// Checks against `ca`: the chain (signature, CA constraints, purpose-free) and the
// validity window at `at` (default: now). The failure names OpenSSL's reason.
Expected<void> verify_chain(const X509& ca, const X509& cert, std::optional<std::time_t> at = {});
// The certificate's SANs are exactly `expected`, in order.
Expected<void> check_sans(const X509& cert, const std::vector<std::string>& expected);
Expected<void> check_key_matches(const X509& cert, const EVP_PKEY& key);

// A PKI folder: the CA and node files under the document's names and modes.
class PkiDir {
 public:
  explicit PkiDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir_ / "ca.key"; }
  std::filesystem::path node_file(const std::string& host, const std::string& ext) const {
    return dir_ / (host + "." + ext);
  }

  bool has_ca() const;
  // Loads the CA, or creates and writes it when there is none. *created says which.
  Expected<Ca> ensure_ca(const CaOptions& options, bool* created = nullptr) const;
  Expected<Ca> load_ca() const;
  Expected<void> write_ca(const Ca& ca) const;
  Expected<void> write_node(const std::string& host, const Issued& issued) const;
  // Checks the node's files: chain against `ca`, the seed's SANs, validity now, key
  // matches certificate.
  Expected<void> verify_node(const Ca& ca, const CertSubject& who) const;
  // The node's certificate: reused when verify_node passes (unless force), else issued
  // and written. *issued_now says which.
  Expected<void> ensure_node(const Ca& ca, const CertSubject& who, const CertOptions& options,
                             bool force, bool* issued_now = nullptr) const;

 private:
  std::filesystem::path dir_;
};

// <lab state>/pki, and the negative material beside it.
std::filesystem::path lab_pki_dir(const LabState& state);
inline std::filesystem::path other_ca_dir(const LabState& s) { return lab_pki_dir(s) / "other-ca"; }
inline std::filesystem::path expired_dir(const LabState& s) { return lab_pki_dir(s) / "expired"; }

// Makes sure the lab PKI holds `who`'s material of that variant (creating the CA(s) on
// first use) and returns the folder with ca.crt (the CA it chains to), <host>.crt and
// <host>.key. Valid material is reused while it verifies (unless force); the second CA
// is /CN=dcs-other-ca; expired certificates were valid for one day, 30 days ago.
Expected<PkiDir> ensure_lab_material(const LabState& state, const CertSubject& who, CertVariant v,
                                     const CaOptions& ca_options, const CertOptions& cert_options,
                                     bool force = false, bool* issued_now = nullptr);

// Writes `content` to `file` with exactly `mode` (not subject to the umask), atomically
// (a temp file renamed over it). A key is never readable by others, not even briefly.
Expected<void> write_file_mode(const std::filesystem::path& file, const std::string& content,
                               int mode);

}  // namespace dcslab
