// The scenario runner's only way to the lab. The CLI's implementation sits on lab_ops.h
// (lab_up, connect_node, lab_down); tests use a fake, so the runner is tested without a
// VM. Every method may be called from several threads at once (a multi-node step
// connects to its nodes in parallel).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "error.h"
#include "lab.h"
#include "progress.h"
#include "state.h"
#include "transport.h"

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
  // The node's serial console log on the host (may not exist: nspawn has none).
  virtual std::filesystem::path console_log(const std::string& node) = 0;
  // Tears the lab down (`dcslab run --down`).
  virtual Expected<void> down(Progress& progress) = 0;
};

// Makes the LabControl for the lab the scenarios run on.
using LabControlFactory = std::function<std::unique_ptr<LabControl>(const Lab& lab)>;

}  // namespace dcslab
