// What the CLI's lab commands do, as functions over a loaded Lab and its LabState:
// up (isolation, image, keys, identity, provider, wait for SSH), down, status, and
// connecting to a node. main.cc parses arguments and calls these; the scenario runner
// calls them too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/interrupt.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "providers/provider.h"
#include "ssh/ssh_transport.h"
#include "lab/state.h"
#include "ssh/transport.h"

namespace dcslab {


struct UpOptions {
  bool isolated = false;  // own network namespace (and a private libvirtd for libvirt)
  std::chrono::seconds ssh_timeout{240};
};

struct NodeTiming {
  std::string node;
  double seconds_to_ssh = 0;
};

// The provider a lab that is up was brought up with replaces the lab file's.
void use_recorded_provider(Lab& lab, const LabState& state);

// Why a node will never answer, if its console log shows it after offset `from` (the
// log's size before this boot; at most its last 64 KiB are read), as a message naming
// the log: a kernel panic, systemd giving up as PID 1 (with the host's inotify limit
// named when that is the cause), or systemd-nspawn reporting the container's end. `up`
// stops waiting for that node.
std::optional<std::string> console_fatal(const std::filesystem::path& console_log,
                                         std::uint64_t from = 0);

// Enters the lab's network namespace if it lives in one (call first, before threads).
Expected<void> enter_lab_namespace(const LabState& state);

Expected<std::vector<NodeTiming>> lab_up(const Lab& lab, LabState& state, const UpOptions& options,
                                         Progress& progress);
Expected<void> lab_down(const Lab& lab, LabState& state, Progress& progress);
Expected<std::vector<NodeStatus>> lab_status(const Lab& lab, LabState& state);

// An SSH session to `node` as `user`, host key checked against the pinned one.
Expected<std::unique_ptr<Transport>> connect_node(const Lab& lab, const LabState& state,
                                                  const std::string& node, const std::string& user);

// How long an SSH connection to one of the lab's nodes may take to answer and finish
// its handshake: the target's default (5 s), or on a lab of emulated CPUs (state
// "accel" tcg) as long as a booting node's (kSshBootHandshakeTimeout): there a session
// opened just after SSH-ready on a loaded host took longer than 5 s (a local CI run,
// 2026-12-06, with a container test beside: the first step's connection to each of
// three restored VMs).
std::chrono::milliseconds ssh_connect_timeout(const LabState& state);

// The SSH target of `node` as `user` (address, lab key, pinned host key), once the lab
// network is found local to this namespace (the network safety rule).
Expected<SshTarget> node_target(const Lab& lab, const LabState& state, const std::string& node,
                                const std::string& user);

// argv of the system ssh client for `dcslab ssh`: the lab key, the pinned known_hosts.
std::vector<std::string> ssh_client_argv(const Lab& lab, const LabState& state,
                                         const std::string& node, const std::string& user);

// An OpenSSH config (Host blocks) for every node; for a lab in a network namespace the
// connection goes through `dcslab proxy`, which enters the namespace.
std::string ssh_config(const Lab& lab, const LabState& state, const std::string& self_exe,
                       const std::string& lab_file);

// Copies stdin/stdout to host:port (ssh's ProxyCommand).
int proxy_stdio(const std::string& host, int port);

}  // namespace dcslab
