// Lab snapshots as the CLI and the scenario runner use them: enter the lab's network
// namespace (like lab_ops), let the provider save or revert every node consistently
// (provider.h, consistent_snapshot.h), and after a revert set the guests' clocks. A
// reverted guest's clock is wrong: it resumes from the snapshot's machine state (under
// TCG measured 4 to 13 s behind the host after reverting a 25-minute-old snapshot; a
// clock source that stops with the machine would be the snapshot's age behind): TLS
// certificates "not yet valid", etcd leases and journal times off. The provider sets
// the clocks through the QEMU guest agent when the machines have one (no login; about a
// second for three nodes under TCG); otherwise they are set over SSH (sudo date), about
// 3 s under TCG. SSH sessions opened before a revert are dead (the guest's TCP state
// went back in time): callers holding sessions open new ones.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "providers/provider.h"
#include "lab/lab_facts.h"
#include "lab/state.h"
#include "ssh/transport.h"

namespace dcslab {

struct ClockFix {
  std::string node;
  double before_s = 0;  // guest minus host before setting, seconds (negative: behind)
  double after_s = 0;   // guest minus host after setting (see correct_node_clocks)
  // The SSH session it was set over, still open; null when set through the guest agent.
  std::shared_ptr<Transport> session;
};

struct RevertReport {
  double revert_s = 0;  // the provider's pause / revert / resume of every node
  double clocks_s = 0;  // setting every node's clock
  std::string clocks_via;  // "guest agent" (Provider::set_clocks) or "SSH" (correct_node_clocks)
  bool facts_restored = false;  // the snapshot had recorded facts (record_snapshot_facts)
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

// Opens a session to a node (as the login user, who has passwordless sudo).
using NodeConnector = std::function<Expected<std::unique_ptr<Transport>>(const std::string& node)>;
// Host time now, seconds since the epoch (a seam so the test knows the value sent).
using WallClock = std::function<double()>;

// What Provider::set_clocks answers (a seam so the test chooses it).
using AgentClocks = std::function<Expected<std::vector<GuestClock>>()>;

// After a revert: the clocks through the guest agents when `through_agents` can set
// them (no SSH session is opened; ClockFix::session stays null), otherwise one line says
// why and correct_node_clocks sets them over SSH. *via says which ("guest agent", "SSH").
Expected<std::vector<ClockFix>> set_clocks_after_revert(const AgentClocks& through_agents,
                                                        const std::vector<std::string>& nodes,
                                                        const NodeConnector& connect,
                                                        const WallClock& wall, Clock& clock,
                                                        std::chrono::seconds limit,
                                                        Progress& progress, std::string* via);

// Sets every node's clock to the host's, all nodes at once, each connection retried for
// up to `limit` (a just-resumed guest answers within a moment). Two commands a node on
// the one session: the guest's time (its offset, from the round trip), then the
// correction, applied relative to the guest's own clock so that sudo's start-up does not
// end up in it, which also prints the corrected time. after_s compares that with the
// host's time when the answer arrived: it errs by at most the answer's way back, never by
// sudo's start-up. The sessions stay open for the caller (ClockFix::session): right after
// a revert every other session is dead, and a just-resumed guest is slow to log in.
Expected<std::vector<ClockFix>> correct_node_clocks(const std::vector<std::string>& nodes,
                                                    const NodeConnector& connect,
                                                    const WallClock& wall, Clock& clock,
                                                    std::chrono::seconds limit, Progress& progress);

}  // namespace dcslab
