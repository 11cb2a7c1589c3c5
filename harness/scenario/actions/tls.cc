#include "scenario/actions/tls.h"

#include "base/text.h"
#include "scenario/step_parser.h"

namespace dcslab {

namespace {

// A map of options, or true / nothing for the defaults.
bool defaults_only(const Reader& r, const YAML::Node& a, const std::string& key) {
  if (a.IsNull() || (a.IsScalar() && (a.Scalar() == "true" || a.Scalar() == "yes"))) return true;
  if (!a.IsMap()) r.fail(a, key, "expected a mapping of options (or true), found " + yaml_kind(a));
  return false;
}

CertVariant cert_variant(const Reader& r, const YAML::Node& v, const std::string& key) {
  const std::string s = r.scalar(v, key);
  auto var = parse_cert_variant(s);
  if (!var)
    r.fail(v, key, "unknown certificate variant \"" + s + "\" (valid: valid, other-ca, expired)");
  return *var;
}

// "IP:..." or "DNS:...", as `dcslab pki show` prints them.
std::string san(const StepParser& p, const YAML::Node& v, const std::string& key) {
  const std::string s = p.tmpl(v, key);
  if (s.rfind("IP:", 0) != 0 && s.rfind("DNS:", 0) != 0)
    p.reader().fail(v, key, "\"" + s + "\" is not a SAN (valid: IP:<address>, DNS:<name>)");
  return s;
}

// client_cert: true | false | VARIANT | {node, variant} | {cert, key}
void client_cert(const StepParser& p, const YAML::Node& c, const std::string& ck, TlsSpec* t) {
  const Reader& r = p.reader();
  if (c.IsScalar()) {
    const std::string v = c.Scalar();
    if (v == "false" || v == "no") t->client = TlsSpec::Client::None;
    else if (v == "true" || v == "yes") t->client = TlsSpec::Client::Lab;
    else if (parse_cert_variant(v)) {
      t->client = TlsSpec::Client::Lab;
      t->client_variant = *parse_cert_variant(v);
    } else {
      r.fail(c, ck, "expected true, false, valid, other-ca, expired, {node, variant} or {cert, key}, found \"" + v + "\"");
    }
    return;
  }
  r.expect_map(c, ck, {"node", "variant", "cert", "key"});
  const bool files = c["cert"] || c["key"];
  if (files && (c["node"] || c["variant"]))
    r.fail(c, ck, "give node/variant (the lab PKI's) or cert/key (files), not both");
  if (files) {
    if (!c["cert"]) r.fail(c, ck + ".cert", "missing (required with key)");
    if (!c["key"]) r.fail(c, ck + ".key", "missing (required with cert)");
    t->client = TlsSpec::Client::Files;
    t->cert = p.tmpl(c["cert"], ck + ".cert");
    t->key = p.tmpl(c["key"], ck + ".key");
    return;
  }
  t->client = TlsSpec::Client::Lab;
  if (const YAML::Node n = c["node"]) {
    t->client_node = r.scalar(n, ck + ".node");
    if (!p.lab().find_node(t->client_node))
      r.fail(n, ck + ".node", "unknown node \"" + t->client_node + "\" (valid: " +
                                  join(p.lab().node_names(), ", ") + ")");
  }
  if (const YAML::Node v = c["variant"]) t->client_variant = cert_variant(r, v, ck + ".variant");
}

// expect: {handshake, sans, san_contains, issuer, subject, protocol}
void tls_expect(const StepParser& p, const YAML::Node& e, const std::string& ek, TlsSpec* t) {
  const Reader& r = p.reader();
  r.expect_map(e, ek, {"handshake", "sans", "san_contains", "issuer", "subject", "protocol"});
  if (const YAML::Node h = e["handshake"]) {
    const std::string v = r.scalar(h, ek + ".handshake");
    if (v != "ok" && v != "fail")
      r.fail(h, ek + ".handshake", "expected ok or fail, found \"" + v + "\"");
    t->handshake_ok = v == "ok";
  }
  if (const YAML::Node x = e["sans"]) {
    if (!x.IsSequence()) r.fail(x, ek + ".sans", "expected the list of SANs, found " + yaml_kind(x));
    for (std::size_t i = 0; i < x.size(); ++i)
      t->sans.push_back(san(p, x[i], ek + ".sans[" + std::to_string(i) + "]"));
  }
  if (const YAML::Node x = e["san_contains"]) {
    const auto items = r.scalar_or_list(x, ek + ".san_contains");
    for (std::size_t i = 0; i < items.size(); ++i)
      t->san_contains.push_back(san(p, items[i], ek + ".san_contains" +
                                                     (x.IsSequence() ? "[" + std::to_string(i) + "]" : "")));
  }
  if (const YAML::Node x = e["issuer"]) t->issuer = p.tmpl(x, ek + ".issuer");
  if (const YAML::Node x = e["subject"]) t->subject = p.tmpl(x, ek + ".subject");
  if (const YAML::Node x = e["protocol"]) {
    t->protocol = r.scalar(x, ek + ".protocol");
    if (t->protocol != "TLSv1.2" && t->protocol != "TLSv1.3")
      r.fail(x, ek + ".protocol", "\"" + t->protocol + "\" is not a protocol (valid: TLSv1.2, TLSv1.3)");
  }
}

}  // namespace

PkiIssueSpec PkiIssueSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step&) {
  const Reader& r = p.reader();
  PkiIssueSpec spec;
  if (defaults_only(r, a, ak)) return spec;
  r.expect_map(a, ak, {"path", "owner", "group", "dir_mode", "push_ca_key", "key", "days",
                       "variant", "force"});
  if (const YAML::Node x = a["path"]) {
    spec.path = p.tmpl(x, ak + ".path");
    if (spec.path.empty() || spec.path[0] != '/')
      r.fail(x, ak + ".path", "\"" + spec.path + "\" is not an absolute path on the node");
  }
  if (const YAML::Node x = a["owner"]) spec.owner = p.tmpl(x, ak + ".owner");
  if (const YAML::Node x = a["group"]) spec.group = p.tmpl(x, ak + ".group");
  if (const YAML::Node x = a["dir_mode"]) spec.dir_mode = r.octal_mode(x, ak + ".dir_mode");
  if (const YAML::Node x = a["push_ca_key"]) spec.push_ca_key = r.boolean(x, ak + ".push_ca_key");
  if (const YAML::Node x = a["force"]) spec.force = r.boolean(x, ak + ".force");
  if (const YAML::Node x = a["key"]) {
    const std::string k = r.scalar(x, ak + ".key");
    auto key = KeySpec::parse(k);
    if (!key || (key->type == KeySpec::Type::Rsa && key->bits < 2048))
      r.fail(x, ak + ".key", "\"" + k + "\" is not a key type (valid: rsa:4096, rsa:3072, rsa:2048, ec:p256)");
    spec.key = *key;
  }
  if (const YAML::Node x = a["days"]) spec.days = r.integer(x, ak + ".days", 1, 36500);
  if (const YAML::Node x = a["variant"]) spec.variant = cert_variant(r, x, ak + ".variant");
  return spec;
}
std::string PkiIssueSpec::default_name() const { return "pki_issue to " + path; }

TlsSpec TlsSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step&) {
  const Reader& r = p.reader();
  TlsSpec t;
  if (defaults_only(r, a, ak)) return t;
  r.expect_map(a, ak, {"host", "port", "client_cert", "ca", "verify_name", "timeout", "expect"});
  if (const YAML::Node x = a["host"]) t.host = p.tmpl(x, ak + ".host");
  if (const YAML::Node x = a["port"]) t.port = r.integer(x, ak + ".port", 1, 65535);
  if (const YAML::Node x = a["ca"]) t.ca = p.tmpl(x, ak + ".ca");
  if (const YAML::Node x = a["verify_name"]) t.verify_name = p.tmpl(x, ak + ".verify_name");
  if (const YAML::Node x = a["timeout"]) t.timeout = r.duration(x, ak + ".timeout");
  if (const YAML::Node c = a["client_cert"]) client_cert(p, c, ak + ".client_cert", &t);
  if (const YAML::Node e = a["expect"]) tls_expect(p, e, ak + ".expect", &t);
  return t;
}
std::string TlsSpec::default_name() const {
  return "expect_tls " + host + ":" + std::to_string(port) + " " + (handshake_ok ? "ok" : "fail");
}

}  // namespace dcslab
