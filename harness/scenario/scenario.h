// A scenario: a YAML file a person reads as the procedure itself (the lab document's
// "a command, and what it should print"), checked strictly when loaded.
//
//   name: smoke
//   description: ...
//   lab: ../lab.yaml                   # default: dcslab's default lab file
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
//                                      #   writer, watcher, check_writes, fault
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

#include "lab/lab.h"
#include "scenario/actions/actions.h"
#include "scenario/matcher.h"
#include "scenario/version_guard.h"
#include "ssh/transport.h"

namespace dcslab {

// "500ms", "30s", "2m", "1h", "1m30s". nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
std::string format_duration(std::chrono::milliseconds d);

struct Until {
  std::chrono::milliseconds interval{std::chrono::seconds(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct Step {
  std::string name;                    // template
  int line = 0;                        // where it starts in the file (1-based)
  std::vector<std::string> on;         // node names, in the lab's order
  std::string user = LoginSpec().user;  // the lab's login.user unless `as:`
  Action action;                       // what it does (scenario/actions/*.h)
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
  // output_limit: 64MiB: stdout and stderr are each kept up to this many bytes; the rest
  // is counted and dropped (the reports say how much; matchers see what was kept).
  std::size_t output_limit = kDefaultOutputLimit;
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

// The default resolver: `lab_override` if given; else the value relative to the current
// directory, the scenario's directory, or dcslab's data folder, whichever exists first;
// without a value, `inherited` if given, else the command line's default lab file
// (base/paths.h default_lab_file: the example lab). `inherited` is the lab of a scenario
// that requires this one: a scenario that names no lab runs on the lab of the run that
// needs it (the seed under scenarios/patroni/).
LabResolver default_lab_resolver(const std::filesystem::path& scenario_file,
                                 const std::optional<std::filesystem::path>& lab_override,
                                 const std::optional<std::filesystem::path>& inherited = std::nullopt);

Scenario parse_scenario(const std::string& text, const std::filesystem::path& file,
                        const LabResolver& resolve_lab);
Scenario load_scenario(const std::filesystem::path& file,
                       const std::optional<std::filesystem::path>& lab_override = std::nullopt);

}  // namespace dcslab
