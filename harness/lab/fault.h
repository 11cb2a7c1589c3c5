// Faults injected into a running lab: the scenario action `fault` and `dcslab fault`.
//
//   crash      hard power-off, no shutdown (libvirt: destroy; nspawn: SIGKILL; VirtualBox:
//              poweroff); disk and identity stay, so `start` boots the same node again
//   start      boots a crashed or stopped node; done once it answers SSH
//   pause      freezes the node (every process; a VM's clock with it, while a container
//              reads the host's clock), resume thaws it
//   partition  the node's lab link goes down (a pulled cable): no traffic to or from the
//              other nodes, nor to the host, so SSH to it fails until `heal`
//   kill       SIGKILL to a systemd unit's main process, inside the guest
//
// Every fault but kill goes through the provider (provider.h); a provider that cannot do
// one refuses with a message that says so, as with snapshots.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace dcslab {

enum class FaultKind { Crash, Start, Pause, Resume, Partition, Heal, Kill };

const char* fault_name(FaultKind k);                         // "crash"
std::optional<FaultKind> parse_fault_kind(const std::string& s);
const std::vector<std::string>& fault_names();               // every name, in order
// What it does to the node, for reports: "hard power-off (no shutdown)".
std::string fault_description(FaultKind k);
// After these the node's SSH sessions are dead or hang: callers drop them.
bool fault_breaks_sessions(FaultKind k);
// After these the node is reachable again: done once it answers SSH (start, resume,
// heal; a node both paused and partitioned is resumed before it is healed).
bool fault_waits_for_ssh(FaultKind k);

// The guest command for kill: SIGKILL to UNIT's main process only (systemd then applies
// the unit's Restart= policy, as after a real crash of the daemon).
std::string kill_unit_command(const std::string& unit);

// The run's seeded choice of nodes. std::mt19937_64's sequence is fixed by the standard;
// the choice is made here rather than with std::uniform_int_distribution (whose
// algorithm each standard library picks), so a seed replays the same choices everywhere.
class FaultRng {
 public:
  explicit FaultRng(std::uint64_t seed);
  // `count` distinct items of `from`, in the order drawn.
  std::vector<std::string> pick(const std::vector<std::string>& from, int count);
  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
};

// A fresh seed when the user gave none (std::random_device).
std::uint64_t random_seed();

}  // namespace dcslab
