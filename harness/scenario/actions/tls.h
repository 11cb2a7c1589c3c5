// The actions on the lab PKI: pki_issue (certificates pushed to a node) and expect_tls
// (a TLS connection from dcslab and what it must show).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "lab/cert_kinds.h"
#include "scenario/actions/action_info.h"

namespace dcslab {

// pki_issue: the lab CA (made on first use) signs a certificate for each node of the
// step, and ca.crt, <host>.crt and <host>.key go to `path` on that node with the lab
// document's modes (0640; ca.key 0600 when push_ca_key).
struct PkiIssueSpec {
  static constexpr ActionInfo info{.key = "pki_issue",
                                   .no_expect = "pki_issue has no output to expect anything of"};
  std::string path = "/etc/dcs/cert";  // template; made (dir_mode, owner, group) if missing
  std::string owner;                   // template; empty: leave
  std::string group;
  int dir_mode = 0770;
  bool push_ca_key = false;
  KeySpec key;                         // rsa:4096, the document's
  int days = 3650;
  CertVariant variant = CertVariant::Valid;
  bool force = false;                  // issue anew even if the lab's is valid
  static PkiIssueSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// expect_tls: a TLS connection from dcslab (inside the lab's network namespace) to a
// node's port, and what it must show.
struct TlsSpec {
  static constexpr ActionInfo info{
      .key = "expect_tls",
      .repeats = true,
      .no_expect = "expect_tls takes its expectation inside it (expect_tls.expect)"};
  std::string host = "{{ node.ip }}";  // template; a node's name means its address
  int port = 2379;
  // The client certificate: none, the lab PKI's (of client_node, default the step's
  // node, in client_variant), or files (cert/key; "node:/path" reads it from the node).
  enum class Client { None, Lab, Files };
  Client client = Client::None;
  std::string client_node;             // template
  CertVariant client_variant = CertVariant::Valid;
  std::string cert, key;               // templates
  std::string ca = "lab";              // lab | none | a file | node:/path (template)
  std::string verify_name;             // template; default: host as written
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // What it must show.
  bool handshake_ok = true;
  std::vector<std::string> sans;          // exact list, in order (templates)
  std::vector<std::string> san_contains;  // templates
  std::string issuer, subject, protocol;  // templates; empty: not checked
  static TlsSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};
using ExpectTlsSpec = TlsSpec;

}  // namespace dcslab
