#include "providers/libvirt/private_libvirtd.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "base/process.h"
#include "providers/libvirt/libvirt_handles.h"

namespace dcslab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The folders the daemon gets privately: {name under our dir, path inside the namespace}.
struct Bind {
  const char* ours;
  const char* target;
};
constexpr Bind kBinds[] = {
    {"run", "/run/libvirt"},         {"lib", "/var/lib/libvirt"},
    {"cache", "/var/cache/libvirt"}, {"etc", "/etc/libvirt"},
    {"log", "/var/log/libvirt"},     {"nss/passwd", "/etc/passwd"},
    {"nss/group", "/etc/group"},
};

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"}) {
    const fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Adds the user/group line `name` to a copy of a passwd/group file when missing.
std::string with_entry(const std::string& text, const std::string& name, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(name + ":", 0) == 0) return text;
  std::string out = text;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + line + "\n";
}

Expected<void> prepare_dirs(const fs::path& dir) {
  std::error_code ec;
  // Folders the packages' install scripts would make and the daemon expects (the network
  // driver writes lib/dnsmasq/<bridge>.macs even when it starts no dnsmasq).
  for (const char* sub : {"run", "lib", "lib/dnsmasq", "lib/qemu", "lib/images", "lib/boot",
                          "cache", "etc", "log", "log/qemu", "nss"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) return Failure::error("cannot create " + (dir / sub).string() + ": " + ec.message());
  }
  // The stock configuration first (so site settings still apply), then ours.
  if (fs::is_directory("/etc/libvirt"))
    fs::copy("/etc/libvirt", dir / "etc",
             fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) return Failure::error("cannot copy /etc/libvirt: " + ec.message());
  DCSLAB_TRY(write_file(dir / "etc/qemu.conf",
                        "# Written by dcslab for its private libvirtd: QEMU as root, so libvirt\n"
                        "# does not re-probe QEMU on every start (see private_libvirtd.h).\n"
                        "user = \"root\"\ngroup = \"root\"\n"));
  // The host's autostarted networks and pools are the host's: started here they would
  // bring the host's bridge (virbr0, its dnsmasq) into this namespace.
  for (const char* autostart : {"qemu/networks/autostart", "storage/autostart"})
    fs::remove_all(dir / "etc" / autostart, ec);
  DCSLAB_TRY_ASSIGN(auto passwd, read_file("/etc/passwd"));
  DCSLAB_TRY(write_file(dir / "nss/passwd",
                        with_entry(with_entry(passwd, "libvirt-qemu",
                                              "libvirt-qemu:x:64055:64055:Libvirt Qemu:"
                                              "/var/lib/libvirt:/usr/sbin/nologin"),
                                   "libvirt-dnsmasq",
                                   "libvirt-dnsmasq:x:64056:64056:Libvirt Dnsmasq:"
                                   "/var/lib/libvirt/dnsmasq:/usr/sbin/nologin")));
  DCSLAB_TRY_ASSIGN(auto group, read_file("/etc/group"));
  DCSLAB_TRY(write_file(dir / "nss/group",
                        with_entry(with_entry(group, "libvirt-qemu", "libvirt-qemu:x:64055:"),
                                   "libvirt-dnsmasq", "libvirt-dnsmasq:x:64056:")));
  return {};
}

// QEMU's capabilities, as libvirt probes them (qemu/capabilities/<hash of the binary's
// path>.xml under its cache folder): probing runs QEMU and queries it over QMP, 3-4 s of
// the first domain definition on a fresh daemon, and every private daemon starts fresh.
// A copy kept under $DCSLAB_HOME seeds the next daemon; libvirt still checks each file
// (QEMU's and libvirtd's ctime, kernel version, microcode, host CPU) and probes again
// when it no longer holds.
constexpr const char* kCapsSub = "qemu/capabilities";

void copy_capabilities(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return;
  fs::create_directories(to, ec);
  if (ec) return;
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (e.path().extension() != ".xml" || !e.is_regular_file(ec)) continue;
    const fs::path dest = to / e.path().filename();
    const auto mtime = e.last_write_time(ec);
    std::error_code ec2;
    if (!ec && fs::exists(dest, ec2) && fs::file_size(dest, ec2) == e.file_size(ec) &&
        fs::last_write_time(dest, ec2) == mtime)
      continue;  // already the same file
    // Through a temporary name and a rename: labs starting at once never see half a file.
    const fs::path tmp = to / ("." + e.path().filename().string() + "." + std::to_string(::getpid()));
    fs::copy_file(e.path(), tmp, fs::copy_options::overwrite_existing, ec2);
    if (!ec2) fs::last_write_time(tmp, mtime, ec2);
    if (!ec2) fs::rename(tmp, dest, ec2);
    if (ec2) fs::remove(tmp, ec2);
  }
}

bool answers(const std::string& uri) {
  silence_libvirt_errors();
  virConnectPtr c = virConnectOpen(uri.c_str());
  if (!c) return false;
  virConnectClose(c);
  return true;
}

// A pid from our pidfile that is still that daemon: its mount namespace has our run
// folder mounted on /run/libvirt.
bool is_our_daemon(pid_t pid, const fs::path& run_dir) {
  if (pid <= 1) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mountpoint;
    f >> id >> parent >> dev >> root >> mountpoint;
    // `root` is relative to the file system holding the folder, so it is a suffix of
    // our absolute path (equal to it when the state lives on the root file system).
    const std::string ours = run_dir.lexically_normal().string();
    if (mountpoint == "/run/libvirt" && root.size() > 1 && ours.size() >= root.size() &&
        ours.compare(ours.size() - root.size(), root.size(), root) == 0)
      return true;
  }
  return false;
}

bool alive(pid_t pid) {
  // Daemons are not our children (they re-parent), so a zombie waits for someone else to
  // reap it: count it as gone.
  auto f = proc_stat_fields(pid);
  return f && (*f)[0] != "Z";
}

pid_t read_pid(const fs::path& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

Expected<void> stop_daemon(const std::string& name, pid_t pid, Clock& clock) {
  ::kill(pid, SIGTERM);
  auto gone = poll_until<bool>(clock, 15s, 100ms, name + " (pid " + std::to_string(pid) + ") to exit",
                               [&](std::string*) -> std::optional<bool> {
                                 if (!alive(pid)) return true;
                                 return std::nullopt;
                               });
  if (gone) return {};
  ::kill(pid, SIGKILL);
  DCSLAB_TRY(poll_until<bool>(clock, 5s, 100ms, name + " to die after SIGKILL",
                               [&](std::string*) -> std::optional<bool> {
                                 if (!alive(pid)) return true;
                                 return std::nullopt;
                               }));
  return {};
}

// Child of fork(): only system calls from here on (the parent may have threads).
[[noreturn]] void child_main(const fs::path& dir, const std::vector<std::string>& sources,
                             const char* virtlogd_argv[], const char* libvirtd_argv[], int devnull) {
  ::setsid();
  ::dup2(devnull, 0);
  ::dup2(devnull, 1);
  ::dup2(devnull, 2);
  if (::unshare(CLONE_NEWNS) != 0) ::_exit(10);
  // Private propagation: our bind mounts must not leak back to the host's namespace.
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(11);
  for (size_t i = 0; i < std::size(kBinds); ++i) {
    ::mkdir(kBinds[i].target, 0755);  // /run/libvirt may not exist on a host without libvirtd
    if (::mount(sources[i].c_str(), kBinds[i].target, nullptr, MS_BIND, nullptr) != 0)
      ::_exit(20 + static_cast<int>(i));
  }
  (void)dir;
  const pid_t logd = ::fork();
  if (logd < 0) ::_exit(12);
  if (logd == 0) {
    ::execv(virtlogd_argv[0], const_cast<char* const*>(virtlogd_argv));
    ::_exit(13);
  }
  int st = 0;
  ::waitpid(logd, &st, 0);  // -d: returns once the daemon runs
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ::_exit(14);
  ::execv(libvirtd_argv[0], const_cast<char* const*>(libvirtd_argv));
  ::_exit(15);
}

}  // namespace

fs::path private_libvirtd_dir(const LabState& state) { return state.dir() / "libvirtd"; }

fs::path libvirt_capabilities_cache(const LabState& state) {
  return state.home() / "cache" / "libvirt-qemu-capabilities";
}

void keep_libvirt_capabilities(const LabState& state) {
  copy_capabilities(private_libvirtd_dir(state) / "cache" / kCapsSub,
                    libvirt_capabilities_cache(state));
}

std::string private_libvirtd_uri(const fs::path& dir) {
  return "qemu:///system?socket=" + (dir / "run" / "libvirt-sock").string();
}

bool in_host_network_namespace() {
  struct stat self {}, other {};
  if (::stat("/proc/self/ns/net", &self) != 0) return true;  // cannot tell: assume the worst
  if (::stat("/proc/1/ns/net", &other) == 0)
    return self.st_ino == other.st_ino && self.st_dev == other.st_dev;
  // PID 1's namespace can be hidden from us (ptrace restrictions, containers). A namespace
  // made with `ip netns add` (or netns_create) is pinned under /run/netns: being in one of
  // those is being isolated.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/run/netns", ec))
    if (::stat(e.path().c_str(), &other) == 0 && other.st_ino == self.st_ino &&
        other.st_dev == self.st_dev)
      return false;
  return true;
}

Expected<std::string> start_private_libvirtd(const fs::path& dir, const PrivateLibvirtdStart& how,
                                             Progress& progress, Clock& clock) {
  const std::string uri = private_libvirtd_uri(dir);
  if (in_host_network_namespace())
    return Failure::refused(
        "refusing to start a private libvirtd in the host's network namespace: an isolated lab "
        "must run inside its own namespace (the lab's bridge and addresses would appear on the "
        "host)");

  const std::string virtlogd = find_program("virtlogd");
  const std::string libvirtd = find_program("libvirtd");
  if (virtlogd.empty() || libvirtd.empty())
    return Failure::not_found(
        "libvirtd/virtlogd not found; install libvirt-daemon and libvirt-daemon-driver-qemu "
        "(scripts/install-deps)");

  // A daemon from an earlier run that no longer answers is stopped first, so two never
  // share the folders.
  for (const char* f : {"libvirtd.pid", "virtlogd.pid"}) {
    const pid_t pid = read_pid(dir / "run" / f);
    if (is_our_daemon(pid, dir / "run") && alive(pid)) DCSLAB_TRY(stop_daemon(f, pid, clock));
  }
  // Stale sockets and pidfiles go; the rest of run/ stays: run/qemu and run/network hold
  // the status of domains and networks that outlived a killed daemon, and a new daemon
  // reconnects to those QEMU processes through them (so `down` can still remove them).
  std::error_code ec;
  for (const char* f : {"libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock", "virtlogd-sock",
                        "virtlogd-admin-sock", "libvirtd.pid", "virtlogd.pid"})
    fs::remove(dir / "run" / f, ec);
  DCSLAB_TRY(prepare_dirs(dir));
  if (!how.capabilities_cache.empty())
    copy_capabilities(how.capabilities_cache, dir / "cache" / kCapsSub);

  progress.phase("starting a private libvirtd (" + (dir / "run").string() + ")");
  if (how.before_start) how.before_start();

  // Everything the child needs is built before fork: it may not allocate.
  std::vector<std::string> sources;
  for (const auto& b : kBinds) sources.push_back((dir / b.ours).string());
  // Inside the namespace the pidfiles are at /run/libvirt/…, the same files.
  const char* virtlogd_argv[] = {virtlogd.c_str(), "-d", "-p", "/run/libvirt/virtlogd.pid", nullptr};
  const char* libvirtd_argv[] = {libvirtd.c_str(), "-d", "-p", "/run/libvirt/libvirtd.pid", nullptr};
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return Failure::error("cannot open /dev/null");

  const pid_t child = ::fork();
  if (child < 0) return Failure::error(std::string("fork: ") + std::strerror(errno));
  if (child == 0) child_main(dir, sources, virtlogd_argv, libvirtd_argv, devnull.get());
  devnull.reset();
  int st = 0;
  ::waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::string step = code == 10 ? "unshare(CLONE_NEWNS) (needs root)"
                       : code >= 20 && code < 20 + int(std::size(kBinds))
                           ? std::string("bind-mounting over ") + kBinds[code - 20].target
                       : code == 14 ? "starting virtlogd"
                       : code == 15 ? "executing libvirtd"
                                    : "starting libvirtd (exit status " + std::to_string(code) + ")";
    return Failure::error("private libvirtd: " + step + " failed; see " +
                          (dir / "log").string() + " and " + how.clean_up);
  }

  auto up = poll_until<bool>(clock, how.limit, 100ms,
                             "the private libvirtd to answer on " + (dir / "run/libvirt-sock").string(),
                             [&](std::string* why) -> std::optional<bool> {
                               if (answers(uri)) return true;
                               if (const virError* e = virGetLastError(); e && e->message)
                                 *why = e->message;
                               return std::nullopt;
                             });
  if (!up) {
    Failure f = up.error();
    f.message += "; its log: " + (dir / "log/libvirtd.log").string();
    return f;
  }
  progress.done("private libvirtd answering at " + uri);
  return uri;
}

Expected<void> stop_private_libvirtd(const fs::path& dir, Clock& clock) {
  // libvirtd first: it may still write through virtlogd while it shuts down.
  for (const char* name : {"libvirtd", "virtlogd"}) {
    const pid_t pid = read_pid(dir / "run" / (std::string(name) + ".pid"));
    if (!is_our_daemon(pid, dir / "run") || !alive(pid)) continue;  // already gone
    DCSLAB_TRY(stop_daemon(name, pid, clock));
  }
  std::error_code ec;
  fs::remove_all(dir / "run", ec);
  return {};
}

Expected<std::string> ensure_private_libvirtd(LabState& state, Progress& progress, Clock& clock,
                                              std::chrono::seconds limit) {
  const fs::path dir = private_libvirtd_dir(state);
  const std::string uri = private_libvirtd_uri(dir);
  const std::string name = "dcslab-" + state.lab_name() + "-libvirtd";
  if (state.has(kPrivateLibvirtdKind, name) && answers(uri)) {
    state.set("libvirt_uri", uri);
    return uri;
  }
  PrivateLibvirtdStart how;
  how.limit = limit;
  how.capabilities_cache = libvirt_capabilities_cache(state);
  // In the ledger before the daemon exists, so `down` stops it whatever happens next.
  how.before_start = [&] { state.record({kPrivateLibvirtdKind, name, dir.string()}); };
  how.clean_up = "run `dcslab down` to clean up";
  auto started = start_private_libvirtd(dir, how, progress, clock);
  if (!started) return started.error();
  state.set("libvirt_uri", *started);
  return started;
}

Expected<void> stop_private_libvirtd(LabState& state, const Resource& r, Clock& clock) {
  const fs::path dir = r.data.empty() ? private_libvirtd_dir(state) : fs::path(r.data);
  DCSLAB_TRY(stop_private_libvirtd(dir, clock));
  state.forget(r);
  if (state.get("libvirt_uri") == private_libvirtd_uri(dir)) state.set("libvirt_uri", "");
  return {};
}

}  // namespace dcslab
