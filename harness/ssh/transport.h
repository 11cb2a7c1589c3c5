// Running commands on nodes. Transport is the seam the scenario runner and the CLI use;
// SshTransport (ssh_transport.h) is the real one, tests use a fake that records.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace dcslab {

struct CommandResult {
  int exit_status = -1;   // the remote command's exit status; -1 if killed by a signal
  std::string out;
  std::string err;
  // Bytes the command printed past ExecOptions::output_limit, counted and not kept.
  std::uint64_t out_dropped = 0;
  std::uint64_t err_dropped = 0;
};

// A step's stdout and stderr are each kept up to this many bytes (a step's
// `output_limit:` changes it); the rest is counted, so a node printing gigabytes cannot
// exhaust dcslab's memory. docs/SCENARIOS.md documents the default.
inline constexpr std::size_t kDefaultOutputLimit = std::size_t{16} << 20;

// Appends `data` to `to` up to `limit` bytes in all, counting the rest in `dropped`:
// the one place output is capped, at the source (the transport's reads, the fakes).
inline void append_capped(std::string& to, std::uint64_t& dropped, std::string_view data,
                          std::size_t limit) {
  const std::size_t room = to.size() < limit ? limit - to.size() : 0;
  const std::size_t kept = data.size() < room ? data.size() : room;
  to.append(data.data(), kept);
  dropped += data.size() - kept;
}

// On a PTY, when the output so far ends with `expect`, `answer` + "\n" is typed.
struct Prompt {
  std::string expect;
  std::string answer;
};

struct ExecOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::string stdin_data;                 // sent then EOF (not with pty)
  bool pty = false;                       // with a PTY, stderr arrives merged in out
  std::vector<Prompt> prompts;            // implies pty
  std::vector<std::pair<std::string, std::string>> env;  // exported before the command
  std::size_t output_limit = kDefaultOutputLimit;        // per stream (append_capped)
  // Asked about every 100 ms while the command runs; true stops it as a timeout would
  // (the channel closed, the command killed) and exec fails with "interrupted".
  std::function<bool()> cancelled;
};

struct FileAttributes {
  int mode = 0644;
  std::string owner;   // empty: leave as created
  std::string group;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Runs `command` through the remote user's shell (bash -c semantics).
  virtual Expected<CommandResult> exec(const std::string& command, const ExecOptions& options) = 0;
  virtual Expected<void> put(const std::string& content, const std::string& remote_path,
                             const FileAttributes& attrs) = 0;
  virtual Expected<std::string> get(const std::string& remote_path) = 0;
};

}  // namespace dcslab
