// The table of dcslab's commands (command.h), and the help built from it.
#include <cstdio>

#include "base/error.h"
#include "base/paths.h"
#include "base/text.h"
#include "cli/check_command.h"
#include "cli/command.h"
#include "cli/daemon_commands.h"
#include "cli/fault_command.h"
#include "cli/image_command.h"
#include "cli/init_command.h"
#include "cli/lab_commands.h"
#include "cli/pki_command.h"
#include "cli/report_command.h"
#include "cli/run_command.h"
#include "cli/snapshot_command.h"
#include "providers/registry.h"

namespace dcslab {

namespace {

int cmd_help(Context& ctx);

const char* const kHelpHelp = R"(usage: dcslab help [COMMAND]

dcslab's commands and options, or one command's help (as `dcslab COMMAND --help`).
)";

// The general help lists the commands in this order, under a heading when `group`
// changes. A hidden command has help but is not listed.
struct Row {
  std::string_view group;
  Command command;
};

// A function's static: the help texts live in other files, so the table is made on
// first use, after theirs.
const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
    {"Lab", {"up", "create and boot the lab's nodes, wait for SSH", kUpHelp, LabUse::Loaded, false, cmd_up}},
    {"Lab", {"status", "each node's state", kStatusHelp, LabUse::Loaded, false, cmd_status}},
    {"Lab", {"exec", "run a command on a node; exits with its status (exec NODE -- CMD...)", kExecHelp, LabUse::Loaded, false, cmd_exec}},
    {"Lab", {"ssh", "interactive SSH to a node (the system ssh client)", kSshHelp, LabUse::Loaded, false, cmd_ssh}},
    {"Lab", {"ssh-config", "OpenSSH Host blocks for every node", kSshConfigHelp, LabUse::Loaded, false, cmd_ssh_config}},
    {"Lab", {"proxy", "stdin/stdout to HOST PORT in the lab's namespace (ssh's ProxyCommand)", kProxyHelp, LabUse::Loaded, false, cmd_proxy}},
    {"Lab", {"down", "remove everything the lab created", kDownHelp, LabUse::Loaded, false, cmd_down}},
    {"Scenarios", {"run", "run scenarios, bringing the lab up if needed", kRunHelp, LabUse::Own, false, cmd_run}},
    {"Scenarios", {"report", "merge the reports of a run's shards (report merge -o DIR IN...)", kReportHelp, LabUse::None, false, cmd_report}},
    {"Faults and snapshots", {"fault", "crash, start, pause, resume, partition, heal or kill on a node", kFaultHelp, LabUse::Loaded, false, cmd_fault}},
    {"Faults and snapshots", {"snapshot", "save, revert, list or delete lab snapshots (libvirt)", kSnapshotHelp, LabUse::Loaded, false, cmd_snapshot}},
    {"Checking", {"check", "re-check saved histories for linearizability (check history FILE...)", kCheckHelp, LabUse::None, false, cmd_check}},
    {"PKI and images", {"pki", "the lab's CA and node certificates: init, issue, show", kPkiHelp, LabUse::Loaded, false, cmd_pki}},
    {"PKI and images", {"image", "build or list node images", kImageHelp, LabUse::None, false, cmd_image}},
    {"Getting started", {"init", "write a starter lab file and a first scenario", kInitHelp, LabUse::None, false, cmd_init}},
    {"Getting started", {"help", "dcslab's help, or a command's", kHelpHelp, LabUse::None, false, cmd_help}},
    {"", {"exec-mux", "the lab's exec multiplexer (started by exec)", kExecMuxHelp, LabUse::None, true, cmd_exec_mux}},
    {"", {"libvirtd", "start or stop a private libvirtd (for scripts)", kLibvirtdHelp, LabUse::None, true, cmd_libvirtd}},
  };
  return table;
}

int cmd_help(Context& ctx) {
  const auto& a = ctx.args();
  if (a.size() > 1) bad_usage("help", "help: expected at most one COMMAND");
  if (a.empty()) {
    std::fputs(general_help().c_str(), stdout);
    return 0;
  }
  const Command* c = find_command(a[0]);
  if (!c) bad_usage("help", "help: unknown command \"" + a[0] + "\"");
  std::fputs(std::string(c->help).c_str(), stdout);
  return 0;
}

}  // namespace

std::span<const Command> commands() {
  static const std::vector<Command> all = [] {
    std::vector<Command> v;
    for (const auto& r : rows()) v.push_back(r.command);
    return v;
  }();
  return all;
}

const Command* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string_view> lab_command_names() {
  std::vector<std::string_view> names;
  for (const auto& c : commands())
    if (c.lab != LabUse::None) names.push_back(c.name);
  return names;
}

std::string general_help() {
  std::string s =
      "usage: dcslab [OPTIONS] COMMAND [ARGS]   (options before or after the command)\n";
  std::string_view group = "-";
  for (const auto& r : rows()) {
    if (r.command.hidden) continue;
    if (r.group != group) s += "\n" + std::string(r.group) + ":\n";
    group = r.group;
    std::string name(r.command.name);
    s += "  " + name + std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') +
         std::string(r.command.summary) + "\n";
  }
  std::string providers;
  for (const auto& p : provider_registry())
    providers += "                  " + std::string(p.name) + ": " + std::string(p.summary) + "\n";
  s += R"(
Options (before or after the command; after "--" nothing is an option):
  --lab FILE      lab file (default, wherever dcslab runs: the example lab,
                  )" + example_lab_file().string() + R"()
  --name NAME     this lab's name instead of the lab file's: several labs from one file
                  (run --parallel names its labs <name>-1, <name>-2, ...)
  --provider P    override the lab file's provider:
)" + providers + R"(  --suite S       override the lab file's Debian suite (bullseye, bookworm, trixie, forky)
  --isolated      a lab brought up by this command gets its own network namespace
                  (as DCSLAB_ISOLATED=1; what tests and CI use)
  -v, --verbose   debug logging
  -h, --help      this help, or with a command its help (also: dcslab help COMMAND)
  --version       dcslab's version

Exit status: 0 ok, 1 a command on a node failed, 2 bad input, 3 infrastructure failure.
)";
  return s;
}

}  // namespace dcslab
