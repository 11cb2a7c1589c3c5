#include "lab/lab_control.h"

namespace dcslab {

Expected<std::shared_ptr<Transport>> LabControl::connect(const std::string& node,
                                                         const std::string& user, bool fresh) {
  const auto key = std::make_pair(node, user);
  {
    std::lock_guard lock(sessions_mu_);
    if (!fresh)
      if (auto it = sessions_.find(key); it != sessions_.end()) return it->second;
  }
  // Opened outside the lock: the nodes of a parallel step connect at the same time.
  DCSLAB_TRY_ASSIGN(auto t, open_session(node, user));
  keep_session(node, user, t);
  return t;
}

Expected<void> LabControl::reboot(const std::string& node, Progress& progress) {
  drop_sessions(node);
  auto r = reboot_node(node, progress);
  // Sessions opened for the reboot itself died with the node.
  drop_sessions(node);
  return r;
}

Expected<void> LabControl::fault(const std::string& node, FaultKind kind, Progress& progress) {
  if (fault_breaks_sessions(kind)) drop_sessions(node);
  auto r = inject_fault(node, kind, progress);
  if (!r) return r;
  std::lock_guard lock(faults_mu_);
  auto& f = in_force_[node];
  switch (kind) {
    case FaultKind::Crash: f = {FaultKind::Crash}; break;
    case FaultKind::Start: f.erase(FaultKind::Crash); break;
    case FaultKind::Pause: f.insert(FaultKind::Pause); break;
    case FaultKind::Resume: f.erase(FaultKind::Pause); break;
    case FaultKind::Partition: f.insert(FaultKind::Partition); break;
    case FaultKind::Heal: f.erase(FaultKind::Partition); break;
    case FaultKind::Kill: break;
  }
  if (f.empty()) in_force_.erase(node);
  return r;
}

std::vector<std::pair<std::string, FaultKind>> LabControl::faults_in_force() const {
  std::lock_guard lock(faults_mu_);
  std::vector<std::pair<std::string, FaultKind>> undo;
  const std::pair<FaultKind, FaultKind> order[] = {{FaultKind::Crash, FaultKind::Start},
                                                    {FaultKind::Pause, FaultKind::Resume},
                                                    {FaultKind::Partition, FaultKind::Heal}};
  for (const auto& [fault, undone_by] : order)
    for (const auto& [node, kinds] : in_force_)
      if (kinds.count(fault)) undo.emplace_back(node, undone_by);
  return undo;
}

Expected<void> LabControl::down(Progress& progress) {
  drop_all_sessions();
  {
    std::lock_guard lock(faults_mu_);
    in_force_.clear();
  }
  return take_down(progress);
}

// The sessions opened before are dead (the guests' TCP state went back in time), and
// after a failed revert no one knows which are alive.
Expected<void> LabControl::snapshot_revert(const std::string& name, Progress& progress) {
  drop_all_sessions();
  auto r = revert_snapshot(name, progress);
  if (!r) {
    drop_all_sessions();
  } else {
    std::lock_guard lock(faults_mu_);
    in_force_.clear();
  }
  return r;
}

void LabControl::keep_session(const std::string& node, const std::string& user,
                              std::shared_ptr<Transport> session) {
  std::lock_guard lock(sessions_mu_);
  sessions_[{node, user}] = std::move(session);
}

void LabControl::drop_sessions(const std::string& node) {
  std::lock_guard lock(sessions_mu_);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.first.first == node; });
}

void LabControl::drop_all_sessions() {
  std::lock_guard lock(sessions_mu_);
  sessions_.clear();
}

}  // namespace dcslab
