#include "control/exec_mux.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/fd.h"
#include "base/file.h"
#include "base/process.h"

namespace dcslab {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

namespace {

constexpr const char* kHello = "dcslab-exec-mux 1";
constexpr std::uint32_t kMaxField = 256u << 20;  // a command's output is kept in memory anyway

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads exactly n bytes. `give_up` is asked while waiting (every 100 ms).
bool read_all(int fd, char* p, std::size_t n, const std::function<bool()>& give_up) {
  while (n > 0) {
    if (give_up) {
      pollfd pf{fd, POLLIN, 0};
      const int rc = ::poll(&pf, 1, 100);
      if (rc < 0 && errno != EINTR) return false;
      if (give_up()) return false;
      if (rc <= 0) continue;
    }
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool send_fields(int fd, const std::vector<std::string>& fields) {
  std::string buf;
  for (const auto& f : fields) {
    const auto len = static_cast<std::uint32_t>(f.size());
    buf.append(reinterpret_cast<const char*>(&len), sizeof len);
    buf += f;
  }
  return write_all(fd, buf.data(), buf.size());
}

bool recv_fields(int fd, std::size_t count, std::vector<std::string>* out,
                 const std::function<bool()>& give_up = {}) {
  out->clear();
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    if (!read_all(fd, reinterpret_cast<char*>(&len), sizeof len, give_up)) return false;
    if (len > kMaxField) return false;
    std::string f(len, '\0');
    if (len > 0 && !read_all(fd, f.data(), len, give_up)) return false;
    out->push_back(std::move(f));
  }
  return true;
}

std::vector<std::string> target_fields(const SshTarget& t) {
  return {t.node, t.host, std::to_string(t.port), t.user, t.identity_file.string(),
          t.pinned_host_key, t.known_hosts_for_messages.string(),
          std::to_string(t.connect_timeout.count())};
}
constexpr std::size_t kTargetFields = 8;

SshTarget target_from(const std::vector<std::string>& f, std::size_t at) {
  SshTarget t;
  t.node = f[at];
  t.host = f[at + 1];
  t.port = std::atoi(f[at + 2].c_str());
  t.user = f[at + 3];
  t.identity_file = f[at + 4];
  t.pinned_host_key = f[at + 5];
  t.known_hosts_for_messages = f[at + 6];
  t.connect_timeout = Ms(std::atoll(f[at + 7].c_str()));
  return t;
}

std::string pool_key(const SshTarget& t) {
  std::string k;
  for (const auto& f : target_fields(t)) k += f + '\n';
  return k;
}

const char* kind_name(Failure::Kind k) {
  switch (k) {
    case Failure::Kind::Timeout: return "timeout";
    case Failure::Kind::NotFound: return "not_found";
    case Failure::Kind::Refused: return "refused";
    case Failure::Kind::Error: break;
  }
  return "error";
}

Failure failure_from(const std::string& kind, std::string message) {
  if (kind == "timeout") return Failure::timeout(std::move(message));
  if (kind == "not_found") return Failure::not_found(std::move(message));
  if (kind == "refused") return Failure::refused(std::move(message));
  return Failure::error(std::move(message));
}

sockaddr_un socket_address(const fs::path& path, bool* fits) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string s = path.string();
  *fits = s.size() < sizeof a.sun_path;
  if (*fits) std::memcpy(a.sun_path, s.c_str(), s.size() + 1);
  return a;
}

// Field 22 of /proc/PID/stat: the process's start time, which tells a PID reused by
// another process from the daemon that wrote the PID file. Empty for a process that is
// gone or a zombie (field 3 "Z").
std::string start_time(pid_t pid) {
  auto f = proc_stat_fields(pid);
  return f && (*f)[0] != "Z" ? (*f)[19] : "";
}

// Idle sessions, by target. A command takes one (or connects) and gives it back after.
class Pool {
 public:
  explicit Pool(MuxConnect connect) : connect_(std::move(connect)) {}

  Expected<std::unique_ptr<Transport>> take(const SshTarget& target) {
    {
      std::lock_guard lock(mu_);
      auto& idle = idle_[pool_key(target)];
      if (!idle.empty()) {
        auto t = std::move(idle.back());
        idle.pop_back();
        return t;
      }
    }
    return connect_(target);
  }

  void give(const SshTarget& target, std::unique_ptr<Transport> t) {
    std::lock_guard lock(mu_);
    auto& idle = idle_[pool_key(target)];
    if (idle.size() < 4) idle.push_back(std::move(t));
  }

 private:
  MuxConnect connect_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Transport>>> idle_;
};

// One client: a request in, the command run, a reply out.
void serve_client(Fd client, Pool& pool) {
  std::vector<std::string> req;
  if (!recv_fields(client.get(), 3 + kTargetFields, &req) || req[0] != kHello) return;
  const SshTarget target = target_from(req, 1);
  const std::string& command = req[1 + kTargetFields];
  ExecOptions options;
  options.timeout = Ms(std::atoll(req[2 + kTargetFields].c_str()));
  const int fd = client.get();
  // The client sends nothing after its request: anything readable is its hang-up.
  options.cancelled = [fd] {
    pollfd pf{fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&pf, 1, 0) > 0 && pf.revents != 0;
  };

  auto transport = pool.take(target);
  Expected<CommandResult> result =
      transport ? (*transport)->exec(command, options) : Expected<CommandResult>(transport.error());
  if (transport) pool.give(target, std::move(*transport));
  if (result) {
    // An ok reply's last field: the bytes dropped past the output limit, "OUT ERR".
    send_fields(fd, {"ok", std::to_string(result->exit_status), result->out, result->err,
                     std::to_string(result->out_dropped) + " " +
                         std::to_string(result->err_dropped)});
  } else {
    send_fields(fd, {kind_name(result.error().kind), "-1", "", "", result.error().message});
  }
}

}  // namespace

MuxPaths::MuxPaths(const fs::path& dir)
    : socket(dir / "exec-mux.sock"), lock(dir / "exec-mux.lock"), pid(dir / "exec-mux.pid") {}

std::chrono::milliseconds mux_persist_from_env() {
  const char* v = std::getenv("DCSLAB_EXEC_PERSIST");
  if (!v || !*v) return Ms(600000);
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || *end != '\0' || s < 0) {
    throw BadInput(std::string("DCSLAB_EXEC_PERSIST=\"") + v +
                   "\": expected seconds (a number >= 0; 0 turns the exec multiplexer off)");
  }
  return Ms(static_cast<long long>(s * 1000));
}

int mux_serve(const MuxServerOptions& o) {
  const MuxPaths paths(o.dir);
  Fd lock(::open(paths.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return 1;

  bool fits = false;
  const sockaddr_un addr = socket_address(paths.socket, &fits);
  if (!fits) return 1;
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(paths.socket.c_str());  // a dead daemon's; the lock says none is alive
  const mode_t old_mask = ::umask(0077);
  const bool bound =
      ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::umask(old_mask);
  if (!bound || ::listen(listener.get(), 64) != 0) {
    spdlog::warn("exec multiplexer: cannot listen on {}: {}", paths.socket.string(),
                 std::strerror(errno));
    return 1;
  }
  (void)write_file(paths.pid, std::to_string(::getpid()) + ' ' + start_time(::getpid()) + '\n');

  // Shared with the clients' threads, which may outlive this function when stopped.
  struct Shared {
    explicit Shared(MuxConnect c) : pool(std::move(c)) {}
    Pool pool;
    std::atomic<int> active{0};
    std::mutex mu;  // guards last
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  };
  auto sh = std::make_shared<Shared>(o.connect);
  for (;;) {
    if (o.stop && o.stop->load()) break;
    std::error_code ec;
    if (!fs::exists(o.dir, ec)) break;
    {
      std::lock_guard l(sh->mu);
      if (sh->active == 0 && std::chrono::steady_clock::now() - sh->last >= o.idle) break;
    }
    pollfd pf{listener.get(), POLLIN, 0};
    if (::poll(&pf, 1, 200) <= 0) continue;
    Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    ++sh->active;
    std::thread([c = std::move(client), sh]() mutable {
      serve_client(std::move(c), sh->pool);
      std::lock_guard l(sh->mu);
      sh->last = std::chrono::steady_clock::now();
      --sh->active;
    }).detach();
  }
  // Files first, so no new client finds a daemon on its way out.
  ::unlink(paths.socket.c_str());
  ::unlink(paths.pid.c_str());
  listener.reset();
  // Commands still running finish first (each has its own timeout, so no limit here);
  // a stop ends them with the process (their sessions' sshd hangs them up).
  (void)poll_until<bool>(*o.clock, Clock::duration::max(), Ms(50), "commands to finish",
                         [&](std::string*) -> std::optional<bool> {
                           if (sh->active == 0 || (o.stop && o.stop->load())) return true;
                           return std::nullopt;
                         });
  return 0;
}

std::optional<Expected<CommandResult>> mux_exec(const fs::path& dir, const SshTarget& target,
                                                const std::string& command, Ms timeout,
                                                const std::atomic<bool>& interrupted) {
  bool fits = false;
  const sockaddr_un addr = socket_address(MuxPaths(dir).socket, &fits);
  if (!fits) return std::nullopt;
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return std::nullopt;  // none listens (no file, or a dead daemon's file)
  }
  std::vector<std::string> req{kHello};
  for (auto& f : target_fields(target)) req.push_back(std::move(f));
  req.push_back(command);
  req.push_back(std::to_string(timeout.count()));
  if (!send_fields(s.get(), req)) return std::nullopt;

  std::vector<std::string> reply;
  if (!recv_fields(s.get(), 5, &reply, [&] { return interrupted.load(); })) {
    if (interrupted) {
      return Expected<CommandResult>(Failure::error("`" + command + "` on " + target.node +
                                                    " interrupted"));
    }
    // The daemon went away mid-command (stopped by down, or crashed): say so, rather
    // than run the command a second time.
    return Expected<CommandResult>(Failure::error(
        "the exec multiplexer of this lab closed before `" + command + "` on " + target.node +
        " finished (the lab was stopped or changed meanwhile)"));
  }
  if (reply[0] != "ok") return Expected<CommandResult>(failure_from(reply[0], reply[4]));
  CommandResult r;
  r.exit_status = std::atoi(reply[1].c_str());
  r.out = std::move(reply[2]);
  r.err = std::move(reply[3]);
  std::sscanf(reply[4].c_str(), "%" SCNu64 " %" SCNu64, &r.out_dropped, &r.err_dropped);
  return Expected<CommandResult>(std::move(r));
}

int mux_daemon(const fs::path& dir, Ms idle, MuxConnect connect) {
  static std::atomic<bool> stop{false};
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop = true; };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  MuxServerOptions o;
  o.dir = dir;
  o.idle = idle;
  o.connect = std::move(connect);
  o.stop = &stop;
  return mux_serve(o);
}

void mux_spawn(const fs::path& dir, Ms idle, MuxConnect connect,
               const std::vector<std::string>& exec_argv) {
  const pid_t first = ::fork();
  if (first < 0) return;  // no multiplexer: every exec connects on its own
  if (first > 0) {
    int status = 0;
    while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
    }
    return;
  }
  // The first child: a session of its own, then the daemon as its child, so the daemon
  // is nobody's child and never a zombie of the caller.
  ::setsid();
  if (::fork() != 0) ::_exit(0);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log = ::open((dir / "exec-mux.log").c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null >= 0) ::dup2(null, STDIN_FILENO);
  if (log >= 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
  }
  if (::chdir("/") != 0) ::_exit(1);
  // Nothing of the caller's stays open in a process that outlives it (a pipe a test
  // harness waits on, say): only stdin, stdout and stderr, set above.
  ::close_range(3, ~0U, 0);
  if (!exec_argv.empty()) {
    std::vector<char*> argv;
    for (const auto& a : exec_argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::_exit(mux_daemon(dir, idle, std::move(connect)));
}

void mux_stop(const fs::path& dir, Clock& clock) {
  const MuxPaths paths(dir);
  auto text = read_file(paths.pid);
  std::istringstream in(text ? *text : "");
  pid_t pid = 0;
  std::string started;
  if (in >> pid >> started && pid > 1 && start_time(pid) == started) {
    const auto gone = [&](std::string*) -> std::optional<bool> {
      if (start_time(pid) != started) return true;
      return std::nullopt;
    };
    ::kill(pid, SIGTERM);
    if (!poll_until<bool>(clock, std::chrono::seconds(3), Ms(20), "the exec multiplexer to exit", gone)) {
      ::kill(pid, SIGKILL);
      (void)poll_until<bool>(clock, std::chrono::seconds(2), Ms(10), "the exec multiplexer to die", gone);
    }
  }
  std::error_code ec;
  fs::remove(paths.socket, ec);
  fs::remove(paths.pid, ec);
}

}  // namespace dcslab
