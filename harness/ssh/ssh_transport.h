// The real Transport: libssh to a node's sshd, with the node's host key pinned.
//
// One SSH session per node, opened once and reused for every command (a handshake costs
// far more than a channel), guarded by a mutex because a libssh session is not
// thread-safe; different nodes have different SshTransports and run in parallel.
//
// Host keys are never learned on first use: the harness generated each node's host key
// and put it into the node's identity, so any other key means the wrong machine (or a
// man in the middle) and the connection is refused before authenticating.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "ssh/keys.h"
#include "base/progress.h"
#include "ssh/transport.h"

namespace dcslab {

struct SshTarget {
  std::string node;                              // for messages: "dcs-01"
  std::string host;                              // address to connect to
  int port = 22;
  std::string user;
  std::filesystem::path identity_file;           // private key for public-key auth
  std::string pinned_host_key;                   // "ssh-ed25519 AAAA..." (comment ignored)
  std::filesystem::path known_hosts_for_messages;  // named in a mismatch message
  std::chrono::milliseconds connect_timeout{5000};
};

class SshTransport : public Transport {
 public:
  // Connects, checks the host key against the pinned one, authenticates with the
  // identity file. Failures: Timeout (no answer within connect_timeout), Refused
  // (connection refused, host key mismatch, authentication refused), Error (other).
  static Expected<std::unique_ptr<SshTransport>> connect(const SshTarget& target);

  // Runs `command` on a new channel. Without a PTY, stdout and stderr are kept apart.
  // With `pty` or `prompts` a PTY is requested: stderr then arrives merged into `out`
  // (a terminal has one output stream), "\r" is stripped from it, and `stdin_data` is
  // typed without an EOF (an EOF would end the terminal's input). With `prompts`, the
  // terminal's echo is turned off first (`stty -echo`) so typed answers, which are
  // secrets, never come back in `out`. Env values are exported by the remote shell
  // (sshd's AcceptEnv is not relied on). A timeout closes the channel.
  Expected<CommandResult> exec(const std::string& command, const ExecOptions& options) override;

  // SFTP write with attrs.mode, then chown when owner/group are set (through `sudo -n`
  // unless the user is root). When the user cannot write there, the content goes to a
  // private temporary file in /tmp and `sudo -n install` puts it in place.
  Expected<void> put(const std::string& content, const std::string& remote_path,
                     const FileAttributes& attrs) override;

  // SFTP read; on permission denied, `sudo -n cat`.
  Expected<std::string> get(const std::string& remote_path) override;

  const SshTarget& target() const { return target_; }

  ~SshTransport() override;

 private:
  // `*permanent` is set when retrying cannot help (host key mismatch, no pinned key).
  static Expected<std::unique_ptr<SshTransport>> connect_once(const SshTarget& target,
                                                              bool* permanent);
  friend Expected<std::unique_ptr<SshTransport>> wait_for_ssh(
      const SshTarget&, Clock&, Clock::duration, Progress&,
      const std::function<std::optional<std::string>()>&);

  SshTransport(SshTarget target, SshSession session);
  // The *_locked functions expect mu_ held.
  Expected<CommandResult> exec_locked(const std::string& command, const ExecOptions& options);
  // One channel, one command; on timeout *timed_out_pid is the remote shell's PID.
  Expected<CommandResult> run_channel_locked(const std::string& command,
                                             const ExecOptions& options, long* timed_out_pid);
  Expected<void> ensure_connected_locked();
  Expected<sftp_session> sftp_locked();
  Expected<void> sftp_write_locked(const std::string& content, const std::string& path,
                                   int mode, bool* permission_denied);
  std::string sudo() const { return target_.user == "root" ? "" : "sudo -n "; }

  SshTarget target_;
  std::mutex mu_;
  SshSession session_;
  SftpSession sftp_;  // opened on first put/get; freed before session_
};

// How often wait_for_ssh tries again. A refused or unreachable attempt costs the node
// next to nothing (a RST, or an ARP query), while every second of interval is, on
// average, half a second between sshd listening and the harness noticing.
inline constexpr std::chrono::milliseconds kSshPollInterval{250};

// How long one attempt of wait_for_ssh may take, at least (target.connect_timeout when
// longer). A node still booting answers the handshake slowly: sshd forks and re-executes
// itself for every connection, and under TCG, with the rest of the boot competing for
// the vCPUs, that measured 3-8 s. An attempt abandoned at a 5 s connect timeout throws
// that work away and starts over (seen: SSH-ready 8 s after sshd listened). An address
// nobody answers on fails sooner anyway (connection refused, no route to host).
inline constexpr std::chrono::milliseconds kSshBootHandshakeTimeout{20000};

// Polls connect() every kSshPollInterval until it succeeds or `limit` passes on `clock`;
// reports through progress.waiting(). A host-key mismatch ends the wait at once: it is
// not transient. So does `give_up` returning a reason (asked before every attempt: the
// node's console showed a kernel panic, say); the failure's message is that reason.
Expected<std::unique_ptr<SshTransport>> wait_for_ssh(
    const SshTarget& target, Clock& clock, Clock::duration limit, Progress& progress,
    const std::function<std::optional<std::string>()>& give_up = {});

}  // namespace dcslab
