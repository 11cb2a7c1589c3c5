#include "run/tls_material.h"

#include "base/file.h"
#include "tls/pki.h"

namespace fs = std::filesystem;

namespace dcslab {

Expected<std::string> read_local_file(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return Failure::not_found("cannot read " + file.string());
  return text;
}

bool on_node(const std::string& source) { return source.rfind("node:", 0) == 0; }

fs::path TlsFiles::local(const std::string& source) const {
  fs::path p = source;
  return p.is_relative() ? scenario_dir / p : p;
}

Expected<std::string> TlsFiles::read(const std::string& source) const {
  if (!on_node(source)) return read_local_file(local(source));
  if (!transport) return Failure::error("no session to read " + source);
  return transport->get(source.substr(5));
}

Expected<TlsClientConfig> read_tls_material(const std::string& ca, const std::string& cert,
                                            const std::string& key, const TlsFiles& files,
                                            Redactor& redactor) {
  TlsClientConfig tls;
  if (ca == "lab") {
    const fs::path lab_ca = PkiDir(lab_pki_dir(files.state)).ca_cert();
    auto pem = read_local_file(lab_ca);
    if (!pem)
      return Failure::not_found("the lab has no CA yet: " + lab_ca.string() +
                                " is missing (a pki_issue step makes it, or dcslab pki init)");
    tls.ca_pem = std::move(*pem);
  } else if (ca != "none") {
    DCSLAB_TRY_ASSIGN(tls.ca_pem, files.read(ca));
  }
  if (cert.empty() && key.empty()) return tls;
  DCSLAB_TRY_ASSIGN(tls.cert_pem, files.read(cert));
  DCSLAB_TRY_ASSIGN(tls.key_pem, files.read(key));
  redactor.add(tls.key_pem);
  return tls;
}

}  // namespace dcslab
