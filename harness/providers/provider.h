// A provider turns a Lab into running machines: libvirt VMs, nspawn containers or
// VirtualBox VMs. Everything hypervisor-specific stays behind this interface; nothing
// outside a provider switches on the provider type (see ARCHITECTURE.md).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/image.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "lab/state.h"

namespace dcslab {

struct NodeStatus {
  std::string node;
  std::string state;   // "running", "shut off", "paused", "missing", ...
  std::string detail;  // provider-specific extra (domain name, pid)
};

// A lab snapshot as a provider holds it: one per node, under the same name.
struct SnapshotInfo {
  std::string name;
  long long created = 0;           // seconds since the epoch (the oldest node's)
  std::vector<std::string> nodes;  // the nodes that hold it
  bool complete = false;           // every node of the lab holds it
};

// A guest's clock against the host's, in seconds (negative: behind), before and after
// the provider set it (Provider::set_clocks).
struct GuestClock {
  std::string node;
  double before_s = 0;
  double after_s = 0;
};

struct UpRequest {
  const Lab* lab = nullptr;
  const Image* image = nullptr;
  // identity.tar per node name (see identity.h), already written.
  std::map<std::string, std::filesystem::path> identity;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string kind() const = 0;

  // The [Match] body of the node's lab NIC in its .network file; needed before
  // identity is written, so before up().
  virtual std::string nic_match(const Node& node) const = 0;

  // Creates (or reuses) the lab network, disks and machines and starts them. Returns once
  // every machine has been started; waiting for SSH is the caller's job. Every resource
  // is recorded in the LabState ledger before it is created.
  virtual Expected<void> up(const UpRequest& request, Progress& progress) = 0;

  virtual Expected<std::vector<NodeStatus>> status() = 0;

  // Removes every resource in the ledger that this provider owns, newest first, and
  // nothing else. Succeeds when they are already gone.
  virtual Expected<void> down(Progress& progress) = 0;

  // Where the node's serial console (or container console) is logged.
  virtual std::filesystem::path console_log(const std::string& node) const = 0;

  // Lab snapshots with memory state: the running machines, disks and RAM, so a reverted
  // lab runs again in seconds without booting. Consistent across nodes: every node is
  // paused before any is saved or reverted, and all are resumed after (see
  // consistent_snapshot.h). Every snapshot is in the ledger before it is made, so down
  // removes it. After a revert the guests' clocks are stale (they were frozen) and SSH
  // sessions are dead: the caller fixes both (snapshot_ops.h).
  // A provider that cannot keep memory state refuses (the defaults below); it never
  // fakes a snapshot with something else.
  virtual Expected<void> snapshot_save(const std::string& name, Progress& progress);
  virtual Expected<void> snapshot_revert(const std::string& name, Progress& progress);
  virtual Expected<std::vector<SnapshotInfo>> snapshot_list();
  virtual Expected<void> snapshot_delete(const std::string& name, Progress& progress);
  // Sets every node's clock to the host's without logging in (libvirt: through the QEMU
  // guest agent), all nodes at once. A provider, or a machine, without such
  // a channel refuses; the caller then sets the clocks over SSH (snapshot_ops.h).
  virtual Expected<std::vector<GuestClock>> set_clocks(Progress& progress);

  // Faults on one node of a lab that is up (fault.h). crash is a hard power-off with no
  // shutdown; start boots a crashed or stopped node again on the same disk and identity
  // and returns once it is started (waiting for SSH is the caller's job); pause freezes
  // the node and resume thaws it; partition takes the node's lab link down (to the other
  // nodes and the host alike) and heal brings it back. A fault that finds the node
  // already in the wanted state succeeds. A provider that cannot do one refuses (the
  // defaults below) and never does something else in its place.
  virtual Expected<void> crash(const std::string& node, Progress& progress);
  virtual Expected<void> start(const std::string& node, Progress& progress);
  virtual Expected<void> pause(const std::string& node, Progress& progress);
  virtual Expected<void> resume(const std::string& node, Progress& progress);
  virtual Expected<void> partition(const std::string& node, Progress& progress);
  virtual Expected<void> heal(const std::string& node, Progress& progress);
};

// Creates the provider the lab names (through the registry, providers/registry.h). Labs
// are checked (check_provider_section) before use, so this only fails when a provider
// cannot work here (Fatal, saying why).
std::unique_ptr<Provider> create_provider(const Lab& lab, LabState& state);

// A provider section a provider cannot use: throws BadInput "<where>: <key>: <what>",
// where `at` is the position the lab loader kept for the key (ProviderSpec::type_at,
// uri_at), or the lab file when the value did not come from it.
[[noreturn]] void bad_provider_section(const Lab& lab, const std::string& at,
                                       const std::string& key, const std::string& what);

}  // namespace dcslab
