// The real LabControl: the scenario runner's way to a lab, over lab_ops (up, connect,
// down); LabControl keeps one SSH session per node and user, reused across steps.
#pragma once

#include <memory>
#include <mutex>

#include "lab/lab_control.h"
#include "control/lab_ops.h"

namespace dcslab {

class SshLabControl : public LabControl {
 public:
  SshLabControl(Lab lab, UpOptions up_options);
  const Lab& lab() const override { return lab_; }
  LabState& state() override { return state_; }
  Expected<void> ensure_up(Progress& progress) override;
  std::filesystem::path console_log(const std::string& node) override;
  Expected<std::vector<std::string>> snapshots() override;
  Expected<void> snapshot_save(const std::string& name, Progress& progress) override;

 protected:
  Expected<std::shared_ptr<Transport>> open_session(const std::string& node,
                                                    const std::string& user) override;
  Expected<void> reboot_node(const std::string& node, Progress& progress) override;
  Expected<void> inject_fault(const std::string& node, FaultKind kind, Progress& progress) override;
  Expected<void> take_down(Progress& progress) override;
  Expected<void> revert_snapshot(const std::string& name, Progress& progress) override;

 private:
  Lab lab_;
  UpOptions up_options_;
  LabState state_;
  std::mutex fault_mu_;  // one provider call at a time (parallel fault steps)
};

}  // namespace dcslab
