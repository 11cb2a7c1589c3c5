#include "tls/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>

#include "base/file.h"
#include "base/text.h"

namespace fs = std::filesystem;

namespace dcslab {

std::string openssl_error(const std::string& what) {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reasons += (reasons.empty() ? "" : "; ") + std::string(buf);
  }
  return reasons.empty() ? what : what + ": " + reasons;
}

Expected<PKey> generate_key(const KeySpec& spec, int min_rsa_bits) {
  const bool rsa = spec.type == KeySpec::Type::Rsa;
  if (rsa && spec.bits < min_rsa_bits)
    return Failure::error("RSA keys of " + std::to_string(spec.bits) + " bits are too weak (at least " +
                          std::to_string(min_rsa_bits) + ")");
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, rsa ? "RSA" : "EC", nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0)
    return Failure::error(openssl_error("cannot set up key generation"));
  const int set = rsa ? EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), spec.bits)
                      : EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256");
  if (set <= 0) return Failure::error(openssl_error("cannot set key parameters " + spec.str()));
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) <= 0)
    return Failure::error(openssl_error("cannot generate a " + spec.str() + " key"));
  return PKey(raw, EVP_PKEY_free);
}

namespace {

std::mutex g_ca_mu;  // one CA per folder, even when a multi-node step issues in parallel

Expected<void> set_random_serial(X509* x) {
  // 159 random bits, top bit set: positive, at most 20 octets (RFC 5280) and never zero.
  BignumPtr bn(BN_new(), BN_free);
  if (!bn || BN_rand(bn.get(), 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)))
    return Failure::error(openssl_error("cannot make a random serial number"));
  return {};
}

Expected<X509NamePtr> common_name(const std::string& cn) {
  X509NamePtr name(X509_NAME_new(), X509_NAME_free);
  if (!name || X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                          -1, 0) != 1)
    return Failure::error(openssl_error("cannot make the name CN=" + cn));
  return name;
}

// One extension from its openssl.cnf spelling ("critical,CA:TRUE").
Expected<void> add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()), X509_EXTENSION_free);
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return Failure::error(openssl_error(std::string("cannot add ") + OBJ_nid2sn(nid) + " = " + value));
  return {};
}

Expected<void> set_validity(X509* x, long start_offset_seconds, int days) {
  const std::time_t now = std::time(nullptr);
  if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, start_offset_seconds, const_cast<std::time_t*>(&now)) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), days, start_offset_seconds, const_cast<std::time_t*>(&now)))
    return Failure::error(openssl_error("cannot set the validity window"));
  return {};
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

BioPtr mem_bio() { return BioPtr(BIO_new(BIO_s_mem()), BIO_free_all); }

std::string name_text(const X509_NAME* name) {
  // "CN=dcs-ca", forward order, ", " between RDNs; UTF-8 kept as is.
  auto bio = mem_bio();
  X509_NAME_print_ex(bio.get(), name, 0,
                     (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC |
                         XN_FLAG_FN_SN);
  return bio_text(bio.get());
}

std::string time_text(const ASN1_TIME* t, std::time_t* out) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  *out = timegm(&tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}


}  // namespace

Expected<Ca> create_ca(const CaOptions& o) {
  Ca ca;
  DCSLAB_TRY_ASSIGN(auto key, generate_key(o.key));
  ca.key = std::move(key);
  ca.cert.reset(X509_new());
  X509* x = ca.cert.get();
  if (!x || X509_set_version(x, X509_VERSION_3) != 1) return Failure::error(openssl_error("X509_new"));
  DCSLAB_TRY(set_random_serial(x));
  DCSLAB_TRY_ASSIGN(auto name, common_name(o.common_name));
  if (X509_set_subject_name(x, name.get()) != 1 || X509_set_issuer_name(x, name.get()) != 1 ||
      X509_set_pubkey(x, ca.key.get()) != 1)
    return Failure::error(openssl_error("cannot fill in the CA certificate"));
  DCSLAB_TRY(set_validity(x, 0, o.days));
  DCSLAB_TRY(add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE"));
  DCSLAB_TRY(add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"));
  DCSLAB_TRY(add_ext(x, x, NID_subject_key_identifier, "hash"));
  DCSLAB_TRY(add_ext(x, x, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(x, ca.key.get(), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot sign the CA certificate"));
  return ca;
}

std::vector<std::string> seed_sans(const CertSubject& who) {
  return {"IP:" + who.ip, "IP:127.0.0.1", "DNS:localhost", "DNS:" + who.hostname,
          "DNS:" + who.fqdn};
}

std::string san_ext_text(const CertSubject& who) {
  return "subjectAltName = @alt_names\n"
         "\n"
         "[alt_names]\n"
         "IP.1 = " + who.ip + "\n"
         "IP.2 = 127.0.0.1\n"
         "DNS.1 = localhost\n"
         "DNS.2 = " + who.hostname + "\n"
         "DNS.3 = " + who.fqdn + "\n";
}

namespace {

Expected<void> add_sans(X509* cert, const std::vector<std::string>& sans) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null(), GENERAL_NAMES_free);
  if (!names) return Failure::error(openssl_error("cannot allocate SANs"));
  for (const auto& san : sans) {
    std::unique_ptr<GENERAL_NAME, decltype(&GENERAL_NAME_free)> gn(GENERAL_NAME_new(),
                                                                    GENERAL_NAME_free);
    if (!gn) return Failure::error(openssl_error("GENERAL_NAME_new"));
    if (san.rfind("IP:", 0) == 0) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(san.substr(3).c_str());
      if (!ip) return Failure::error("not an IP address in SAN " + san);
      GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip);
    } else if (san.rfind("DNS:", 0) == 0) {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      const std::string v = san.substr(4);
      if (!dns || ASN1_STRING_set(dns, v.data(), static_cast<int>(v.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        return Failure::error(openssl_error("cannot make SAN " + san));
      }
      GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns);
    } else {
      return Failure::error("SAN " + san + " is neither IP: nor DNS:");
    }
    if (!sk_GENERAL_NAME_push(names.get(), gn.get())) return Failure::error("cannot add SAN");
    gn.release();  // owned by the stack now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return Failure::error(openssl_error("cannot add subjectAltName"));
  return {};
}

}  // namespace

Expected<Issued> issue_cert(const Ca& ca, const CertSubject& who, const CertOptions& o) {
  Issued out;
  DCSLAB_TRY_ASSIGN(auto key, generate_key(o.key));
  out.key = std::move(key);
  DCSLAB_TRY_ASSIGN(auto name, common_name(who.hostname));

  // The CSR, as `openssl req -new -subj /CN=<host>` makes it.
  out.csr.reset(X509_REQ_new());
  X509_REQ* req = out.csr.get();
  if (!req || X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_subject_name(req, name.get()) != 1 ||
      X509_REQ_set_pubkey(req, out.key.get()) != 1 || X509_REQ_sign(req, out.key.get(), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot make the CSR for " + who.hostname));
  if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1)
    return Failure::error(openssl_error("the CSR for " + who.hostname + " does not verify"));

  // The certificate, as `openssl x509 -req -CA ca.crt -extfile <host>.ext` signs it.
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  if (!x || X509_set_version(x, X509_VERSION_3) != 1) return Failure::error(openssl_error("X509_new"));
  DCSLAB_TRY(set_random_serial(x));
  if (X509_set_subject_name(x, X509_REQ_get_subject_name(req)) != 1 ||
      X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) != 1 ||
      X509_set_pubkey(x, X509_REQ_get0_pubkey(req)) != 1)
    return Failure::error(openssl_error("cannot fill in the certificate for " + who.hostname));
  DCSLAB_TRY(set_validity(x, o.start_offset_seconds, o.days));
  DCSLAB_TRY(add_ext(x, ca.cert.get(), NID_basic_constraints, "CA:FALSE"));
  // keyEncipherment only means something for RSA key transport.
  DCSLAB_TRY(add_ext(x, ca.cert.get(), NID_key_usage,
                     o.key.type == KeySpec::Type::Rsa ? "critical,digitalSignature,keyEncipherment"
                                                      : "critical,digitalSignature"));
  // etcd presents this one certificate as server (client URL), as client (etcdctl) and
  // on both ends of peer connections: it needs both purposes.
  DCSLAB_TRY(add_ext(x, ca.cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  DCSLAB_TRY(add_ext(x, ca.cert.get(), NID_subject_key_identifier, "hash"));
  DCSLAB_TRY(add_ext(x, ca.cert.get(), NID_authority_key_identifier, "keyid:always"));
  DCSLAB_TRY(add_sans(x, seed_sans(who)));
  if (X509_sign(x, ca.key.get(), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot sign the certificate for " + who.hostname));
  out.ext_text = san_ext_text(who);
  return out;
}

namespace {

// What a client certificate may do, in openssl.cnf spelling: issue_client_cert adds these,
// and client_cert_ext_text writes them for `openssl x509 -extfile`.
const std::pair<int, const char*> kClientCertExts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
    {NID_ext_key_usage, "clientAuth"},
};

std::string client_subject(const ClientCertOptions& o) {
  std::string s = "O=" + o.organization;
  return o.common_name.empty() ? s : s + ", CN=" + o.common_name;
}

Expected<X509NamePtr> client_name(const ClientCertOptions& o) {
  X509NamePtr name(X509_NAME_new(), X509_NAME_free);
  for (const auto& [field, value] : {std::pair{"O", &o.organization}, std::pair{"CN", &o.common_name}}) {
    if (!name || (!value->empty() &&
                  X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                             reinterpret_cast<const unsigned char*>(value->c_str()),
                                             -1, -1, 0) != 1))
      return Failure::error(openssl_error("cannot make the name " + client_subject(o)));
  }
  return name;
}

}  // namespace

Expected<X509Ptr> issue_client_cert(const Ca& ca, const EVP_PKEY& key, const ClientCertOptions& o) {
  const std::string who = client_subject(o);
  DCSLAB_TRY_ASSIGN(const X509NamePtr name, client_name(o));
  X509Ptr x(X509_new(), X509_free);
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) return Failure::error(openssl_error("X509_new"));
  DCSLAB_TRY(set_random_serial(x.get()));
  std::time_t now = std::time(nullptr);
  if (X509_set_subject_name(x.get(), name.get()) != 1 ||
      X509_set_issuer_name(x.get(), X509_get_subject_name(ca.cert.get())) != 1 ||
      X509_set_pubkey(x.get(), const_cast<EVP_PKEY*>(&key)) != 1 ||
      !X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -o.backdate_seconds, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), o.days, 0, &now))
    return Failure::error(openssl_error("cannot fill in the certificate for " + who));
  for (const auto& [nid, value] : kClientCertExts) DCSLAB_TRY(add_ext(x.get(), ca.cert.get(), nid, value));
  if (X509_sign(x.get(), ca.key.get(), EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot sign the certificate for " + who));
  return x;
}

Expected<X509ReqPtr> client_csr(const EVP_PKEY& key, const ClientCertOptions& o) {
  DCSLAB_TRY_ASSIGN(const X509NamePtr name, client_name(o));
  X509ReqPtr req(X509_REQ_new(), X509_REQ_free);
  EVP_PKEY* k = const_cast<EVP_PKEY*>(&key);
  if (!req || X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), k) != 1 || X509_REQ_sign(req.get(), k, EVP_sha256()) <= 0)
    return Failure::error(openssl_error("cannot make the CSR for " + client_subject(o)));
  return req;
}

std::string client_cert_ext_text() {
  std::string text;
  for (const auto& [nid, value] : kClientCertExts) text += std::string(OBJ_nid2sn(nid)) + " = " + value + "\n";
  return text;
}

std::string cert_pem(const X509& cert) {
  auto bio = mem_bio();
  PEM_write_bio_X509(bio.get(), &cert);
  return bio_text(bio.get());
}

std::string csr_pem(const X509_REQ& csr) {
  auto bio = mem_bio();
  PEM_write_bio_X509_REQ(bio.get(), &csr);
  return bio_text(bio.get());
}

std::string key_pem(const EVP_PKEY& key) {
  // PKCS#8, unencrypted: what `openssl genrsa` writes in OpenSSL 3 and what etcd reads.
  auto bio = mem_bio();
  PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

Expected<X509Ptr> parse_cert(const std::string& text, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free_all);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) {
    ERR_clear_error();
    // DER, as `openssl x509 -outform der` writes it.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(text.size())));
  }
  if (!cert) return Failure::error(openssl_error(what + ": not a certificate (PEM or DER)"));
  return cert;
}

Expected<PKey> parse_key(const std::string& pem, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free_all);
  // No passphrase callback: the lab's keys are unencrypted, and an encrypted one must
  // fail here rather than prompt.
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; },
                                   nullptr),
           EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();  // the reasons could quote the input: say only what failed
    return Failure::error(what + ": not an unencrypted PEM private key");
  }
  return key;
}

Expected<X509Ptr> load_cert(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return Failure::not_found("cannot read " + file.string());
  return parse_cert(*text, file.string());
}

Expected<PKey> load_key(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return Failure::not_found("cannot read " + file.string());
  return parse_key(*text, file.string());
}

CertInfo describe(const X509& cert) {
  CertInfo info;
  X509* x = const_cast<X509*>(&cert);  // some getters are not const-qualified
  info.subject = name_text(X509_get_subject_name(x));
  info.issuer = name_text(X509_get_issuer_name(x));
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    auto str = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    };
    switch (gn->type) {
      case GEN_DNS: info.sans.push_back("DNS:" + str(gn->d.dNSName)); break;
      case GEN_EMAIL: info.sans.push_back("email:" + str(gn->d.rfc822Name)); break;
      case GEN_URI: info.sans.push_back("URI:" + str(gn->d.uniformResourceIdentifier)); break;
      case GEN_IPADD: {
        const int len = ASN1_STRING_length(gn->d.iPAddress);
        char buf[INET6_ADDRSTRLEN] = "?";
        inet_ntop(len == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(gn->d.iPAddress), buf,
                  sizeof buf);
        info.sans.push_back(std::string("IP:") + buf);
        break;
      }
      default: info.sans.push_back("other"); break;
    }
  }
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr))) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i)
      info.ext_key_usage.push_back(OBJ_nid2sn(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i))));
    EXTENDED_KEY_USAGE_free(eku);
  }
  info.is_ca = X509_check_ca(x) > 0;
  if (BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr), BN_free); bn) {
    char* hex = BN_bn2hex(bn.get());
    info.serial = hex ? hex : "";
    OPENSSL_free(hex);
  }
  info.not_before = time_text(X509_get0_notBefore(x), &info.not_before_t);
  info.not_after = time_text(X509_get0_notAfter(x), &info.not_after_t);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) == 1) {
    // openssl x509 -fingerprint's form: upper-case byte pairs joined by ':'.
    const std::string h = hex(std::string_view(reinterpret_cast<const char*>(md), n));
    for (std::size_t i = 0; i < h.size(); i += 2) {
      if (i) info.sha256 += ':';
      info.sha256 += static_cast<char>(std::toupper(static_cast<unsigned char>(h[i])));
      info.sha256 += static_cast<char>(std::toupper(static_cast<unsigned char>(h[i + 1])));
    }
  }
  if (const EVP_PKEY* pub = X509_get0_pubkey(x)) {
    const int id = EVP_PKEY_get_base_id(pub);
    if (id == EVP_PKEY_RSA) {
      info.key = "RSA " + std::to_string(EVP_PKEY_get_bits(pub));
    } else if (id == EVP_PKEY_EC) {
      char group[64] = "";
      EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr);
      info.key = std::string("EC ") + (std::string(group) == "prime256v1" ? "P-256" : group);
    } else {
      info.key = OBJ_nid2sn(id);
    }
  }
  return info;
}

std::string format_info(const CertInfo& i) {
  auto list = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("(none)") : join(v, ", ");
  };
  std::string s;
  s += "subject:     " + i.subject + "\n";
  s += "issuer:      " + i.issuer + "\n";
  s += "SANs:        " + list(i.sans) + "\n";
  s += "not before:  " + i.not_before + "\n";
  s += "not after:   " + i.not_after + "\n";
  s += "serial:      " + i.serial + "\n";
  s += "key:         " + i.key + "\n";
  s += "CA:          " + std::string(i.is_ca ? "yes" : "no") + "\n";
  s += "ext. usage:  " + list(i.ext_key_usage) + "\n";
  s += "SHA-256:     " + i.sha256 + "\n";
  return s;
}

Expected<void> verify_chain(const X509& ca, const X509& cert, std::optional<std::time_t> at) {
  X509StorePtr store(X509_STORE_new(), X509_STORE_free);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!store || !ctx || X509_STORE_add_cert(store.get(), const_cast<X509*>(&ca)) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(&cert), nullptr) != 1)
    return Failure::error(openssl_error("cannot set up verification"));
  if (at) X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), *at);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Failure::refused(describe(cert).subject + " does not verify against " +
                            describe(ca).subject + ": " + X509_verify_cert_error_string(err));
  }
  return {};
}

Expected<void> check_sans(const X509& cert, const std::vector<std::string>& expected) {
  const auto got = describe(cert).sans;
  if (got == expected) return {};
  return Failure::refused("SANs are [" + join(got, ", ") + "], expected [" + join(expected, ", ") +
                          "]");
}

Expected<void> check_key_matches(const X509& cert, const EVP_PKEY& key) {
  const EVP_PKEY* pub = X509_get0_pubkey(&cert);
  if (!pub || EVP_PKEY_eq(pub, &key) != 1) {
    ERR_clear_error();
    return Failure::refused("the private key does not belong to " + describe(cert).subject);
  }
  return {};
}

Expected<void> write_file_mode(const fs::path& file, const std::string& content, int mode) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  return write_file_atomic(file, content, static_cast<mode_t>(mode));
}

bool PkiDir::has_ca() const { return fs::exists(ca_cert()) && fs::exists(ca_key()); }

Expected<Ca> PkiDir::load_ca() const {
  DCSLAB_TRY_ASSIGN(auto cert, load_cert(ca_cert()));
  DCSLAB_TRY_ASSIGN(auto key, load_key(ca_key()));
  DCSLAB_TRY(check_key_matches(*cert, *key));
  Ca ca;
  ca.cert = std::move(cert);
  ca.key = std::move(key);
  return ca;
}

Expected<void> PkiDir::write_ca(const Ca& ca) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  // The folder holds the CA key: only its owner enters.
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  DCSLAB_TRY(write_file_mode(ca_key(), key_pem(*ca.key), 0600));
  DCSLAB_TRY(write_file_mode(ca_cert(), cert_pem(*ca.cert), 0640));
  return {};
}

Expected<Ca> PkiDir::ensure_ca(const CaOptions& options, bool* created) const {
  std::lock_guard lock(g_ca_mu);
  if (created) *created = false;
  if (has_ca()) return load_ca();
  DCSLAB_TRY_ASSIGN(auto ca, create_ca(options));
  DCSLAB_TRY(write_ca(ca));
  if (created) *created = true;
  const auto info = describe(*ca.cert);
  spdlog::info("created CA {} ({}, {} days) in {}", info.subject, info.key, options.days,
               dir_.string());
  return ca;
}

Expected<void> PkiDir::write_node(const std::string& host, const Issued& issued) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  DCSLAB_TRY(write_file_mode(node_file(host, "key"), key_pem(*issued.key), 0640));
  DCSLAB_TRY(write_file_mode(node_file(host, "csr"), csr_pem(*issued.csr), 0644));
  DCSLAB_TRY(write_file_mode(node_file(host, "ext"), issued.ext_text, 0644));
  DCSLAB_TRY(write_file_mode(node_file(host, "crt"), cert_pem(*issued.cert), 0640));
  return {};
}

Expected<void> PkiDir::verify_node(const Ca& ca, const CertSubject& who) const {
  DCSLAB_TRY_ASSIGN(auto cert, load_cert(node_file(who.hostname, "crt")));
  DCSLAB_TRY_ASSIGN(auto key, load_key(node_file(who.hostname, "key")));
  DCSLAB_TRY(verify_chain(*ca.cert, *cert));
  DCSLAB_TRY(check_sans(*cert, seed_sans(who)));
  DCSLAB_TRY(check_key_matches(*cert, *key));
  return {};
}

Expected<void> PkiDir::ensure_node(const Ca& ca, const CertSubject& who, const CertOptions& options,
                                   bool force, bool* issued_now) const {
  if (issued_now) *issued_now = false;
  if (!force) {
    auto ok = verify_node(ca, who);
    if (ok) return {};
    if (ok.error().kind != Failure::Kind::NotFound)
      spdlog::info("reissuing the certificate of {}: {}", who.hostname, ok.error().message);
  }
  DCSLAB_TRY_ASSIGN(auto issued, issue_cert(ca, who, options));
  DCSLAB_TRY(write_node(who.hostname, issued));
  if (issued_now) *issued_now = true;
  const auto info = describe(*issued.cert);
  spdlog::debug("issued {} by {} ({}), SHA-256 {}", info.subject, info.issuer, info.key, info.sha256);
  return {};
}

fs::path lab_pki_dir(const LabState& state) { return state.dir() / "pki"; }

Expected<PkiDir> ensure_lab_material(const LabState& state, const CertSubject& who, CertVariant v,
                                     const CaOptions& ca_options, const CertOptions& cert_options,
                                     bool force, bool* issued_now) {
  if (issued_now) *issued_now = false;
  const PkiDir lab(lab_pki_dir(state));
  DCSLAB_TRY_ASSIGN(auto ca, lab.ensure_ca(ca_options));
  switch (v) {
    case CertVariant::Valid:
      DCSLAB_TRY(lab.ensure_node(ca, who, cert_options, force, issued_now));
      return lab;
    case CertVariant::OtherCa: {
      const PkiDir other(other_ca_dir(state));
      CaOptions o = ca_options;
      o.common_name = "dcs-other-ca";
      DCSLAB_TRY_ASSIGN(auto other_ca, other.ensure_ca(o));
      DCSLAB_TRY(other.ensure_node(other_ca, who, cert_options, force, issued_now));
      return other;
    }
    case CertVariant::Expired: {
      const PkiDir expired(expired_dir(state));
      // The lab CA's certificate beside it, so the folder reads like the others.
      DCSLAB_TRY(write_file_mode(expired.ca_cert(), cert_pem(*ca.cert), 0640));
      auto cert = load_cert(expired.node_file(who.hostname, "crt"));
      auto key = load_key(expired.node_file(who.hostname, "key"));
      if (!force && cert && key && check_key_matches(**cert, **key) &&
          describe(**cert).not_after_t < std::time(nullptr))
        return expired;
      CertOptions o = cert_options;
      o.start_offset_seconds = -30L * 24 * 3600;
      o.days = 1;
      DCSLAB_TRY_ASSIGN(auto issued, issue_cert(ca, who, o));
      DCSLAB_TRY(expired.write_node(who.hostname, issued));
      if (issued_now) *issued_now = true;
      return expired;
    }
  }
  return Failure::error("unknown certificate variant");
}

}  // namespace dcslab
