// dcslab: brings up the three-node etcd lab and drives it.
//
//   dcslab [--lab FILE] [-v] COMMAND ...
//
// Exit status: 0 success; 1 a command on a node failed (exec returns the node's own
// status); 2 bad input (lab file, arguments); 3 infrastructure failure (the lab could not
// come up, libvirtd unreachable, image missing).
#include <signal.h>
#include "base/paths.h"
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <set>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/error.h"
#include "control/exec_mux.h"
#include "control/fault_ops.h"
#include "lab/image.h"
#include "lab/lab.h"
#include "control/lab_ops.h"
#include "cli/pki_command.h"
#include "base/process.h"
#include "cli/run_command.h"
#include "cli/snapshot_command.h"
#include "control/ssh_lab_control.h"
#include "ssh/ssh_transport.h"
#include "lab/state.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace dcslab;

namespace {

constexpr const char* kUsage = R"(usage: dcslab [--lab FILE] [-v] COMMAND [ARGS]

Lab commands:
  up [--isolated] [--timeout S]   create and boot the lab's nodes, wait for SSH
  run [OPTIONS] SCENARIO|DIR...   run scenarios (dcslab run --help)
  status                          each node's state
  exec NODE [--user U] -- CMD...  run CMD on NODE; exits with CMD's status
  ssh NODE [--user U] [-- CMD]    interactive SSH (the system ssh client)
  ssh-config                      OpenSSH Host blocks for every node
  down                            remove everything the lab created
  proxy HOST PORT                 stdin/stdout to HOST:PORT inside the lab's namespace
                                  (the ProxyCommand of ssh-config)
Faults (dcslab fault --help):
  fault NODE crash|start|pause|resume|partition|heal
  fault NODE kill UNIT            SIGKILL to a unit's main process, in the guest
Snapshots (libvirt: memory state, all nodes consistent):
  snapshot save NAME | revert NAME | list | delete NAME
PKI (the lab's own CA, as the lab document makes it):
  pki init                        the CA in the lab's state folder
  pki issue NODE...               node certificates with the document's SANs
  pki show FILE                   subject, issuer, SANs, validity, SHA-256 fingerprint
Images:
  image build [--suite S] [--force]   build (or find cached) the node image
  image list                          built images

Options:
  --lab FILE      lab file (default: fixtures/labs/dcs.yaml)
  --name NAME     this lab's name instead of the lab file's: several labs from one file
                  (run --parallel names its labs <name>-1, <name>-2, ...)
  --provider P    override the lab file's provider (libvirt, nspawn)
  --suite S       override the lab file's Debian suite
  --isolated      a lab brought up by this command gets its own network namespace
                  (as DCSLAB_ISOLATED=1; what tests and CI use)
  -v, --verbose   debug logging

Exit status: 0 ok, 1 a command on a node failed, 2 bad input, 3 infrastructure failure.
)";

// The default lab file: ./fixtures/labs/dcs.yaml in a checkout, else the source tree's.
fs::path default_lab_file() {
  const fs::path rel = "fixtures/labs/dcs.yaml";
  if (fs::exists(rel)) return rel;
  return data_dir() / rel;
}

fs::path recipe_dir() {
  if (const char* d = std::getenv("DCSLAB_RECIPE_DIR"); d && *d) return d;
  if (fs::exists("images/build-rootfs")) return "images";
  return data_dir() / "images";
}

[[noreturn]] void bad_usage(const std::string& message) {
  throw BadInput(message + " (see dcslab --help)");
}

// Fails with exit status 3, saying what went wrong.
int infrastructure_failure(const Failure& f) {
  spdlog::error("{}", f.message);
  return 3;
}

void on_sigint(int) {
  // A second Ctrl-C ends the process at once.
  if (g_interrupted.exchange(true)) _exit(130);
}

struct Global {
  fs::path lab_file;
  std::string provider;
  std::string suite;
  std::string name;           // --name: the lab's name instead of the lab file's
  bool verbose = false;
  bool isolated = false;      // --isolated before the command, or DCSLAB_ISOLATED=1
  bool lab_explicit = false;  // --lab given (else scenarios name their own lab)
  std::string command;
  std::vector<std::string> args;
};

Global parse_global(int argc, char** argv) {
  Global g;
  // The global options end at the command; everything after it is the command's, verbatim
  // (so "exec NODE -- CMD -f" reaches exec untouched).
  std::vector<std::string> globals;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.empty() || a[0] != '-') break;
    globals.push_back(a);
    const bool takes_value = a == "--lab" || a == "--provider" || a == "--suite" || a == "--name";
    if (takes_value && i + 1 < argc) globals.push_back(argv[++i]);
  }
  if (i < argc) g.command = argv[i++];
  for (; i < argc; ++i) g.args.emplace_back(argv[i]);

  std::string lab;
  po::options_description opts;
  opts.add_options()("lab", po::value<std::string>(&lab))("provider", po::value(&g.provider))(
      "suite", po::value(&g.suite))("name", po::value(&g.name))(
      "verbose,v", po::bool_switch(&g.verbose))(
      "isolated", po::bool_switch(&g.isolated))("help,h", "")("version", "");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(globals).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    bad_usage(e.what());
  }
  if (vm.count("help") || g.command == "help") {
    std::fputs(kUsage, stdout);
    std::exit(0);
  }
  if (vm.count("version")) {
    std::printf("dcslab %s\n", version().c_str());
    std::exit(0);
  }
  if (!g.provider.empty() && g.provider != "libvirt" && g.provider != "nspawn" &&
      g.provider != "virtualbox")
    bad_usage("--provider: unknown provider \"" + g.provider + "\" (libvirt, nspawn, virtualbox)");
  if (!g.name.empty() && !valid_lab_name(g.name))
    bad_usage("--name: \"" + g.name + "\" must be lower-case letters, digits and '-', at most 32");
  if (const char* e = std::getenv("DCSLAB_ISOLATED"); e && std::string(e) == "1") g.isolated = true;
  g.lab_explicit = !lab.empty();
  g.lab_file = lab.empty() ? default_lab_file() : fs::path(lab);
  return g;
}

// Parses a command's own options; returns positionals, and stops at "--".
std::vector<std::string> parse_command(const std::string& command, std::vector<std::string> args,
                                       po::options_description& opts,
                                       std::vector<std::string>* after_dashes = nullptr) {
  std::vector<std::string> before;
  auto dd = std::find(args.begin(), args.end(), "--");
  if (dd != args.end()) {
    if (!after_dashes) bad_usage(command + ": unexpected \"--\"");
    after_dashes->assign(dd + 1, args.end());
    args.erase(dd, args.end());
  }
  po::options_description all;
  all.add(opts).add_options()("pos", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("pos", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    bad_usage(command + ": " + e.what());
  }
  if (vm.count("pos")) before = vm["pos"].as<std::vector<std::string>>();
  return before;
}

Lab load(const Global& g) {
  Lab lab = load_lab(g.lab_file);
  if (!g.provider.empty()) lab.provider.type = g.provider;
  if (!g.suite.empty()) lab.image.suite = g.suite;
  if (!g.name.empty()) lab.name = g.name;
  return lab;
}

int cmd_image(const Global& g) {
  if (g.args.empty()) bad_usage("image: expected build or list");
  const std::string sub = g.args[0];
  std::vector<std::string> rest(g.args.begin() + 1, g.args.end());
  if (sub == "build") {
    ImageBuildOptions o;
    std::string suite;
    po::options_description opts;
    opts.add_options()("suite", po::value(&suite))("force", po::bool_switch(&o.force));
    if (!parse_command("image build", rest, opts).empty()) bad_usage("image build: no arguments");
    // The suite: image build's --suite, else the global --suite, else the lab file's.
    o.suite = !suite.empty() ? suite : load(g).image.suite;
    static const std::set<std::string> suites = {"bullseye", "bookworm", "trixie", "forky"};
    if (!suites.count(o.suite))
      bad_usage("image build: unknown suite \"" + o.suite + "\" (bullseye, bookworm, trixie, forky)");
    o.recipe_dir = recipe_dir();
    o.home = dcslab_home();
    ConsoleProgress progress;
    const Image image = build_image(o, progress);
    std::printf("%s\n", image.dir.c_str());
    return 0;
  }
  if (sub == "list") {
    for (const auto& i : list_images(dcslab_home()))
      std::printf("%-10s %s  etcd %s  %s\n", i.suite.c_str(), i.hash.c_str(),
                  i.etcd_version.c_str(), i.dir.c_str());
    return 0;
  }
  bad_usage("image: unknown subcommand \"" + sub + "\" (build, list)");
}

// This binary with the global options every lab of `run --parallel` gets (not --lab,
// which run forwards, nor --name and --isolated, which each lab gets its own of).
std::vector<std::string> self_argv(const Global& g) {
  std::vector<std::string> self{fs::canonical("/proc/self/exe").string()};
  if (!g.provider.empty()) self.insert(self.end(), {"--provider", g.provider});
  if (!g.suite.empty()) self.insert(self.end(), {"--suite", g.suite});
  if (g.verbose) self.emplace_back("-v");
  return self;
}

Expected<std::unique_ptr<Transport>> ssh_connect(const SshTarget& t) {
  auto c = SshTransport::connect(t);
  if (!c) return c.error();
  return std::unique_ptr<Transport>(std::move(*c));
}

int run(int argc, char** argv) {
  // The exec multiplexer's daemon (exec_mux.h), started by `dcslab exec`: not a user
  // command, so not in the usage text.
  if (argc == 4 && std::string(argv[1]) == "exec-mux") {
    return mux_daemon(argv[2], std::chrono::milliseconds(std::atoll(argv[3])), ssh_connect);
  }
  Global g = parse_global(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("dcslab"));
  spdlog::set_pattern(g.verbose ? "%H:%M:%S.%e %^%l%$ %v" : "%^%v%$");
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::info);
  if (g.command.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (g.command == "image") return cmd_image(g);
  if (g.command == "run") {
    std::vector<std::string> args = g.args;
    if (!g.lab_file.empty() && g.lab_explicit) args.insert(args.begin(), {"--lab", g.lab_file.string()});
    // run applies --name and --suite itself, before a matrix's cells apply theirs.
    if (!g.name.empty()) args.insert(args.begin(), {"--name", g.name});
    if (!g.suite.empty()) args.insert(args.begin(), {"--suite", g.suite});
    UpOptions up;
    up.isolated = g.isolated;
    return run_command(args, [&](const Lab& run_lab) -> std::unique_ptr<LabControl> {
      Lab lab = run_lab;
      if (!g.provider.empty()) lab.provider.type = g.provider;
      else use_recorded_provider(lab, LabState(dcslab_home(), lab.name));
      return std::make_unique<SshLabControl>(lab, up);
    }, self_argv(g));
  }

  // Every other command acts on a lab: load and check it before anything is created.
  Lab lab = load(g);
  LabState state(dcslab_home(), lab.name);
  // A lab that is up keeps the provider it was brought up with (`up --provider nspawn`,
  // then a plain `down`), unless --provider says otherwise.
  if (g.provider.empty()) use_recorded_provider(lab, state);
  ConsoleProgress progress;

  if (g.command == "pki") return cmd_pki(lab, state, g.args);
  if (g.command == "snapshot") return cmd_snapshot(lab, state, g.args);
  if (g.command == "fault") return cmd_fault(lab, state, g.args);
  if (g.command == "up") {
    UpOptions o;
    int timeout = 240;
    po::options_description opts;
    opts.add_options()("isolated", po::bool_switch(&o.isolated))("timeout", po::value(&timeout));
    if (!parse_command("up", g.args, opts).empty()) bad_usage("up: no arguments expected");
    o.ssh_timeout = std::chrono::seconds(timeout);
    o.isolated = o.isolated || g.isolated;
    auto r = lab_up(lab, state, o, progress);
    if (!r) return infrastructure_failure(r.error());
    return 0;
  }
  if (g.command == "down") {
    auto r = lab_down(lab, state, progress);
    if (!r) return infrastructure_failure(r.error());
    return 0;
  }
  if (g.command == "status") {
    auto r = lab_status(lab, state);
    if (!r) return infrastructure_failure(r.error());
    for (const auto& s : *r)
      std::printf("%-12s %-12s %s\n", s.node.c_str(), s.state.c_str(), s.detail.c_str());
    return 0;
  }
  if (g.command == "exec" || g.command == "ssh") {
    std::string user = "tux";
    po::options_description opts;
    opts.add_options()("user,u", po::value(&user));
    std::vector<std::string> cmd;
    auto pos = parse_command(g.command, g.args, opts, &cmd);
    if (pos.size() != 1) bad_usage(g.command + ": expected exactly one NODE");
    if (g.command == "exec" && cmd.empty()) bad_usage("exec: expected -- COMMAND after NODE");
    if (!lab.find_node(pos[0])) {
      std::string names;
      for (const auto& n : lab.node_names()) names += (names.empty() ? "" : ", ") + n;
      bad_usage(g.command + ": unknown node \"" + pos[0] + "\" (nodes: " + names + ")");
    }
    if (state.empty()) {
      spdlog::error("lab {} is not up (dcslab up)", lab.name);
      return 3;
    }
    if (auto e = enter_lab_namespace(state); !e) return infrastructure_failure(e.error());
    if (g.command == "ssh") {
      auto argv_ = ssh_client_argv(lab, state, pos[0], user);
      argv_.insert(argv_.end(), cmd.begin(), cmd.end());
      std::vector<char*> c;
      for (auto& a : argv_) c.push_back(a.data());
      c.push_back(nullptr);
      ::execvp("ssh", c.data());
      spdlog::error("cannot run ssh: {}", std::strerror(errno));
      return 3;
    }
    const std::string command = cmd.size() == 1 ? cmd[0] : join_argv(cmd);
    const auto timeout = std::chrono::hours(24);
    auto finish = [](const Expected<CommandResult>& r) {
      if (!r) {
        if (g_interrupted) {
          spdlog::error("{}", r.error().message);
          return 130;
        }
        return infrastructure_failure(r.error());
      }
      std::fwrite(r->out.data(), 1, r->out.size(), stdout);
      std::fwrite(r->err.data(), 1, r->err.size(), stderr);
      return r->exit_status < 0 ? 255 : r->exit_status;
    };
    // The lab's exec multiplexer runs the command on a session it keeps open; without
    // one, this exec connects itself and leaves one for the next (exec_mux.h).
    const auto persist = mux_persist_from_env();
    if (persist.count() > 0) {
      auto target = node_target(lab, state, pos[0], user);
      if (!target) return infrastructure_failure(target.error());
      if (auto r = mux_exec(state.dir(), *target, command, timeout, g_interrupted)) {
        return finish(*r);
      }
      mux_spawn(state.dir(), persist, ssh_connect,
                {fs::canonical("/proc/self/exe").string(), "exec-mux", state.dir().string(),
                 std::to_string(persist.count())});
    }
    auto t = connect_node(lab, state, pos[0], user);
    if (!t) return infrastructure_failure(t.error());
    ExecOptions eo;
    eo.timeout = timeout;
    eo.cancelled = [] { return g_interrupted.load(); };
    return finish((*t)->exec(command, eo));
  }
  if (g.command == "ssh-config") {
    if (state.empty()) {
      spdlog::error("lab {} is not up (dcslab up)", lab.name);
      return 3;
    }
    std::fputs(ssh_config(lab, state, fs::canonical("/proc/self/exe").string(),
                          fs::absolute(g.lab_file).string())
                   .c_str(),
               stdout);
    return 0;
  }
  if (g.command == "proxy") {
    if (g.args.size() != 2) bad_usage("proxy: expected HOST PORT");
    if (auto e = enter_lab_namespace(state); !e) return infrastructure_failure(e.error());
    return proxy_stdio(g.args[0], std::stoi(g.args[1]));
  }
  bad_usage("unknown command \"" + g.command + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  // Phase 0: Ctrl-C stops waits cleanly; a second one exits at once.
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  try {
    return run(argc, argv);
  } catch (const BadInput& e) {
    std::fprintf(stderr, "dcslab: %s\n", e.what());
    return 2;
  } catch (const Fatal& e) {
    std::fprintf(stderr, "dcslab: %s\n", e.what());
    return 3;
  }
}
