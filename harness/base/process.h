// Running host programs (ip, mmdebstrap, qemu-img, tar) by argv, never through a shell,
// so no argument is ever re-parsed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace dcslab {

struct ProcessResult {
  int exit_status = -1;  // -1 when killed by a signal
  std::string output;    // stdout and stderr, interleaved
};

// Runs argv[0] (searched in PATH) and waits. Fails only if it could not be started.
Expected<ProcessResult> run_process(const std::vector<std::string>& argv);

// Runs argv, calling on_line for every line of its stdout and stderr (interleaved) as it
// arrives, for progress on long work — with its '\n', so the lines add up to the exact
// output; returns the exit status (-1 when killed).
Expected<int> run_process_lines(const std::vector<std::string>& argv,
                                const std::function<void(const std::string&)>& on_line);

// Runs and expects exit status 0; otherwise an error naming the command and its output.
Expected<std::string> run_checked(const std::vector<std::string>& argv);

// `s` as one word for a POSIX shell (here or on a node over SSH): single quotes keep
// every byte literal, only ' itself needs the close-escape-reopen dance; a word of only
// safe characters (letters, digits, @%_-+=:,./) stays as it is, so logs stay readable.
std::string shell_quote(const std::string& s);
// argv as one shell command line, for messages and logs.
std::string join_argv(const std::vector<std::string>& argv);

// The fields of /proc/PID/stat after the command name (which may itself hold spaces and
// parentheses): [0] the state (R, S, Z for a zombie...), [1] the parent's PID, [19] the
// start time in clock ticks since boot, which tells a reused PID from the process that
// had it. nullopt when there is no such process.
std::optional<std::vector<std::string>> proc_stat_fields(pid_t pid);

// A process as something to wait for: its pid and start time, so a pid reused by another
// process is never taken for it.
struct ProcessId {
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
  bool operator==(const ProcessId&) const = default;
};
// The process that has `pid` now; nullopt when there is none.
std::optional<ProcessId> process_id(pid_t pid);
// Still there and not a zombie (a zombie has exited; only its parent's reaping is left).
bool process_alive(const ProcessId& p);
// Every process whose parent chain leads to `root` (not including it).
std::vector<pid_t> process_descendants(pid_t root);
// The process's namespace of `kind` ("pid", "net", "mnt") as /proc/PID/ns/KIND reads,
// "pid:[4026532301]"; "" when the process is gone.
std::string process_namespace(pid_t pid, const std::string& kind);
// Every live, non-zombie process in that namespace (`ns` as process_namespace gives it).
std::vector<pid_t> processes_in_namespace(const std::string& kind, const std::string& ns);
// The process's command name (/proc/PID/comm), for messages; "" when it is gone.
std::string process_name(pid_t pid);

}  // namespace dcslab
