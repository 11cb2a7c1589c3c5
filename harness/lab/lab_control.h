// The scenario runner's only way to the lab. The CLI's implementation sits on lab_ops.h
// (lab_up, connect_node, lab_down); tests use a fake, so the runner is tested without a
// VM. Every method may be called from several threads at once (a multi-node step
// connects to its nodes in parallel).
//
// The SSH sessions are kept here, once for every user of the lab control: what breaks
// them (a reboot, a fault that breaks sessions, a snapshot revert, down) goes through
// this class, which drops them as it does it. An implementation only opens sessions
// (open_session) and does the work (the protected virtuals).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
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
  // A session to `node` as `user`, the one kept for them while it lives. With fresh, a
  // new SSH session even if one is open (`relogin`: a new login picks up new group
  // membership, as in the lab document); it is kept in the old one's place.
  Expected<std::shared_ptr<Transport>> connect(const std::string& node, const std::string& user,
                                               bool fresh);
  // Reboots `node` through the provider and returns once it answers SSH again. Its
  // sessions are dropped.
  Expected<void> reboot(const std::string& node, Progress& progress);
  // A fault through the provider (fault.h): crash, start, pause, resume, partition,
  // heal (kill runs in the guest: the runner's job). start, resume and heal return once
  // the node answers SSH again. The node's sessions are dropped when the fault breaks
  // them (fault_breaks_sessions: a crashed node's are dead). Labs that cannot inject
  // faults refuse.
  Expected<void> fault(const std::string& node, FaultKind kind, Progress& progress);
  // The faults made through fault() that are still in force, as what undoes each: start
  // for a crashed node, resume for a paused one, heal for a cut-off one; starts first,
  // heals last (a node both paused and cut off is resumed before it is healed). A crash
  // ends a node's pause and cut: a node started again boots with its link up, in every
  // provider. down() and a successful snapshot_revert() forget them all.
  std::vector<std::pair<std::string, FaultKind>> faults_in_force() const;
  // The node's serial console log on the host (may not exist: nspawn has none).
  virtual std::filesystem::path console_log(const std::string& node) = 0;
  // Tears the lab down (`dcslab run --down`); every session is dropped.
  Expected<void> down(Progress& progress);

  // Lab snapshots with memory state (snapshot_ops.h), for a scenario's `from:`. Each
  // snapshot records the lab's facts ("passed:<scenario>") and a revert restores them;
  // after a revert the guests' clocks are set and every SSH session opened before is
  // dropped (connect() opens new ones), whether the revert succeeded or not. A lab whose
  // provider keeps no memory state answers Refused (the defaults).
  // The names of the snapshots every node of the lab holds.
  virtual Expected<std::vector<std::string>> snapshots() { return no_snapshots(); }
  virtual Expected<void> snapshot_save(const std::string&, Progress&) { return no_snapshots(); }
  Expected<void> snapshot_revert(const std::string& name, Progress& progress);

 protected:
  // A new session to `node` as `user` (never a kept one: connect() keeps it).
  virtual Expected<std::shared_ptr<Transport>> open_session(const std::string& node,
                                                            const std::string& user) = 0;
  // The work behind reboot(), fault(), down() and snapshot_revert(), which drop the
  // sessions around it.
  virtual Expected<void> reboot_node(const std::string& node, Progress& progress) = 0;
  virtual Expected<void> inject_fault(const std::string& node, FaultKind kind, Progress& progress) {
    (void)progress;
    return Failure::refused(std::string("this lab cannot ") + fault_name(kind) + " " + node);
  }
  virtual Expected<void> take_down(Progress& progress) = 0;
  virtual Expected<void> revert_snapshot(const std::string&, Progress&) { return no_snapshots(); }

  // Keeps a session the lab control opened for its own work for later connect()s (a
  // revert's clock fix over SSH), in place of any kept for node and user.
  void keep_session(const std::string& node, const std::string& user,
                    std::shared_ptr<Transport> session);
  // Drops the sessions kept for `node` (every user).
  void drop_sessions(const std::string& node);
  void drop_all_sessions();

 private:
  static Failure no_snapshots() { return Failure::refused("this lab has no memory snapshots"); }

  std::mutex sessions_mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Transport>> sessions_;
  mutable std::mutex faults_mu_;
  std::map<std::string, std::set<FaultKind>> in_force_;  // node -> crash, pause, partition
};

// Makes the LabControl for the lab the scenarios run on.
using LabControlFactory = std::function<std::unique_ptr<LabControl>(const Lab& lab)>;

}  // namespace dcslab
