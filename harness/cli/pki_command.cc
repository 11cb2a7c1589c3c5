#include "cli/pki_command.h"

#include <cstdio>

#include "base/error.h"
#include "base/text.h"
#include "tls/pki.h"

namespace dcslab {

const char* const kPkiHelp = R"(usage: dcslab pki init | issue NODE... | show FILE...

  init [--key SPEC] [--days N]        the lab's CA (/CN=dcs-ca) in <lab state>/pki; kept if it exists
  issue [OPTIONS] NODE...             a key, CSR and certificate per node, signed by the lab CA,
                                      with the lab document's SANs (IP, 127.0.0.1, localhost,
                                      hostname, FQDN); a valid existing one is kept
      --key SPEC                      rsa:4096 (default, the document's), rsa:2048, ec:p256
      --days N                        validity (default 3650)
      --force                         issue anew even if the existing one is valid
      --variant V                     valid (default), other-ca (signed by a second CA),
                                      expired (validity over): material to show refusals
  show FILE...                        subject, issuer, SANs, validity, SHA-256 fingerprint

The CA key stays on the host, in the lab's state folder.
)";

namespace {

[[noreturn]] void bad(const std::string& m) { throw BadInput("pki " + m + " (see dcslab pki --help)"); }

struct Args {
  std::vector<std::string> positional;
  KeySpec key;
  int days = 3650;
  bool force = false;
  CertVariant variant = CertVariant::Valid;
};

Args parse(const std::string& sub, const std::vector<std::string>& args, bool cert_options) {
  Args a;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& x = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) bad(sub + ": " + x + " needs a value");
      return args[++i];
    };
    if (x == "--key") {
      const std::string v = value();
      auto k = KeySpec::parse(v);
      if (!k) bad(sub + ": --key \"" + v + "\" is not a key type (rsa:4096, rsa:2048, ec:p256)");
      a.key = *k;
    } else if (x == "--days") {
      const std::string v = value();
      if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(v) == 0)
        bad(sub + ": --days \"" + v + "\" is not a number of days (1..99999)");
      a.days = std::stoi(v);
    } else if (cert_options && x == "--force") {
      a.force = true;
    } else if (cert_options && x == "--variant") {
      const std::string v = value();
      auto var = parse_cert_variant(v);
      if (!var) bad(sub + ": --variant \"" + v + "\" is unknown (valid, other-ca, expired)");
      a.variant = *var;
    } else if (x.size() > 1 && x[0] == '-') {
      bad(sub + ": unknown option " + x);
    } else {
      a.positional.push_back(x);
    }
  }
  return a;
}

}  // namespace

int cmd_pki(Context& ctx) {
  const auto& args = ctx.args();
  if (args.empty()) bad("expected init, issue or show");
  const std::string sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const Lab& lab = ctx.lab();
  const LabState& state = ctx.state();
  auto infrastructure = [&](const Failure& f) { return infrastructure_failure(ctx, f.message); };
  const PkiDir pki(lab_pki_dir(state));

  if (sub == "init") {
    const Args a = parse(sub, rest, false);
    if (!a.positional.empty()) bad("init: no arguments expected");
    CaOptions o;
    o.key = a.key;
    o.days = a.days;
    bool created = false;
    auto ca = pki.ensure_ca(o, &created);
    if (!ca) return infrastructure(ca.error());
    std::printf("%s (%s)\n%s", pki.ca_cert().c_str(), created ? "created" : "exists, kept",
                format_info(describe(*ca->cert)).c_str());
    return 0;
  }

  if (sub == "issue") {
    const Args a = parse(sub, rest, true);
    if (a.positional.empty()) bad("issue: expected one or more NODEs");
    const std::string names = join(lab.node_names(), ", ");
    for (const auto& n : a.positional)
      if (!lab.find_node(n)) bad("issue: unknown node \"" + n + "\" in lab " + lab.name + " (nodes: " + names + ")");
    CaOptions ca;
    ca.key = a.key;
    CertOptions c;
    c.key = a.key;
    c.days = a.days;
    for (const auto& n : a.positional) {
      const CertSubject who = CertSubject::of(*lab.find_node(n));
      bool issued = false;
      auto dir = ensure_lab_material(state, who, a.variant, ca, c, a.force, &issued);
      if (!dir) return infrastructure(dir.error());
      const auto crt = dir->node_file(n, "crt");
      auto cert = load_cert(crt);
      if (!cert) return infrastructure(cert.error());
      std::printf("%s (%s)\n%s", crt.c_str(), issued ? "issued" : "valid, kept",
                  format_info(describe(**cert)).c_str());
    }
    return 0;
  }

  if (sub == "show") {
    if (rest.empty()) bad("show: expected one or more certificate FILEs");
    for (const auto& f : rest) {
      auto cert = load_cert(f);
      if (!cert) throw BadInput("pki show: " + cert.error().message);
      std::printf("%s%s", rest.size() > 1 ? (f + ":\n").c_str() : "",
                  format_info(describe(**cert)).c_str());
    }
    return 0;
  }
  bad("unknown command \"" + sub + "\" (init, issue, show)");
}

}  // namespace dcslab
