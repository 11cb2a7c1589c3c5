// Lab snapshots as the CLI and the scenario runner use them: enter the lab's network
// namespace (like lab_ops), let the provider save or revert every node consistently
// (provider.h, consistent_snapshot.h), and after a revert set the guests' clocks. A
// memory snapshot freezes the guest clock with the rest of the machine, so a node
// reverted to an hour-old snapshot believes it is an hour ago: TLS certificates "not yet
// valid", etcd leases and journal times wrong. There is no guest agent in the image, so
// the clock is set over SSH (sudo date), which also shows that every node answers SSH
// again. SSH sessions opened before a revert are dead (the guest's TCP state went back
// in time): callers holding sessions open new ones.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clock.h"
#include "error.h"
#include "lab.h"
#include "progress.h"
#include "provider.h"
#include "state.h"
#include "transport.h"

namespace dcslab {

struct ClockFix {
  std::string node;
  double before_s = 0;  // guest minus host before setting, seconds (negative: behind)
  double after_s = 0;   // guest minus host after setting
};

struct RevertReport {
  double revert_s = 0;  // the provider's pause / revert / resume of every node
  double clocks_s = 0;  // SSH to every node and setting its clock
  std::vector<ClockFix> clocks;
};

// Throws BadInput for a name that is not valid_snapshot_name.
Expected<double> lab_snapshot_save(const Lab& lab, LabState& state, const std::string& name,
                                   Progress& progress);
Expected<RevertReport> lab_snapshot_revert(const Lab& lab, LabState& state, const std::string& name,
                                           Progress& progress);
Expected<std::vector<SnapshotInfo>> lab_snapshot_list(const Lab& lab, LabState& state);
Expected<void> lab_snapshot_delete(const Lab& lab, LabState& state, const std::string& name,
                                   Progress& progress);

// Opens a session to a node (as "tux", who has passwordless sudo).
using NodeConnector = std::function<Expected<std::unique_ptr<Transport>>(const std::string& node)>;
// Host time now, seconds since the epoch (a seam so the test knows the value sent).
using WallClock = std::function<double()>;

// Sets every node's clock to the host's, all nodes at once, each connection retried for
// up to `limit` (a just-resumed guest answers within a moment).
Expected<std::vector<ClockFix>> correct_node_clocks(const std::vector<std::string>& nodes,
                                                    const NodeConnector& connect,
                                                    const WallClock& wall, Clock& clock,
                                                    std::chrono::seconds limit, Progress& progress);

}  // namespace dcslab
