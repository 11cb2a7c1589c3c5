#include "providers/nspawn/nspawn_provider.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/fd.h"
#include "base/file.h"
#include "base/process.h"
#include "base/text.h"

extern char** environ;

namespace dcslab {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC

// 32-bit FNV-1a, not base's stable_hash: the bridge and machine names of labs already
// up derive from it, and a later up or start of such a lab must arrive at the same names.
uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

std::string nspawn_bridge_name(const std::string& lab_name) {
  std::string direct = "dcsn-" + lab_name;
  if (direct.size() <= 15) return direct;  // IFNAMSIZ - 1
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", fnv1a(lab_name));
  return "dcsn-" + lab_name.substr(0, 3) + "-" + std::string(hex, 6);
}

std::string nspawn_machine_name(const std::string& lab_name, const std::string& node) {
  std::string direct = "dcslab-" + lab_name + "-" + node;
  if (direct.size() <= 64) return direct;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", fnv1a(lab_name));
  return ("dcslab-" + std::string(hex) + "-" + node).substr(0, 64);
}

std::string nspawn_cgroup_name(const std::string& lab_name, const std::string& node) {
  return "dcslab-" + lab_name + "-" + node;
}

HostCgroups probe_host_cgroups() {
  HostCgroups h;
  struct statfs sfs {};
  h.root_is_cgroup2 = ::statfs(kCgroupRoot, &sfs) == 0 && sfs.f_type == kCgroup2Magic;
  struct stat st {};
  h.systemd_booted = ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
  return h;
}

bool nspawn_needs_private_cgroup2(const HostCgroups& host) {
  // With systemd as PID 1 the hierarchy is one nspawn understands (unified or systemd's
  // own hybrid); a unified root is fine with or without systemd. What fails is a v1
  // layout nobody manages for systemd (measured on the CI hosts).
  return !host.root_is_cgroup2 && !host.systemd_booted;
}

std::string describe(const LaunchStep& s) {
  switch (s.kind) {
    case LaunchStep::Kind::PrivateMounts:
      return "unshare --mount --propagation private";
    case LaunchStep::Kind::Detach:
      return "umount -l " + s.target;
    case LaunchStep::Kind::Mount:
      return "mount -t " + s.fstype + " " + s.source + " " + s.target +
             (s.options.empty() ? "" : " -o " + s.options);
    case LaunchStep::Kind::JoinCgroup:
      return "join cgroup " + s.target;
    case LaunchStep::Kind::KillCgroup:
      return "kill cgroup " + s.target;
  }
  return "?";
}

MachineSpec nspawn_machine_spec(const Lab& lab, const LabState& state, const Node& node,
                                const fs::path& lower, const fs::path& identity,
                                bool private_cgroup2) {
  const fs::path dir = state.node_dir(node.name);
  MachineSpec s;
  s.node = node.name;
  s.machine = nspawn_machine_name(lab.name, node.name);
  s.lower = lower;
  s.upper = dir / "upper";
  s.work = dir / "work";
  s.root = dir / "root";
  s.identity = identity;
  s.console_log = dir / "console.log";
  s.bridge = nspawn_bridge_name(lab.name);
  s.private_cgroup2 = private_cgroup2;
  // Without systemd nobody gives each machine a cgroup: nspawn would put every
  // container's payload into the same /payload group of the shared root. Its own group
  // keeps machines apart and is the handle for kill (cgroup.kill) and pause (cgroup.freeze).
  if (private_cgroup2) s.cgroup = nspawn_cgroup_name(lab.name, node.name);
  return s;
}

std::vector<std::string> nspawn_argv(const MachineSpec& s) {
  return {
      "systemd-nspawn",
      "--directory=" + s.root.string(),
      "--boot",
      "--register=no",     // no machined on the CI hosts; the ledger tracks the machine
      "--keep-unit",       // stay in the cgroup we put ourselves in; no systemd scope
      "--link-journal=no",
      "--machine=" + (s.machine.empty() ? s.node : s.machine),
      "--hostname=" + s.node,
      "--network-bridge=" + s.bridge,  // inside: host0 (see nic_match)
      "--bind-ro=" + s.identity.string() + ":/run/dcslab/identity.tar",
      // nspawn's default (auto) bind-mounts the host's /etc/localtime read-only over the
      // image's regular file, so tzdata's postinst (pulled in by Patroni's dependencies)
      // fails "Device or resource busy"; a machine keeps its own clock zone, as a VM does.
      "--timezone=off",
      // The console's output is copied to our stdout, which is the console log; input is
      // never read, so the machine runs detached with stdin on /dev/null.
      "--console=read-only",
  };
}

LaunchPlan nspawn_launch_plan(const MachineSpec& s) {
  for (const auto* p : {&s.lower, &s.upper, &s.work, &s.root, &s.identity})
    if (p->string().find_first_of(",:") != std::string::npos)
      throw BadInput("nspawn provider: path " + p->string() +
                     " contains ',' or ':', which overlayfs options and nspawn's --bind-ro "
                     "cannot carry; set DCSLAB_HOME to a path without them");
  LaunchPlan plan;
  plan.steps.push_back({LaunchStep::Kind::PrivateMounts, "", "", "", ""});
  if (s.private_cgroup2) {
    plan.steps.push_back({LaunchStep::Kind::Detach, kCgroupRoot, "", "", ""});
    plan.steps.push_back({LaunchStep::Kind::Mount, kCgroupRoot, "none", "cgroup2", ""});
  }
  if (!s.cgroup.empty())
    plan.steps.push_back(
        {LaunchStep::Kind::JoinCgroup, std::string(kCgroupRoot) + "/" + s.cgroup, "", "", ""});
  plan.steps.push_back({LaunchStep::Kind::Mount, s.root.string(), "overlay", "overlay",
                        "lowerdir=" + s.lower.string() + ",upperdir=" + s.upper.string() +
                            ",workdir=" + s.work.string()});
  plan.argv = nspawn_argv(s);
  plan.output = s.console_log;
  return plan;
}

LaunchPlan cgroup_cleanup_plan(const std::string& cgroup, bool private_cgroup2) {
  LaunchPlan plan;
  plan.steps.push_back({LaunchStep::Kind::PrivateMounts, "", "", "", ""});
  if (private_cgroup2) {
    plan.steps.push_back({LaunchStep::Kind::Detach, kCgroupRoot, "", "", ""});
    plan.steps.push_back({LaunchStep::Kind::Mount, kCgroupRoot, "none", "cgroup2", ""});
  }
  const std::string group = std::string(kCgroupRoot) + "/" + cgroup;
  plan.steps.push_back({LaunchStep::Kind::KillCgroup, group, "", "", ""});
  // Children first (the container's systemd may have left empty slices); matching from
  // the root makes an already-removed group a success, not an error.
  plan.argv = {"find", kCgroupRoot, "-mindepth", "1", "-depth", "-type", "d",
               "(", "-path", group, "-o", "-path", group + "/*", ")", "-delete"};
  return plan;
}

std::string MachineRecord::format() const {
  std::string s = "pid=" + std::to_string(pid) + " start=" + std::to_string(start_ticks);
  if (!cgroup.empty()) s += " cgroup=" + cgroup;
  return s;
}

std::optional<MachineRecord> MachineRecord::parse(const std::string& data) {
  MachineRecord r;
  std::istringstream in(data);
  std::string word;
  bool have_pid = false, have_start = false;
  while (in >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    try {
      if (key == "pid") r.pid = static_cast<pid_t>(std::stol(value)), have_pid = true;
      else if (key == "start") r.start_ticks = std::stoull(value), have_start = true;
      else if (key == "cgroup") r.cgroup = value;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!have_pid || !have_start || r.pid <= 0) return std::nullopt;
  return r;
}

// ---------------------------------------------------------------------------------------
// The real host.

namespace {

std::optional<unsigned long long> start_ticks_of(pid_t pid) {
  auto id = process_id(pid);
  if (!id) return std::nullopt;
  return id->start_ticks;
}

std::vector<pid_t> descendants(pid_t root) { return process_descendants(root); }

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  std::string path = env && *env ? env : "/usr/sbin:/usr/bin:/sbin:/bin";
  path += ":/usr/sbin:/sbin";  // ip and friends, when PATH is a user's
  std::istringstream in(path);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A plan turned into C strings before fork, so the child only makes system calls.
struct PreparedPlan {
  struct Step {
    LaunchStep::Kind kind;
    std::string target, source, fstype, options, procs;
  };
  std::vector<Step> steps;
  std::string exe;
  std::vector<std::string> args;
  std::vector<char*> argv;
  std::string output;
};

Expected<std::unique_ptr<PreparedPlan>> prepare(const LaunchPlan& plan) {
  auto p = std::make_unique<PreparedPlan>();
  for (const auto& s : plan.steps)
    p->steps.push_back({s.kind, s.target, s.source, s.fstype, s.options,
                        s.target + (s.kind == LaunchStep::Kind::KillCgroup ? "/cgroup.kill" : "/cgroup.procs")});
  if (plan.argv.empty()) return Failure::error("empty argv");
  p->exe = find_in_path(plan.argv[0]);
  if (p->exe.empty())
    return Failure::not_found(plan.argv[0] + " not found in PATH (install systemd-container)");
  p->args = plan.argv;
  for (auto& a : p->args) p->argv.push_back(a.data());
  p->argv.push_back(nullptr);
  p->output = plan.output.empty() ? "/dev/null" : plan.output.string();
  return p;
}

// What a failed child reports: the index of the step (steps.size() = opening the output,
// steps.size() + 1 = exec) and errno.
struct ChildError {
  int32_t step;
  int32_t err;
};

[[noreturn]] void child_fail(int status_fd, size_t step, int err) {
  ChildError e{static_cast<int32_t>(step), err};
  [[maybe_unused]] ssize_t n = ::write(status_fd, &e, sizeof e);
  ::_exit(127);
}

// Runs in the forked child: system calls only (the parent may have threads).
[[noreturn]] void child_exec(const PreparedPlan& p, int status_fd, int output_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const auto& s = p.steps[i];
    switch (s.kind) {
      case LaunchStep::Kind::PrivateMounts:
        if (::unshare(CLONE_NEWNS) != 0) child_fail(status_fd, i, errno);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
          child_fail(status_fd, i, errno);
        break;
      case LaunchStep::Kind::Detach:
        // `ip netns exec` mounts a fresh /sys, where nothing is on /sys/fs/cgroup.
        if (::umount2(s.target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
          child_fail(status_fd, i, errno);
        break;
      case LaunchStep::Kind::Mount:
        if (::mount(s.source.c_str(), s.target.c_str(), s.fstype.c_str(), 0,
                    s.options.empty() ? nullptr : s.options.c_str()) != 0)
          child_fail(status_fd, i, errno);
        break;
      case LaunchStep::Kind::JoinCgroup: {
        if (::mkdir(s.target.c_str(), 0755) != 0 && errno != EEXIST) child_fail(status_fd, i, errno);
        const int fd = ::open(s.procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) child_fail(status_fd, i, errno);
        if (::write(fd, "0", 1) != 1) child_fail(status_fd, i, errno);  // "0" = the writer
        ::close(fd);
        break;
      }
      case LaunchStep::Kind::KillCgroup: {
        const int fd = ::open(s.procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) child_fail(status_fd, i, errno);
        if (fd >= 0 && ::write(fd, "1", 1) != 1) child_fail(status_fd, i, errno);
        if (fd >= 0) ::close(fd);
        break;
      }
    }
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (output_fd < 0) output_fd = ::open(p.output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (null_fd < 0 || output_fd < 0) child_fail(status_fd, p.steps.size(), errno);
  if (::dup2(null_fd, 0) < 0 || ::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0)
    child_fail(status_fd, p.steps.size(), errno);
  ::execve(p.exe.c_str(), p.argv.data(), environ);
  child_fail(status_fd, p.steps.size() + 1, errno);
}

std::string child_error_message(const LaunchPlan& plan, const ChildError& e) {
  std::string what;
  if (e.step >= 0 && static_cast<size_t>(e.step) < plan.steps.size()) what = describe(plan.steps[e.step]);
  else if (static_cast<size_t>(e.step) == plan.steps.size()) what = "opening " + plan.output.string();
  else what = "exec " + join_argv(plan.argv);
  return what + ": " + std::strerror(e.err);
}

ssize_t read_full(int fd, void* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    const ssize_t n = ::read(fd, static_cast<char*>(buf) + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

Expected<std::pair<Fd, Fd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Failure::error(std::string("pipe: ") + std::strerror(errno));
  return std::pair<Fd, Fd>{Fd(p[0]), Fd(p[1])};
}

fs::path machine_cgroup_dir(const MachineRecord& m, const std::string& cgroup) {
  // The machine's nspawn process sees the cgroup2 mount of its own mount namespace; we
  // reach it through /proc/PID/root without entering that namespace.
  return fs::path("/proc") / std::to_string(m.pid) / "root/sys/fs/cgroup" / cgroup;
}

class RealNspawnHost : public NspawnHost {
 public:
  explicit RealNspawnHost(Clock& clock) : clock_(clock) {}

  HostCgroups cgroups() override { return probe_host_cgroups(); }

  bool link_exists(const std::string& name) override { return ::if_nametoindex(name.c_str()) != 0; }

  Expected<void> create_bridge(const std::string& name, const std::string& address) override {
    if (!link_exists(name)) {
      auto r = run_checked({"ip", "link", "add", "name", name, "type", "bridge"});
      if (!r) return r.error();
    }
    // replace, not add: a re-run of `up` finds the address already there.
    if (auto r = run_checked({"ip", "addr", "replace", address, "dev", name}); !r) return r.error();
    if (auto r = run_checked({"ip", "link", "set", name, "up"}); !r) return r.error();
    return {};
  }

  Expected<void> delete_link(const std::string& name) override {
    if (!link_exists(name)) return {};
    auto r = run_checked({"ip", "link", "del", name});
    if (!r && link_exists(name)) return r.error();
    return {};
  }

  Expected<void> make_dirs(const std::vector<fs::path>& dirs) override {
    for (const auto& d : dirs) {
      std::error_code ec;
      fs::create_directories(d, ec);
      if (ec) return Failure::error("cannot create " + d.string() + ": " + ec.message());
    }
    return {};
  }

  Expected<void> remove_dirs(const std::vector<fs::path>& dirs) override {
    for (const auto& d : dirs) {
      struct stat st {}, parent {};
      if (::lstat(d.c_str(), &st) != 0) continue;  // already gone
      // Never recurse into a live mount: that would delete through into the lower layer.
      if (::lstat(d.parent_path().c_str(), &parent) == 0 && parent.st_dev != st.st_dev)
        return Failure::error(d.string() + " is still a mount point in this namespace; not removing it");
      std::error_code ec;
      fs::remove_all(d, ec);
      if (ec) return Failure::error("cannot remove " + d.string() + ": " + ec.message());
    }
    return {};
  }

  Expected<MachineRecord> launch_detached(
      const LaunchPlan& plan, const std::function<void(const MachineRecord&)>& commit) override {
    auto prepared = prepare(plan);
    if (!prepared) return prepared.error();
    const PreparedPlan& p = **prepared;
    auto status = make_pipe();
    if (!status) return status.error();
    auto go = make_pipe();
    if (!go) return go.error();
    auto& [status_r, status_w] = *status;
    auto& [go_r, go_w] = *go;

    const pid_t first = ::fork();
    if (first < 0) return Failure::error(std::string("fork: ") + std::strerror(errno));
    if (first == 0) {
      // Double fork + setsid: the machine is nobody's child here and has no terminal, so
      // `dcslab up` can exit and a Ctrl-C in its terminal does not reach the machine.
      ::close(status_r.get());
      ::close(go_w.get());
      ::setsid();
      const pid_t second = ::fork();
      if (second != 0) ::_exit(second < 0 ? 1 : 0);
      const pid_t me = ::getpid();
      if (::write(status_w.get(), &me, sizeof me) != sizeof me) ::_exit(1);
      // Wait for the ledger: EOF (the parent died or refused) means do nothing at all.
      char c = 0;
      if (read_full(go_r.get(), &c, 1) != 1 || c != 'g') ::_exit(1);
      ::close(go_r.get());
      child_exec(p, status_w.get(), -1);
    }
    status_w.reset();
    go_r.reset();
    int wstatus = 0;
    while (::waitpid(first, &wstatus, 0) < 0 && errno == EINTR) {
    }
    pid_t pid = 0;
    if (read_full(status_r.get(), &pid, sizeof pid) != sizeof pid || pid <= 0)
      return Failure::error("could not start " + join_argv(plan.argv) + " (fork failed)");
    MachineRecord rec;
    rec.pid = pid;
    auto ticks = start_ticks_of(pid);
    if (!ticks) return Failure::error("started process " + std::to_string(pid) + " vanished");
    rec.start_ticks = *ticks;
    commit(rec);  // if this throws, go_w closes and the child exits without starting
    if (::write(go_w.get(), "g", 1) != 1)
      return Failure::error("could not release the machine process " + std::to_string(pid));
    go_w.reset();
    ChildError e{};
    const ssize_t n = read_full(status_r.get(), &e, sizeof e);
    if (n == sizeof e) return Failure::error("starting the machine: " + child_error_message(plan, e));
    return rec;
  }

  Expected<void> run(const LaunchPlan& plan) override {
    auto prepared = prepare(plan);
    if (!prepared) return prepared.error();
    auto status = make_pipe();
    if (!status) return status.error();
    auto out = make_pipe();
    if (!out) return out.error();
    const pid_t pid = ::fork();
    if (pid < 0) return Failure::error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::close(status->first.get());
      ::close(out->first.get());
      child_exec(**prepared, status->second.get(), out->second.get());
    }
    status->second.reset();
    out->second.reset();
    std::string output;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(out->first.get(), buf, sizeof buf);
      if (n > 0) output.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) break;
    }
    ChildError e{};
    const bool failed_step = read_full(status->first.get(), &e, sizeof e) == sizeof e;
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (failed_step) return Failure::error(child_error_message(plan, e));
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
      return Failure::error(join_argv(plan.argv) + " failed: " + rtrim(output));
    return {};
  }

  bool alive(const MachineRecord& m) override { return process_alive({m.pid, m.start_ticks}); }

  void terminate(const MachineRecord& m) override {
    if (!alive(m)) return;
    // A frozen nspawn would never act on SIGTERM.
    if (!m.cgroup.empty()) (void)write_file(machine_cgroup_dir(m, m.cgroup) / "cgroup.freeze", "0");
    ::kill(m.pid, SIGTERM);
  }

  void kill(const MachineRecord& m, const std::string& cgroup) override {
    if (!alive(m)) return;
    if (!cgroup.empty()) (void)write_file(machine_cgroup_dir(m, cgroup) / "cgroup.kill", "1");
    // Also by process tree: a container's init outlives a killed nspawn otherwise.
    for (pid_t p : descendants(m.pid)) ::kill(p, SIGKILL);
    ::kill(m.pid, SIGKILL);
  }

  std::string run_state(const MachineRecord& m, const std::string& cgroup) override {
    if (!cgroup.empty()) {
      auto v = read_file(machine_cgroup_dir(m, cgroup) / "cgroup.freeze");
      if (v && trim(*v) == "1") return "paused";
    }
    return "running";
  }

  Expected<void> freeze(const MachineRecord& m, bool frozen) override {
    if (!alive(m)) return Failure::not_found("nspawn pid " + std::to_string(m.pid) + " is not running");
    if (!m.cgroup.empty()) {
      const fs::path dir = machine_cgroup_dir(m, m.cgroup);
      DCSLAB_TRY(write_file(dir / "cgroup.freeze", frozen ? "1" : "0"));
      // The freezer works task by task: done when cgroup.events says so (milliseconds).
      const std::string want = frozen ? "frozen 1" : "frozen 0";
      const fs::path events = dir / "cgroup.events";
      DCSLAB_TRY(poll_until<bool>(clock_, std::chrono::seconds(5), std::chrono::milliseconds(10),
                                  events.string() + " to say \"" + want + "\"",
                                  [&](std::string*) -> std::optional<bool> {
                                    auto text = read_file(events);
                                    if (!text) return std::nullopt;
                                    std::istringstream in(*text);
                                    for (std::string line; std::getline(in, line);)
                                      if (line == want) return true;
                                    return std::nullopt;
                                  }));
      return {};
    }
    // No group of its own (a host where systemd places the machine): by signal, twice,
    // for processes forked while the first pass ran.
    const int sig = frozen ? SIGSTOP : SIGCONT;
    for (int pass = 0; pass < 2; ++pass) {
      ::kill(m.pid, sig);
      for (pid_t p : descendants(m.pid)) ::kill(p, sig);
    }
    return {};
  }

  Expected<std::string> host_link(const MachineRecord& m) override {
    if (!alive(m)) return Failure::not_found("nspawn pid " + std::to_string(m.pid) + " is not running");
    struct stat self {};
    if (::stat("/proc/self/ns/net", &self) != 0)
      return Failure::error(std::string("cannot read /proc/self/ns/net: ") + std::strerror(errno));
    for (pid_t p : descendants(m.pid)) {
      const std::string ns = "/proc/" + std::to_string(p) + "/ns/net";
      struct stat st {};
      if (::stat(ns.c_str(), &st) != 0 || st.st_ino == self.st_ino) continue;
      // A process of the container: its host0 is "host0@ifN", N the host end's index.
      auto out = run_checked({"nsenter", "--net=" + ns, "ip", "-o", "link", "show", "dev", "host0"});
      if (!out) return out.error();
      const auto at = out->find("host0@if");
      if (at == std::string::npos)
        return Failure::error("no veth peer in `ip link show dev host0` of the container: " + rtrim(*out));
      const unsigned index = static_cast<unsigned>(std::strtoul(out->c_str() + at + 8, nullptr, 10));
      char name[IF_NAMESIZE] = {};
      if (index == 0 || !::if_indextoname(index, name))
        return Failure::not_found("the host end of host0 (interface index " + std::to_string(index) +
                                  ") is not in this network namespace");
      return std::string(name);
    }
    return Failure::not_found("no process of the container in a network namespace of its own under "
                              "nspawn pid " + std::to_string(m.pid) + " (still starting?)");
  }

  Expected<void> set_link_up(const std::string& name, bool up) override {
    DCSLAB_TRY(run_checked({"ip", "link", "set", "dev", name, up ? "up" : "down"}));
    return {};
  }

  MachineTrace trace(const MachineRecord& m) override {
    MachineTrace t;
    if (!alive(m)) return t;
    const std::string own = process_namespace(m.pid, "pid");
    for (pid_t p : descendants(m.pid)) {
      const std::string ns = process_namespace(p, "pid");
      if (ns.empty() || ns == own) continue;
      Fd pin(::open(("/proc/" + std::to_string(p) + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
      // Pinned, then read again: the process could have exited in between.
      if (!pin || process_namespace(p, "pid") != ns) continue;
      t.pid_ns = ns;
      t.pin = std::make_shared<Fd>(std::move(pin));
      break;
    }
    if (auto link = host_link(m)) t.link = *link;
    return t;
  }

  std::vector<Lingering> lingering(const std::string& node, const MachineRecord& m,
                                   const MachineTrace& t) override {
    std::vector<Lingering> out;
    if (alive(m))
      out.push_back({GoneKind::Machine, node + " (nspawn pid " + std::to_string(m.pid) + ")"});
    for (pid_t p : processes_in_namespace("pid", t.pid_ns))
      out.push_back({GoneKind::Process,
                     "pid " + std::to_string(p) + " (" + process_name(p) + ") of " + node});
    if (!t.link.empty() && link_exists(t.link))
      out.push_back({GoneKind::Link, "link " + t.link + " of " + node});
    return out;
  }

 private:
  Clock& clock_;
};

// ---------------------------------------------------------------------------------------
// The provider.

class NspawnProvider : public Provider {
 public:
  NspawnProvider(const Lab& lab, LabState& state, NspawnHost& host, Clock& clock,
                 NspawnTimeouts timeouts, std::unique_ptr<NspawnHost> owned = nullptr)
      : lab_(lab), state_(state), host_(host), clock_(clock), timeouts_(timeouts),
        owned_(std::move(owned)) {}

  std::string kind() const override { return "nspawn"; }
  std::string nic_match(const Node&) const override { return "Name=host0"; }

  fs::path console_log(const std::string& node) const override {
    return state_.node_dir(node) / "console.log";
  }

  Expected<void> up(const UpRequest& request, Progress& progress) override {
    if (!request.image) return Failure::error("nspawn provider: no image given");
    const fs::path lower = request.image->rootfs;
    if (!fs::is_directory(lower))
      return Failure::not_found("image rootfs " + lower.string() +
                                " is missing; build it with `dcslab image build`");
    const bool private_cg2 = nspawn_needs_private_cgroup2(host_.cgroups());

    const std::string bridge = nspawn_bridge_name(lab_.name);
    const std::string address = lab_.network.host.str() + "/" + std::to_string(lab_.network.cidr.prefix);
    progress.phase("bridge " + bridge + " (" + address + ")");
    state_.record({kNspawnBridge, bridge, address});
    DCSLAB_TRY(host_.create_bridge(bridge, address));

    for (const auto& node : lab_.nodes) {
      const auto id = request.identity.find(node.name);
      if (id == request.identity.end())
        return Failure::error("nspawn provider: no identity archive for " + node.name);
      if (auto running = running_machine(node.name)) {
        progress.done(node.name + " already running (nspawn pid " + std::to_string(running->pid) + ")");
        continue;
      }
      // What `start` needs to launch the node again after a crash.
      state_.set(kRootfsFact, lower.string());
      state_.set(kIdentityFact + node.name, id->second.string());
      DCSLAB_TRY(launch(node, lower, id->second, private_cg2, progress));
    }
    return {};
  }

  Expected<void> crash(const std::string& node, Progress& progress) override {
    DCSLAB_TRY(known(node));
    auto rec = running_machine(node);
    if (!rec) return {};  // already down
    progress.phase("crashing " + node + " (SIGKILL to its machine, nspawn pid " +
                   std::to_string(rec->pid) + ")");
    // The host end of its veth goes only when the kernel tears the dead container's
    // network namespace down, asynchronously (seconds on a loaded host); a start before
    // that fails ("Failed to add new veth interfaces: File exists"). Named now, while
    // the container can still say which it is, and removed below.
    auto link = host_.host_link(*rec);
    host_.kill(*rec, rec->cgroup);
    if (auto gone = wait_gone(*rec, timeouts_.after_kill, node + " to die after SIGKILL"); !gone)
      return Failure::error(node + ": nspawn pid " + std::to_string(rec->pid) +
                            " survived SIGKILL: " + gone.error().message);
    if (link && host_.link_exists(*link)) DCSLAB_TRY(host_.delete_link(*link));
    return {};
  }

  Expected<void> start(const std::string& node, Progress& progress) override {
    DCSLAB_TRY(known(node));
    if (running_machine(node)) return {};
    const std::string lower = state_.get(kRootfsFact), identity = state_.get(kIdentityFact + node);
    if (lower.empty() || identity.empty())
      return Failure::refused(node + " was never started in lab " + lab_.name + " (dcslab up)");
    const bool private_cg2 = nspawn_needs_private_cgroup2(host_.cgroups());
    return launch(*lab_.find_node(node), lower, identity, private_cg2, progress);
  }

  Expected<void> pause(const std::string& node, Progress& progress) override {
    auto rec = machine_for_fault(node, "pause");
    if (!rec) return rec.error();
    progress.phase("pausing " + node);
    return host_.freeze(*rec, true);
  }

  Expected<void> resume(const std::string& node, Progress& progress) override {
    auto rec = machine_for_fault(node, "resume");
    if (!rec) return rec.error();
    progress.phase("resuming " + node);
    return host_.freeze(*rec, false);
  }

  Expected<void> partition(const std::string& node, Progress& progress) override {
    return set_link(node, false, progress);
  }
  Expected<void> heal(const std::string& node, Progress& progress) override {
    return set_link(node, true, progress);
  }

  Expected<std::vector<NodeStatus>> status() override {
    std::vector<NodeStatus> out;
    for (const auto& node : lab_.nodes) {
      auto rec = recorded_machine(node.name);
      if (rec && host_.alive(*rec)) {
        out.push_back({node.name, host_.run_state(*rec, rec->cgroup),
                       "nspawn pid " + std::to_string(rec->pid)});
      } else {
        out.push_back({node.name, "missing",
                       rec ? "nspawn pid " + std::to_string(rec->pid) + " has exited" : ""});
      }
    }
    return out;
  }

  Expected<void> down(Progress& progress) override {
    std::vector<Resource> mine;
    for (const auto& r : state_.resources())
      if (r.kind == kNspawnBridge || r.kind == kNspawnLayer || r.kind == kNspawnCgroup ||
          r.kind == kNspawnMachine)
        mine.push_back(r);
    // Every machine is traced while it runs, then gets SIGTERM, so their poweroffs overlap.
    struct Stopping {
      Resource r;
      MachineRecord rec;
      MachineTrace trace;
    };
    std::vector<Stopping> machines;
    for (auto it = mine.rbegin(); it != mine.rend(); ++it)
      if (it->kind == kNspawnMachine)
        if (auto rec = MachineRecord::parse(it->data)) machines.push_back({*it, *rec, host_.trace(*rec)});
    for (const auto& m : machines) host_.terminate(m.rec);

    std::vector<std::string> errors;
    std::set<std::string> stuck_nodes, stuck_cgroups;
    auto stuck = [&](const Stopping& m, const std::string& why) {
      errors.push_back(why);
      stuck_nodes.insert(m.r.name);
      stuck_cgroups.insert(m.rec.cgroup);
    };
    std::vector<const Stopping*> stopped;
    for (const auto& m : machines) {
      progress.phase("stopping " + m.r.name);
      if (auto done = stop(m.rec, m.r.name, progress); !done) stuck(m, done.error().message);
      else stopped.push_back(&m);
    }
    // nspawn has exited; its container's last processes and its veth go a moment later.
    // A machine is forgotten only once the host shows nothing of it.
    if (!stopped.empty()) {
      auto gone = wait_until_gone(clock_, "lab " + lab_.name, timeouts_.gone, progress, [&] {
        std::vector<Lingering> left;
        for (const auto* m : stopped)
          for (auto& l : host_.lingering(m->r.name, m->rec, m->trace)) left.push_back(std::move(l));
        return left;
      });
      for (const auto* m : stopped) {
        if (!gone && !host_.lingering(m->r.name, m->rec, m->trace).empty()) {
          stuck(*m, m->r.name + ": " + gone.error().message);
          continue;
        }
        state_.forget(m->r);
      }
    }
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
      const Resource& r = *it;
      if (r.kind == kNspawnMachine) {
        // Not parsed (no pid to stop): nothing of it can be waited for.
        if (!MachineRecord::parse(r.data)) state_.forget(r);
      } else if (r.kind == kNspawnCgroup) {
        if (stuck_cgroups.count(r.name)) continue;
        if (auto done = remove_cgroup(r); !done) {
          errors.push_back("removing cgroup " + r.name + ": " + done.error().message);
          continue;
        }
        state_.forget(r);
      } else if (r.kind == kNspawnLayer) {
        if (stuck_nodes.count(r.name)) continue;
        const fs::path dir = r.data;
        progress.phase("removing " + r.name + "'s overlay layer");
        if (auto done = host_.remove_dirs({dir / "root", dir / "upper", dir / "work"}); !done) {
          errors.push_back(done.error().message);
          continue;
        }
        state_.forget(r);
      } else if (r.kind == kNspawnBridge) {
        if (!stuck_nodes.empty()) continue;  // a live machine's veth is still on it
        progress.phase("deleting bridge " + r.name);
        if (auto done = host_.delete_link(r.name); !done) {
          errors.push_back(done.error().message);
          continue;
        }
        state_.forget(r);
      }
    }
    if (!errors.empty()) {
      std::string msg = "nspawn down left resources in the ledger:";
      for (const auto& e : errors) msg += "\n  " + e;
      return Failure::error(msg);
    }
    return {};
  }

 private:
  static constexpr const char* kRootfsFact = "nspawn-rootfs";
  static constexpr const char* kIdentityFact = "nspawn-identity:";

  Expected<void> known(const std::string& node) const {
    if (!lab_.find_node(node)) return Failure::not_found("lab " + lab_.name + " has no node " + node);
    return {};
  }

  Expected<MachineRecord> machine_for_fault(const std::string& node, const std::string& what) {
    DCSLAB_TRY(known(node));
    auto rec = running_machine(node);
    if (!rec) return Failure::refused(node + " is not running; only a running node can " + what);
    return *rec;
  }

  Expected<void> set_link(const std::string& node, bool up, Progress& progress) {
    auto rec = machine_for_fault(node, up ? "heal" : "be partitioned");
    if (!rec) return rec.error();
    auto link = host_.host_link(*rec);
    if (!link) return link.error();
    progress.phase(std::string(up ? "healing " : "partitioning ") + node + " (" + *link + " " +
                   (up ? "up" : "down") + ")");
    return host_.set_link_up(*link, up);
  }

  // Starts one node's machine on its overlay layer. A recorded machine whose nspawn is
  // gone may have left its container running in the machine's cgroup (nspawn killed,
  // init orphaned): that is cleared first.
  Expected<void> launch(const Node& node, const fs::path& lower, const fs::path& identity,
                        bool private_cg2, Progress& progress) {
    forget_machine(node.name);
    for (const auto& r : state_.resources())
      if (r.kind == kNspawnCgroup && r.name == nspawn_cgroup_name(lab_.name, node.name))
        DCSLAB_TRY(remove_cgroup(r));

    const MachineSpec spec = nspawn_machine_spec(lab_, state_, node, lower, identity, private_cg2);
    const LaunchPlan plan = nspawn_launch_plan(spec);
    if (!state_.has(kNspawnLayer, node.name))
      state_.record({kNspawnLayer, node.name, state_.node_dir(node.name).string()});
    DCSLAB_TRY(host_.make_dirs({spec.upper, spec.work, spec.root}));
    if (!spec.cgroup.empty() && !state_.has(kNspawnCgroup, spec.cgroup))
      state_.record({kNspawnCgroup, spec.cgroup, private_cg2 ? "private-cgroup2" : "host"});

    progress.phase("starting " + node.name);
    auto started = host_.launch_detached(plan, [&](const MachineRecord& r) {
      MachineRecord rec = r;
      rec.cgroup = spec.cgroup;
      state_.record({kNspawnMachine, node.name, rec.format()});
    });
    if (!started)
      return Failure::error(node.name + ": " + started.error().message + " (console: " +
                            spec.console_log.string() + ")");
    progress.done(node.name + " started (nspawn pid " + std::to_string(started->pid) + ")");
    return {};
  }

  std::optional<MachineRecord> recorded_machine(const std::string& node) const {
    for (const auto& r : state_.resources())
      if (r.kind == kNspawnMachine && r.name == node) return MachineRecord::parse(r.data);
    return std::nullopt;
  }

  std::optional<MachineRecord> running_machine(const std::string& node) {
    auto rec = recorded_machine(node);
    if (rec && host_.alive(*rec)) return rec;
    return std::nullopt;
  }

  void forget_machine(const std::string& node) {
    for (const auto& r : state_.resources())
      if (r.kind == kNspawnMachine && r.name == node) state_.forget(r);
  }

  Expected<void> remove_cgroup(const Resource& r) {
    const LaunchPlan plan = cgroup_cleanup_plan(r.name, r.data == "private-cgroup2");
    auto done = poll_until<bool>(clock_, timeouts_.after_kill, std::chrono::milliseconds(100),
                                 "cgroup " + r.name + " to empty",
                                 [&](std::string* reason) -> std::optional<bool> {
                                   auto ran = host_.run(plan);
                                   if (ran) return true;
                                   *reason = ran.error().message;
                                   return std::nullopt;
                                 });
    if (!done) return done.error();
    return {};
  }

  Expected<void> wait_gone(const MachineRecord& rec, std::chrono::seconds limit, const std::string& what) {
    DCSLAB_TRY(poll_until<bool>(clock_, limit, std::chrono::milliseconds(100), what,
                                [&](std::string*) -> std::optional<bool> {
                                  if (!host_.alive(rec)) return true;
                                  return std::nullopt;
                                }));
    return {};
  }

  Expected<void> stop(const MachineRecord& rec, const std::string& node, Progress& progress) {
    if (!host_.alive(rec)) return {};
    host_.terminate(rec);  // again: harmless, and covers a machine started after the first pass
    if (wait_gone(rec, timeouts_.poweroff, node + " to power off")) return {};
    progress.done(node + " did not power off within " + std::to_string(timeouts_.poweroff.count()) +
                  " s; killing it");
    host_.kill(rec, rec.cgroup);
    if (auto gone = wait_gone(rec, timeouts_.after_kill, node + " to die after SIGKILL"); !gone)
      return Failure::error(node + ": nspawn pid " + std::to_string(rec.pid) +
                            " survived SIGKILL: " + gone.error().message);
    return {};
  }

  const Lab& lab_;
  LabState& state_;
  NspawnHost& host_;
  Clock& clock_;
  NspawnTimeouts timeouts_;
  std::unique_ptr<NspawnHost> owned_;
};

}  // namespace

std::unique_ptr<NspawnHost> make_real_nspawn_host(Clock& clock) {
  return std::make_unique<RealNspawnHost>(clock);
}

std::unique_ptr<Provider> make_nspawn_provider(const Lab& lab, LabState& state) {
  auto host = make_real_nspawn_host(RealClock::instance());
  NspawnHost& ref = *host;
  return std::make_unique<NspawnProvider>(lab, state, ref, RealClock::instance(), NspawnTimeouts{},
                                          std::move(host));
}

std::unique_ptr<Provider> make_nspawn_provider(const Lab& lab, LabState& state, NspawnHost& host,
                                               Clock& clock, NspawnTimeouts timeouts) {
  return std::make_unique<NspawnProvider>(lab, state, host, clock, timeouts);
}

}  // namespace dcslab
