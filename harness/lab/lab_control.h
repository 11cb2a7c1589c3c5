// The scenario runner's only way to the lab. The CLI's implementation sits on lab_ops.h
// (lab_up, connect_node, lab_down); tests use a fake, so the runner is tested without a
// VM. Every method may be called from several threads at once (a multi-node step
// connects to its nodes in parallel).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/fault.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "lab/state.h"
#include "ssh/transport.h"

namespace dcslab {

class LabControl {
 public:
  virtual ~LabControl() = default;
  virtual const Lab& lab() const = 0;
  // The lab's state folder: facts ("passed:<scenario>"), secrets, runs/ (artifacts).
  virtual LabState& state() = 0;
  // Brings the lab up if it is not (a no-op when every node answers). A failure is an
  // infrastructure failure: exit status 3.
  virtual Expected<void> ensure_up(Progress& progress) = 0;
  // A session to `node` as `user`. With fresh, a new SSH session even if one is open
  // (`relogin`: a new login picks up new group membership, as in the lab document).
  virtual Expected<std::shared_ptr<Transport>> connect(const std::string& node,
                                                       const std::string& user, bool fresh) = 0;
  // Reboots `node` through the provider and returns once it answers SSH again.
  virtual Expected<void> reboot(const std::string& node, Progress& progress) = 0;
  // A fault through the provider (fault.h): crash, start, pause, resume, partition,
  // heal (kill runs in the guest: the runner's job). start, resume and heal return once
  // the node answers SSH again. Sessions to the node are dropped (a crashed node's are dead).
  // Labs that cannot inject faults refuse.
  virtual Expected<void> fault(const std::string& node, FaultKind kind, Progress& progress) {
    (void)progress;
    return Failure::refused(std::string("this lab cannot ") + fault_name(kind) + " " + node);
  }
  // The node's serial console log on the host (may not exist: nspawn has none).
  virtual std::filesystem::path console_log(const std::string& node) = 0;
  // Tears the lab down (`dcslab run --down`).
  virtual Expected<void> down(Progress& progress) = 0;

  // Lab snapshots with memory state (snapshot_ops.h), for a scenario's `from:`. Each
  // snapshot records the lab's facts ("passed:<scenario>") and a revert restores them;
  // after a revert the guests' clocks are set and every SSH session opened before is
  // dead (connect() opens new ones). A lab whose provider keeps no memory state answers
  // Refused (the defaults).
  // The names of the snapshots every node of the lab holds.
  virtual Expected<std::vector<std::string>> snapshots() { return no_snapshots(); }
  virtual Expected<void> snapshot_save(const std::string&, Progress&) { return no_snapshots(); }
  virtual Expected<void> snapshot_revert(const std::string&, Progress&) { return no_snapshots(); }

 private:
  static Failure no_snapshots() { return Failure::refused("this lab has no memory snapshots"); }
};

// Makes the LabControl for the lab the scenarios run on.
using LabControlFactory = std::function<std::unique_ptr<LabControl>(const Lab& lab)>;

}  // namespace dcslab
