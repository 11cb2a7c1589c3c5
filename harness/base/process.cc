#include "base/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "base/fd.h"
#include "base/file.h"
#include "base/text.h"

extern char** environ;

namespace dcslab {

namespace fs = std::filesystem;

Expected<int> run_process_lines(const std::vector<std::string>& argv,
                                const std::function<void(const std::string&)>& on_line) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Failure::error(std::string("pipe: ") + strerror(errno));
  Fd from_child(pipefd[0]), to_parent(pipefd[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_parent.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, to_parent.get(), 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Nothing else of dcslab's (or of what started it: ctest, a CI runner) reaches the
  // child. Inherited descriptors push the child's own ones past 9, and a shell given
  // `>&11` (mmdebstrap's apt hook, run by dash) fails "Bad fd number".
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  to_parent.reset();  // the child's copy is the only writer left: EOF when it exits
  if (rc != 0) return Failure::not_found("cannot run " + argv[0] + ": " + strerror(rc));
  std::string pending;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      on_line(pending.substr(0, nl + 1));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) on_line(pending);
  from_child.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Expected<ProcessResult> run_process(const std::vector<std::string>& argv) {
  ProcessResult result;
  DCSLAB_TRY_ASSIGN(auto status, run_process_lines(argv, [&](const std::string& line) {
                      result.output += line;
                    }));
  result.exit_status = status;
  return result;
}

Expected<std::string> run_checked(const std::vector<std::string>& argv) {
  DCSLAB_TRY_ASSIGN(auto r, run_process(argv));
  if (r.exit_status != 0) {
    const std::string out = rtrim(r.output);
    return Failure::error(join_argv(argv) + " failed (exit " + std::to_string(r.exit_status) +
                          ")" + (out.empty() ? "" : ": " + out));
  }
  return std::move(r.output);
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789@%_-+=:,./") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::optional<std::vector<std::string>> proc_stat_fields(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  const auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(std::move(f));
  if (fields.size() < 20) return std::nullopt;
  return fields;
}

std::optional<ProcessId> process_id(pid_t pid) {
  auto f = proc_stat_fields(pid);
  if (!f) return std::nullopt;
  try {
    return ProcessId{pid, std::stoull((*f)[19])};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool process_alive(const ProcessId& p) {
  auto f = proc_stat_fields(p.pid);
  if (!f || (*f)[0] == "Z" || (*f)[0] == "X") return false;
  auto now = process_id(p.pid);
  return now && now->start_ticks == p.start_ticks;
}

namespace {

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace

std::vector<pid_t> process_descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (pid_t pid : all_pids())
    if (auto f = proc_stat_fields(pid)) children[std::stoi((*f)[1])].push_back(pid);
  std::vector<pid_t> out, todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) out.push_back(c), todo.push_back(c);
  }
  return out;
}

std::string process_namespace(pid_t pid, const std::string& kind) {
  std::error_code ec;
  const auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + kind, ec);
  return ec ? std::string() : target.string();
}

std::vector<pid_t> processes_in_namespace(const std::string& kind, const std::string& ns) {
  std::vector<pid_t> out;
  if (ns.empty()) return out;
  for (pid_t pid : all_pids()) {
    if (process_namespace(pid, kind) != ns) continue;
    auto f = proc_stat_fields(pid);
    if (f && (*f)[0] != "Z" && (*f)[0] != "X") out.push_back(pid);
  }
  return out;
}

std::string process_name(pid_t pid) {
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm ? rtrim(*comm) : std::string();
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const auto& a : argv) words.push_back(shell_quote(a));
  return join(words, " ");
}

}  // namespace dcslab
