// A scenario: a YAML file a person reads as the procedure itself (the lab document's
// "a command, and what it should print"), checked strictly when loaded.
//
//   name: smoke
//   description: ...
//   lab: fixtures/labs/dcs.yaml        # default
//   requires: [etcd-installed]         # scenario names or files run first (once per lab)
//   tags: [quick]
//   vars: {endpoint: "https://{{ node.ip }}:2379"}
//   secrets: {root_password: {generate: 20}, token: {env: CI_TOKEN}}
//   steps:
//     - name: hostname is the FQDN
//       on: all                        # a node, a list of nodes, or all (in parallel)
//       as: tux                        # default
//       run: hostname -f               # exactly one action: run, put, get, wait_for_port,
//                                      #   wait_for_unit, reboot, relogin, pki_issue, expect_tls
//       env: {K: V}
//       stdin: text
//       prompts: [{expect: "Password: ", answer: "{{ secrets.root_password }}"}]
//       pty: false
//       timeout: 30s
//       until: {interval: 2s, timeout: 1m}
//       expect: {exit: 0, stdout: {equals: "{{ node.fqdn }}"}, stderr: {not_contains: error}}
//
// Every error (unknown key, wrong type, invalid regex, unknown node, unknown template
// name, bad duration, zero or two actions) is one BadInput
// "file:line:col: key.path: message (valid: ...)" thrown before anything boots.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab.h"
#include "matcher.h"
#include "pki.h"
#include "transport.h"

namespace dcslab {

// "500ms", "30s", "2m", "1h", "1m30s". nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::milliseconds d);

enum class Action { Run, Put, Get, WaitForPort, WaitForUnit, Reboot, Relogin, PkiIssue, ExpectTls };
const char* action_name(Action a);

struct PutSpec {
  std::string path;     // template
  std::string content;  // template (from: the local file's content, read at load)
  std::string owner;    // template; empty: leave
  std::string group;
  int mode = 0644;
  bool content_is_template = true;  // false for `from:` files, copied verbatim
};

struct WaitSpec {
  int port = 0;                       // wait_for_port
  std::string host = "127.0.0.1";     // wait_for_port, template
  std::string unit;                   // wait_for_unit, template
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// pki_issue: the lab CA (made on first use) signs a certificate for each node of the
// step, and ca.crt, <host>.crt and <host>.key go to `path` on that node with the lab
// document's modes (0640; ca.key 0600 when push_ca_key).
struct PkiIssueSpec {
  std::string path = "/etc/dcs/cert";  // template; made (dir_mode, owner, group) if missing
  std::string owner;                   // template; empty: leave
  std::string group;
  int dir_mode = 0770;
  bool push_ca_key = false;
  KeySpec key;                         // rsa:4096, the document's
  int days = 3650;
  CertVariant variant = CertVariant::Valid;
  bool force = false;                  // issue anew even if the lab's is valid
};

// expect_tls: a TLS connection from dcslab (inside the lab's network namespace) to a
// node's port, and what it must show.
struct TlsSpec {
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
};

struct Until {
  std::chrono::milliseconds interval{std::chrono::seconds(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct Step {
  std::string name;                    // template
  int line = 0;                        // where it starts in the file (1-based)
  std::vector<std::string> on;         // node names, in the lab's order
  std::string user = "tux";
  Action action = Action::Run;
  std::string run;                     // template
  PutSpec put;
  std::string get_path;                // template
  WaitSpec wait;
  PkiIssueSpec pki;
  TlsSpec tls;
  std::vector<std::pair<std::string, std::string>> env;  // values are templates
  std::string stdin_data;              // template
  std::vector<Prompt> prompts;         // templates
  bool pty = false;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::optional<Until> until;
  Expectation expect;
};

struct SecretSpec {
  std::string name;
  int generate = 0;     // > 0: generated once per lab, this many characters
  std::string env;      // else: from this environment variable
};

struct Scenario {
  std::string name;
  std::string description;
  std::filesystem::path file;
  std::filesystem::path lab_file;      // resolved
  Lab lab;                             // the lab it was validated against
  std::vector<std::string> requires_;  // names, or files resolved to absolute paths
  std::vector<std::string> requires_at;  // "file:line:col: requires[i]" for messages
  std::vector<std::string> tags;
  std::map<std::string, std::string> vars;  // values may hold templates (not vars.*)
  std::vector<SecretSpec> secrets;
  std::vector<Step> steps;
};

// Resolves the scenario's `lab:` value (empty: the default) to a loaded Lab and its path.
// Throws BadInput when it cannot be read or is invalid.
using LabResolver =
    std::function<std::pair<Lab, std::filesystem::path>(const std::string& lab_value)>;

// The default resolver: `lab_override` if given, else the value (or
// fixtures/labs/dcs.yaml) relative to the current directory, the scenario's directory,
// or the source tree, whichever exists first.
LabResolver default_lab_resolver(const std::filesystem::path& scenario_file,
                                 const std::optional<std::filesystem::path>& lab_override);

Scenario parse_scenario(const std::string& text, const std::filesystem::path& file,
                        const LabResolver& resolve_lab);
Scenario load_scenario(const std::filesystem::path& file,
                       const std::optional<std::filesystem::path>& lab_override = std::nullopt);

}  // namespace dcslab
