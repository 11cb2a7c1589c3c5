// The real LabControl: the scenario runner's way to a lab, over lab_ops (up, connect,
// down) with one SSH session per node and user, reused across steps.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "lab/lab_control.h"
#include "control/lab_ops.h"

namespace dcslab {

class SshLabControl : public LabControl {
 public:
  SshLabControl(Lab lab, UpOptions up_options);
  const Lab& lab() const override { return lab_; }
  LabState& state() override { return state_; }
  Expected<void> ensure_up(Progress& progress) override;
  Expected<std::shared_ptr<Transport>> connect(const std::string& node, const std::string& user,
                                               bool fresh) override;
  Expected<void> reboot(const std::string& node, Progress& progress) override;
  Expected<void> fault(const std::string& node, FaultKind kind, Progress& progress) override;
  std::filesystem::path console_log(const std::string& node) override;
  Expected<void> down(Progress& progress) override;
  Expected<std::vector<std::string>> snapshots() override;
  Expected<void> snapshot_save(const std::string& name, Progress& progress) override;
  Expected<void> snapshot_revert(const std::string& name, Progress& progress) override;

 private:
  Lab lab_;
  UpOptions up_options_;
  LabState state_;
  std::mutex mu_;
  std::mutex fault_mu_;  // one provider call at a time (parallel fault steps)
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Transport>> sessions_;
};

}  // namespace dcslab
