#include "cli/lab_commands.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "base/interrupt.h"
#include "base/process.h"
#include "base/progress.h"
#include "base/text.h"
#include "cli/parse_options.h"
#include "control/exec_mux.h"
#include "control/lab_ops.h"
#include "ssh/ssh_transport.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace dcslab {

const char* const kUpHelp = R"(usage: dcslab up [--timeout S] [--isolated]

Creates and boots the lab's nodes (or finds them running) and waits until each answers
SSH. With --isolated the lab gets a network namespace of its own (dcslab-<lab>), and with
libvirt a private libvirtd in it; every later command of the lab enters it.

  --timeout S     seconds to wait for SSH on every node (default 240)

The lab keeps the provider it was brought up with: a later `dcslab down` needs no
--provider. Exit status: 0 up, 2 bad input, 3 the lab could not come up (it is kept for
inspection; `dcslab down` removes it).
)";

const char* const kDownHelp = R"(usage: dcslab down

Removes everything the lab created (machines, disks, networks, its namespace and private
libvirtd), newest first, from the lab's ledger; nothing else. Succeeds when it is all
gone already.
)";

const char* const kStatusHelp = R"(usage: dcslab status

Each node's state (running, shut off, paused, missing) as its provider sees it.
)";

const char* const kExecHelp = R"(usage: dcslab exec NODE [--user U] -- COMMAND...

Runs COMMAND on NODE (as the lab's login.user unless --user) and exits with its exit status; its stdout
and stderr are this command's. Nothing after "--" is an option of dcslab. Sessions stay
open between execs (a daemon per lab; DCSLAB_EXEC_PERSIST seconds, default 600, 0: off).
Ctrl-C stops the command on the node too (exit status 130).

  -u, --user U    the user to log in as (default the lab's login.user, tux)
)";

const char* const kSshHelp = R"(usage: dcslab ssh NODE [--user U] [-- COMMAND...]

An interactive SSH session to NODE through the system ssh client, with the lab's key and
the node's pinned host key, inside the lab's network namespace.

  -u, --user U    the user to log in as (default the lab's login.user, tux)
)";

const char* const kSshConfigHelp = R"(usage: dcslab ssh-config

OpenSSH Host blocks for every node of a lab that is up (dcslab ssh-config >>
~/.ssh/config, then ssh dcs-00). An isolated lab is reached through `dcslab proxy`.
)";

const char* const kProxyHelp = R"(usage: dcslab proxy HOST PORT

Copies stdin and stdout to HOST:PORT from inside the lab's network namespace: the
ProxyCommand that ssh-config writes for an isolated lab.
)";

namespace {

// A lab that is up, its namespace entered (call before any thread starts).
void enter_lab(Context& ctx) {
  if (ctx.state().empty())
    throw Fatal("lab " + ctx.lab().name + " is not up (" + ctx.suggest("up") + ")");
  if (auto e = enter_lab_namespace(ctx.state()); !e) throw Fatal(e.error().message);
}

std::string check_node(Context& ctx, const std::vector<std::string>& positional) {
  if (positional.size() != 1) bad_usage(ctx.command(), ctx.command() + ": expected exactly one NODE");
  if (!ctx.lab().find_node(positional[0]))
    bad_usage(ctx.command(), ctx.command() + ": unknown node \"" + positional[0] + "\" (nodes: " +
                                 join(ctx.lab().node_names(), ", ") + ")");
  return positional[0];
}

Expected<std::unique_ptr<Transport>> ssh_connect(const SshTarget& t) {
  auto c = SshTransport::connect(t);
  if (!c) return c.error();
  return std::unique_ptr<Transport>(std::move(*c));
}

}  // namespace

int cmd_up(Context& ctx) {
  UpOptions o;
  int timeout = 240;
  po::options_description opts;
  opts.add_options()("timeout", po::value(&timeout));
  if (!parse_options("up", ctx.args(), opts).empty()) bad_usage("up", "up: no arguments expected");
  o.ssh_timeout = std::chrono::seconds(timeout);
  o.isolated = ctx.global().isolated;
  ConsoleProgress progress;
  auto r = lab_up(ctx.lab(), ctx.state(), o, progress);
  return r ? 0 : infrastructure_failure(ctx, r.error().message);
}

int cmd_down(Context& ctx) {
  if (!ctx.args().empty()) bad_usage("down", "down: no arguments expected");
  ConsoleProgress progress;
  auto r = lab_down(ctx.lab(), ctx.state(), progress);
  return r ? 0 : infrastructure_failure(ctx, r.error().message);
}

int cmd_status(Context& ctx) {
  if (!ctx.args().empty()) bad_usage("status", "status: no arguments expected");
  auto r = lab_status(ctx.lab(), ctx.state());
  if (!r) return infrastructure_failure(ctx, r.error().message);
  for (const auto& s : *r)
    std::printf("%-12s %-12s %s\n", s.node.c_str(), s.state.c_str(), s.detail.c_str());
  return 0;
}

int cmd_exec(Context& ctx) {
  std::string user;
  po::options_description opts;
  opts.add_options()("user,u", po::value(&user));
  std::vector<std::string> cmd;
  const std::string node = check_node(ctx, parse_options("exec", ctx.args(), opts, &cmd));
  if (user.empty()) user = ctx.lab().login.user;
  if (cmd.empty()) bad_usage("exec", "exec: expected -- COMMAND after NODE");
  enter_lab(ctx);
  const Lab& lab = ctx.lab();
  const LabState& state = ctx.state();
  const std::string command = cmd.size() == 1 ? cmd[0] : join_argv(cmd);
  const auto timeout = std::chrono::hours(24);
  auto finish = [&](const Expected<CommandResult>& r) {
    if (!r) {
      if (!g_interrupted) return infrastructure_failure(ctx, r.error().message);
      spdlog::error("{}", r.error().message);
      return 130;
    }
    std::fwrite(r->out.data(), 1, r->out.size(), stdout);
    std::fwrite(r->err.data(), 1, r->err.size(), stderr);
    return r->exit_status < 0 ? 255 : r->exit_status;
  };
  // The lab's exec multiplexer runs the command on a session it keeps open; without
  // one, this exec connects itself and leaves one for the next (exec_mux.h).
  if (const auto persist = mux_persist_from_env(); persist.count() > 0) {
    auto target = node_target(lab, state, node, user);
    if (!target) return infrastructure_failure(ctx, target.error().message);
    if (auto r = mux_exec(state.dir(), *target, command, timeout, g_interrupted)) return finish(*r);
    mux_spawn(state.dir(), persist, ssh_connect,
              {fs::canonical("/proc/self/exe").string(), "exec-mux", state.dir().string(),
               std::to_string(persist.count())});
  }
  auto t = connect_node(lab, state, node, user);
  if (!t) return infrastructure_failure(ctx, t.error().message);
  ExecOptions eo;
  eo.timeout = timeout;
  eo.cancelled = [] { return g_interrupted.load(); };
  return finish((*t)->exec(command, eo));
}

int cmd_ssh(Context& ctx) {
  std::string user;
  po::options_description opts;
  opts.add_options()("user,u", po::value(&user));
  std::vector<std::string> cmd;
  const std::string node = check_node(ctx, parse_options("ssh", ctx.args(), opts, &cmd));
  if (user.empty()) user = ctx.lab().login.user;
  enter_lab(ctx);
  auto argv = ssh_client_argv(ctx.lab(), ctx.state(), node, user);
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  std::vector<char*> c;
  for (auto& a : argv) c.push_back(a.data());
  c.push_back(nullptr);
  ::execvp("ssh", c.data());
  throw Fatal(std::string("cannot run ssh: ") + std::strerror(errno));
}

int cmd_ssh_config(Context& ctx) {
  if (!ctx.args().empty()) bad_usage("ssh-config", "ssh-config: no arguments expected");
  if (ctx.state().empty())
    throw Fatal("lab " + ctx.lab().name + " is not up (" + ctx.suggest("up") + ")");
  std::fputs(ssh_config(ctx.lab(), ctx.state(), fs::canonical("/proc/self/exe").string(),
                        fs::absolute(ctx.lab_file()).string())
                 .c_str(),
             stdout);
  return 0;
}

int cmd_proxy(Context& ctx) {
  const auto& a = ctx.args();
  if (a.size() != 2 || a[1].empty() || a[1].find_first_not_of("0123456789") != std::string::npos)
    bad_usage("proxy", "proxy: expected HOST PORT");
  if (auto e = enter_lab_namespace(ctx.state()); !e) return infrastructure_failure(ctx, e.error().message);
  return proxy_stdio(a[0], std::stoi(a[1]));
}

}  // namespace dcslab
