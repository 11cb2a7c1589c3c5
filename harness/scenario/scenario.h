// A scenario: a YAML file a person reads as the procedure itself (the lab document's
// "a command, and what it should print"), checked strictly when loaded.
//
//   name: smoke
//   description: ...
//   lab: fixtures/labs/dcs.yaml        # default
//   requires: [etcd-installed]         # scenario names or files run first (once per lab)
//   from: etcd-installed               # the lab state to start from (a snapshot, made once)
//   tags: [quick]
//   vars: {endpoint: "https://{{ node.ip }}:2379"}
//   secrets: {root_password: {generate: 20}, token: {env: CI_TOKEN}}
//   steps:
//     - name: hostname is the FQDN
//       on: all                        # a node, a list of nodes, or all (in parallel)
//       as: tux                        # default
//       run: hostname -f               # exactly one action: run, put, get, copy, wait_for_port,
//                                      #   wait_for_unit, reboot, relogin, pki_issue, expect_tls,
//                                      #   writer, check_writes, fault
//       env: {K: V}
//       stdin: text
//       prompts: [{expect: "Password: ", answer: "{{ secrets.root_password }}"}]
//       pty: false
//       timeout: 30s
//       when: etcd >= 3.5              # only on nodes whose etcd is 3.5 or later
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

#include "lab/fault.h"
#include "lab/lab.h"
#include "scenario/matcher.h"
#include "tls/pki.h"
#include "ssh/transport.h"
#include "scenario/version_guard.h"

namespace dcslab {

// "500ms", "30s", "2m", "1h", "1m30s". nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::milliseconds d);

enum class Action { Run, Put, Get, WaitForPort, WaitForUnit, Reboot, Relogin, PkiIssue, ExpectTls,
                    Writer, CheckWrites, Fault, Copy };
const char* action_name(Action a);

struct PutSpec {
  std::string path;     // template
  std::string content;  // template (from: the local file's content, read at load)
  std::string owner;    // template; empty: leave
  std::string group;
  int mode = 0644;
  bool content_is_template = true;  // false for `from:` files, copied verbatim
};

// copy: files from one node to another through dcslab (read over SFTP, or `sudo -n cat`
// where the user may not read; written as put writes). Each location is NODE:PATH, both
// parts templates; NODE is a node's name once expanded.
struct CopySpec {
  struct Location {
    std::string node;  // template
    std::string path;  // template; absolute
  };
  std::vector<Location> from;
  Location to;         // a folder when its path ends in '/' (always with several files)
  std::optional<int> mode;  // none: the source's permission bits
  std::string owner;   // template; empty: leave
  std::string group;
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

// writer / check_writes: a background writer through etcd's JSON gateway that records
// every put, and the check of what it recorded (writer_steps.h, write_history.h).
struct WriterSpec {
  enum class Op { Start, Stop, Check };
  Op op = Op::Start;
  std::string name;
  std::vector<std::string> endpoints;        // node names, in the lab's order (all by default)
  int port = 2379;
  std::chrono::milliseconds interval{100};
  int keys = 16;
  bool reads = true;
  std::string prefix = "/dcslab/writes/";    // template
  std::string user;                          // template; empty: no authentication
  std::string password;                      // template (a secret, as a rule)
  std::chrono::milliseconds request_timeout{std::chrono::seconds(2)};
  // TLS, as expect_tls names files: lab | none | a local file | node:/path (templates).
  std::string ca = "node:/etc/dcs/cert/ca.crt";
  std::string cert, key;                     // a client certificate without a Common Name
  std::string sign_with = "node:/etc/dcs/cert/ca.key";  // else dcslab makes one, signed by this CA key
  std::chrono::milliseconds check_timeout{std::chrono::minutes(1)};  // check_writes
};

// fault: one fault (fault.h) on the step's nodes, on `node`, or on nodes the run's seeded
// random generator picks from the step's nodes (`pick: random`, `count` of them).
struct FaultSpec {
  FaultKind kind = FaultKind::Crash;
  std::string node;         // template; empty: the step's `on` nodes
  bool pick_random = false;
  int count = 1;            // with pick_random: how many distinct nodes
  std::string unit;         // kill: the systemd unit (template)
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
  WriterSpec writer;                   // writer, check_writes
  FaultSpec fault;
  CopySpec copy;
  // `on:` given as a template ("{{ vars.followers }}"): resolved when the step runs, to
  // one or more node names (separated by spaces or commas); `on` then holds every node
  // of the lab, the candidates.
  std::string on_template;
  // `on: {except: ...}`: every node of the lab but those on_template names.
  bool on_except = false;
  // capture: NAME (run and fault steps): the trimmed stdout (fault: the nodes it hit) is
  // {{ vars.NAME }} in later steps: per node for a multi-node step, for every node
  // when the step ran on one.
  std::string capture;
  // when: "etcd >= 3.5": runs only on the nodes where the guard holds for the etcd
  // observed there (version_guard.h); elsewhere the node's part is skipped.
  std::optional<VersionGuard> when;
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
  // `from: NAME`: starts from the lab state NAME, a lab snapshot saved the first time
  // (after the requires ran) and reverted to afterwards (run_sequence.h). Empty: none.
  std::string from;
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
