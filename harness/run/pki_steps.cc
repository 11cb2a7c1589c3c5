#include "run/pki_steps.h"

#include <algorithm>

#include "base/process.h"
#include "base/text.h"
#include "run/tls_material.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {


std::string octal(int mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

// "CN = dcs-ca", "CN=dcs-ca" and "/CN=dcs-ca" are the same name to a reader.
std::string normalize_name(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  std::replace(s.begin(), s.end(), '/', ',');
  return s;
}

}  // namespace

Expected<CommandResult> run_pki_issue(const PkiIssueSpec& spec, const TemplateValues& tv,
                                      const std::string& user, LabState& state,
                                      Transport& transport, Redactor& redactor,
                                      std::string* command) {
  const Node& node = *tv.node;
  const CertSubject who = CertSubject::of(node);
  const std::string path = expand_templates(spec.path, tv);
  const std::string owner = expand_templates(spec.owner, tv);
  const std::string group = expand_templates(spec.group, tv);

  struct File {
    std::string name;
    fs::path local;
    int mode;
    bool secret;
  };
  CaOptions ca;
  ca.key = spec.key;
  CertOptions cert;
  cert.key = spec.key;
  cert.days = spec.days;
  // The folder of this variant holds ca.crt (the CA it chains to) and the node's files.
  std::vector<File> files;
  const PkiDir planned(spec.variant == CertVariant::Valid     ? lab_pki_dir(state)
                       : spec.variant == CertVariant::OtherCa ? other_ca_dir(state)
                                                              : expired_dir(state));
  files.push_back({"ca.crt", planned.ca_cert(), 0640, false});
  files.push_back({node.name + ".crt", planned.node_file(node.name, "crt"), 0640, false});
  files.push_back({node.name + ".key", planned.node_file(node.name, "key"), 0640, true});
  if (spec.push_ca_key) files.push_back({"ca.key", planned.ca_key(), 0600, true});
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + f.name;
  *command = "pki_issue: " + std::string(cert_variant_name(spec.variant)) + " certificate of " +
             node.name + " to " + path + " (" + names +
             (owner.empty() ? "" : "; owner " + owner) + (group.empty() ? "" : ", group " + group) + ")";

  bool issued = false;
  DCSLAB_TRY(ensure_lab_material(state, who, spec.variant, ca, cert, spec.force, &issued));
  std::vector<std::string> contents;
  for (const auto& f : files) {
    DCSLAB_TRY_ASSIGN(std::string c, read_local_file(f.local));
    // Before anything could print it: a `cat` of the key in a later step is redacted too.
    if (f.secret) redactor.add(c);
    contents.push_back(std::move(c));
  }
  DCSLAB_TRY_ASSIGN(const X509Ptr crt, parse_cert(contents[1], files[1].local.string()));
  const CertInfo info = describe(*crt);
  std::string out = std::string(issued ? "issued " : "kept ") + files[1].local.string() + "\n" +
                    "  subject " + info.subject + ", issuer " + info.issuer + "\n" +
                    "  SANs " + join(info.sans, ", ") + "\n" +
                    "  valid " + info.not_before + " to " + info.not_after + "\n" +
                    "  SHA-256 " + info.sha256 + "\n";

  // The folder, as the document makes it (mkdir -pm 0770, chown etcd:etcd).
  const std::string sudo = user == "root" ? "" : "sudo -n ";
  std::string mk = sudo + "install -d -m " + octal(spec.dir_mode);
  if (!owner.empty()) mk += " -o " + shell_quote(owner);
  if (!group.empty()) mk += " -g " + shell_quote(group);
  mk += " " + shell_quote(path);
  ExecOptions eo;
  eo.timeout = std::chrono::seconds(60);
  DCSLAB_TRY_ASSIGN(CommandResult made, transport.exec(mk, eo));
  if (made.exit_status != 0) {
    made.out = out + "$ " + mk + "\n" + made.out;
    return made;
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    FileAttributes attrs;
    attrs.mode = files[i].mode;
    attrs.owner = owner;
    attrs.group = group;
    const std::string remote = path + "/" + files[i].name;
    DCSLAB_TRY(transport.put(contents[i], remote, attrs));
    out += "put " + remote + " (" + octal(files[i].mode) + ")\n";
  }
  return CommandResult{0, out, ""};
}

bool tls_needs_transport(const TlsSpec& spec) {
  return on_node(spec.ca) || (spec.client == TlsSpec::Client::Files &&
                              (on_node(spec.cert) || on_node(spec.key)));
}

Expected<TlsProbeOptions> tls_probe_options(const TlsSpec& spec, const TemplateValues& tv,
                                            LabState& state, Transport* transport,
                                            const fs::path& scenario_dir, Redactor& redactor,
                                            std::string* command) {
  TlsProbeOptions o;
  const std::string host = expand_templates(spec.host, tv);
  const Node* named = tv.lab ? tv.lab->find_node(host) : nullptr;
  o.host = named ? named->ip.str() : host;
  o.port = spec.port;
  o.timeout = spec.timeout;
  o.verify_name = spec.verify_name.empty() ? host : expand_templates(spec.verify_name, tv);
  std::string what = "expect_tls " + o.host + ":" + std::to_string(o.port);

  const std::string ca = expand_templates(spec.ca, tv);
  const bool files = spec.client == TlsSpec::Client::Files;
  const std::string cert = files ? expand_templates(spec.cert, tv) : "";
  const std::string key = files ? expand_templates(spec.key, tv) : "";
  DCSLAB_TRY_ASSIGN(TlsClientConfig tls, read_tls_material(ca, cert, key, TlsFiles{state, transport, scenario_dir},
                                                           redactor));
  o.ca_pem = std::move(tls.ca_pem);
  o.cert_pem = std::move(tls.cert_pem);
  o.key_pem = std::move(tls.key_pem);
  if (ca == "none") o.verify_name.clear();
  what += ca == "lab"    ? " (CA: the lab's, name " + o.verify_name
          : ca == "none" ? std::string(" (server not verified")
                         : " (CA: " + ca + ", name " + o.verify_name;

  switch (spec.client) {
    case TlsSpec::Client::None: what += "; no client certificate)"; break;
    case TlsSpec::Client::Files: what += "; client certificate: " + cert + ")"; break;
    case TlsSpec::Client::Lab: {
      const Node* n = spec.client_node.empty() ? tv.node
                                               : tv.lab->find_node(expand_templates(spec.client_node, tv));
      if (!n) return Failure::not_found("client_cert.node: no such node");
      // Made here only when no pki_issue step made it (a client certificate of another
      // CA, an expired one): EC P-256, quick, and a client's key type does not matter.
      CaOptions ca_options;
      ca_options.key = KeySpec{KeySpec::Type::EcP256, 0};
      CertOptions c;
      c.key = ca_options.key;
      DCSLAB_TRY_ASSIGN(const PkiDir dir, ensure_lab_material(state, CertSubject::of(*n), spec.client_variant,
                                                              ca_options, c));
      DCSLAB_TRY_ASSIGN(o.cert_pem, read_local_file(dir.node_file(n->name, "crt")));
      DCSLAB_TRY_ASSIGN(o.key_pem, read_local_file(dir.node_file(n->name, "key")));
      redactor.add(o.key_pem);
      what += "; client certificate: " + n->name + "'s (" + cert_variant_name(spec.client_variant) + "))";
      break;
    }
  }
  *command = what;
  return o;
}

std::vector<std::string> check_tls(const TlsSpec& spec, const TemplateValues& tv,
                                   const TlsProbeResult& r) {
  std::vector<std::string> f;
  if (spec.handshake_ok != r.handshake_ok)
    f.push_back(spec.handshake_ok ? "handshake: expected ok, observed fail (" + r.failure + ")"
                                  : "handshake: expected fail, observed ok");
  auto server = [&](const std::string& what) {
    if (!r.server) f.push_back(what + ": the server presented no certificate");
    return r.server.has_value();
  };
  if (!spec.sans.empty() && server("sans")) {
    std::vector<std::string> want;
    for (const auto& s : spec.sans) want.push_back(expand_templates(s, tv));
    if (want != r.server->sans)
      f.push_back("sans: expected [" + join(want, ", ") + "], observed [" + join(r.server->sans, ", ") + "]");
  }
  for (const auto& s : spec.san_contains) {
    if (!server("san_contains")) break;
    const std::string want = expand_templates(s, tv);
    if (std::find(r.server->sans.begin(), r.server->sans.end(), want) == r.server->sans.end())
      f.push_back("san_contains: " + want + " is not among [" + join(r.server->sans, ", ") + "]");
  }
  auto name = [&](const char* key, const std::string& spec_value, const std::string CertInfo::*field) {
    if (spec_value.empty() || !server(key)) return;
    const std::string want = expand_templates(spec_value, tv);
    if (normalize_name(want) != normalize_name(*r.server.*field))
      f.push_back(std::string(key) + ": expected " + want + ", observed " + *r.server.*field);
  };
  name("issuer", spec.issuer, &CertInfo::issuer);
  name("subject", spec.subject, &CertInfo::subject);
  if (!spec.protocol.empty() && spec.protocol != r.protocol)
    f.push_back("protocol: expected " + spec.protocol + ", observed " +
                (r.protocol.empty() ? "(none)" : r.protocol));
  return f;
}

}  // namespace dcslab
