#include "cli/init_command.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/error.h"
#include "base/process.h"
#include "lab/lab.h"
#include "report/report_files.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kInitHelp = R"(usage: dcslab init [DIR]

Writes a starter lab file and a first scenario into DIR (default: the current folder):

  DIR/lab.yaml               the lab document's lab (three Debian nodes dcs-00..02 on
                             192.168.56.0/24), every key commented; the lab is named
                             after DIR
  DIR/scenarios/first.yaml   a first scenario on it: names, addresses, etcd installed

It never overwrites a file: if either exists, nothing is written (exit status 2).
Then, in DIR:
  dcslab image build
  dcslab --lab lab.yaml up --isolated
  dcslab --lab lab.yaml run scenarios/
  dcslab --lab lab.yaml down
)";

namespace {

constexpr const char* kLab = R"(# A dcslab lab: the machines, their network and how they run. Every key below is
# optional except name, network (cidr, host, domain) and nodes; the values written here
# are the defaults and the lab document's. Loading is strict: an unknown key or a wrong
# value is one error naming this file, its line and the key.

# Names every resource the lab creates (machines dcslab-<name>-dcs-00, ..., its state
# folder, its network namespace): two labs at once need two names (or dcslab --name).
name: @NAME@

network:
  name: @NAME@                # the provider's network/bridge names (default: the lab's name)
  cidr: 192.168.56.0/24      # host-only: no route out; nodes have static addresses
  host: 192.168.56.1         # the host's address on it
  domain: patroni.mydomain   # each node's FQDN is <name>.<domain>, in every /etc/hosts

image:
  suite: bookworm            # bullseye | bookworm | trixie | forky (etcd 3.3 .. 3.5)
  # mirror: http://apt.example/mirror  # Debian archive for image builds (default: this
  #                          # host's own apt sources; DCSLAB_MIRROR overrides both)

provider:
  type: libvirt              # libvirt (QEMU VMs) | nspawn (containers) | virtualbox
  uri: qemu:///system        # libvirt only: the local daemon (remote URIs are refused)
  accel: auto                # auto (probe KVM, else TCG) | kvm | tcg

defaults:                    # for every node unless it says otherwise
  memory: 1024               # MiB
  cpus: 2

nodes:                       # name (a host name) and an address in network.cidr
  - name: dcs-00
    ip: 192.168.56.10
  - name: dcs-01
    ip: 192.168.56.11
  - name: dcs-02
    ip: 192.168.56.12

groups:                      # names for sets of nodes: a scenario says `on: dcs`
  dcs: [dcs-00, dcs-01, dcs-02]   # the etcd members (dcslab's scenarios/ run on `dcs`)
)";

constexpr const char* kScenario = R"(# A first scenario: what the machines print, checked on every node.
#   dcslab --lab lab.yaml run scenarios/
# docs/SCENARIOS.md lists every action (run, put, get, wait_for_port, fault, ...) and
# matcher; dcslab's own scenarios/ folder has the lab document's procedures.
name: first
description: |
  The lab as its nodes see it: each knows its FQDN, every node is in /etc/hosts, and
  etcd is installed.
# The lab file, relative to the current folder, else to this file's folder.
lab: ../lab.yaml
tags: [smoke]
steps:
  - name: hostname -f is the node's FQDN
    on: all
    run: hostname -f
    expect:
      exit: 0
      stdout: {equals: "{{ node.fqdn }}"}

  - name: /etc/hosts lists every node
    on: all
    run: cat /etc/hosts
    expect:
      stdout:
        matches:
          - '^{{ nodes.dcs-00.ip }}\s+{{ nodes.dcs-00.fqdn }}\s+{{ nodes.dcs-00.name }}$'
          - '^{{ nodes.dcs-01.ip }}\s+{{ nodes.dcs-01.fqdn }}\s+{{ nodes.dcs-01.name }}$'
          - '^{{ nodes.dcs-02.ip }}\s+{{ nodes.dcs-02.fqdn }}\s+{{ nodes.dcs-02.name }}$'

  - name: etcd is installed
    on: all
    run: etcd --version
    expect:
      stdout: {contains: "etcd Version:"}
)";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

std::vector<StarterFile> starter_files(const std::string& lab_name) {
  return {{"lab.yaml", replace_all(kLab, "@NAME@", lab_name)},
          {fs::path("scenarios") / "first.yaml", kScenario}};
}

std::string starter_lab_name(const fs::path& dir) {
  const fs::path full = fs::absolute(dir).lexically_normal();
  const std::string folder = (full.filename().empty() ? full.parent_path() : full).filename().string();
  if (std::none_of(folder.begin(), folder.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
    return "lab";
  std::string name = slug(folder).substr(0, 32);
  while (!name.empty() && name.back() == '-') name.pop_back();
  return valid_lab_name(name) ? name : "lab";
}

std::vector<fs::path> write_starter(const fs::path& dir) {
  const auto files = starter_files(starter_lab_name(dir));
  // Every file checked before any is written: a refusal leaves nothing half-made.
  for (const auto& f : files)
    if (fs::exists(dir / f.path))
      throw BadInput("init: " + (dir / f.path).string() +
                     " exists; not overwriting it (move it away, or init another folder)");
  std::vector<fs::path> written;
  for (const auto& f : files) {
    fs::create_directories((dir / f.path).parent_path());
    write_text_file(dir / f.path, f.text);
    written.push_back(dir / f.path);
  }
  return written;
}

int cmd_init(Context& ctx) {
  const auto& a = ctx.args();
  if (a.size() > 1) bad_usage("init", "init: expected at most one DIR");
  const fs::path dir = a.empty() ? fs::path(".") : fs::path(a[0]);
  for (const auto& p : write_starter(dir)) std::printf("wrote %s\n", p.c_str());
  const std::string cd = a.empty() ? "" : "  cd " + shell_quote(a[0]) + "\n";
  std::printf("next:\n%s  dcslab image build\n  dcslab --lab lab.yaml up --isolated\n"
              "  dcslab --lab lab.yaml run scenarios/\n  dcslab --lab lab.yaml down\n",
              cd.c_str());
  return 0;
}

}  // namespace dcslab
