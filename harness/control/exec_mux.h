// The exec multiplexer: what makes `dcslab exec` cost a channel instead of a connection.
//
// A `dcslab exec` that finds no multiplexer for its lab runs its command over a fresh
// SSH connection as before, and leaves behind a small daemon (forked from itself, inside
// the lab's network namespace) that keeps SSH sessions open. Every later `dcslab exec`
// hands its command to that daemon over a Unix socket in the lab's state folder and gets
// back stdout, stderr and the exit status; the daemon runs it on a session it already
// has, one more channel as OpenSSH's ControlMaster does.
//
//   <lab state>/exec-mux.sock   the socket (mode 0600; the state folder is root's)
//   <lab state>/exec-mux.lock   held (flock) by the one daemon of the lab
//   <lab state>/exec-mux.pid    "PID STARTTIME": down stops exactly that process
//
// Sessions are pooled by the whole SSH target (node, address, user, key, pinned host
// key): a command never runs on a session made for different pinning, so a changed
// pinned key is checked by a new connection. Commands that run at the same time on one
// node get sessions of their own. The daemon exits after DCSLAB_EXEC_PERSIST seconds
// without a command (default 600; 0 turns the multiplexer off), when the lab's state
// folder goes away, or when stopped. Everything that changes the machines under the
// sessions (up, down, snapshot revert, fault) stops it first.
//
// The protocol is private to one dcslab binary: length-prefixed strings, a fixed list
// of fields each way (exec_mux.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "ssh/ssh_transport.h"
#include "ssh/transport.h"

namespace dcslab {

struct MuxPaths {
  std::filesystem::path socket, lock, pid;
  explicit MuxPaths(const std::filesystem::path& lab_state_dir);
};

using MuxConnect = std::function<Expected<std::unique_ptr<Transport>>(const SshTarget&)>;

struct MuxServerOptions {
  std::filesystem::path dir;                   // the lab's state folder
  std::chrono::milliseconds idle{600000};      // exit after this long with nothing to do
  MuxConnect connect;                          // SshTransport::connect in the real daemon
  const std::atomic<bool>* stop = nullptr;     // set (e.g. by SIGTERM): exit soon
  Clock* clock = &RealClock::instance();       // paces the wait for running commands
};

// Serves until idle, stopped, or the folder is gone; 0 when it served, 1 when another
// daemon already holds the lock or the socket could not be made.
int mux_serve(const MuxServerOptions& options);

// Runs `command` through the lab's daemon. nullopt when no daemon listens (the caller
// connects directly). `interrupted` (Ctrl-C) hangs up: the daemon stops the command.
std::optional<Expected<CommandResult>> mux_exec(const std::filesystem::path& dir,
                                                const SshTarget& target,
                                                const std::string& command,
                                                std::chrono::milliseconds timeout,
                                                const std::atomic<bool>& interrupted);

// Forks the daemon (detached: own session, stdio to <dir>/exec-mux.log) and returns at
// once; call with no other thread running. The daemon keeps the caller's namespaces.
// With `exec_argv` it executes that (the dcslab binary's `exec-mux DIR MS`, so that the
// process names its lab), else it serves with `connect` in the forked process.
void mux_spawn(const std::filesystem::path& dir, std::chrono::milliseconds idle,
               MuxConnect connect, const std::vector<std::string>& exec_argv = {});

// The daemon's main: SIGTERM stops it, SIGINT and SIGHUP are ignored; mux_serve's status.
int mux_daemon(const std::filesystem::path& dir, std::chrono::milliseconds idle,
               MuxConnect connect);

// Stops the lab's daemon if one runs (the PID file's process, checked by its start
// time) and waits up to 3 s for it to exit; removes its files. Never touches another
// process.
void mux_stop(const std::filesystem::path& dir, Clock& clock = RealClock::instance());

// DCSLAB_EXEC_PERSIST in milliseconds (default 600 s); 0 means: no multiplexer.
std::chrono::milliseconds mux_persist_from_env();

}  // namespace dcslab
