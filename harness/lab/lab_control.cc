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
  return inject_fault(node, kind, progress);
}

Expected<void> LabControl::down(Progress& progress) {
  drop_all_sessions();
  return take_down(progress);
}

// The sessions opened before are dead (the guests' TCP state went back in time), and
// after a failed revert no one knows which are alive.
Expected<void> LabControl::snapshot_revert(const std::string& name, Progress& progress) {
  drop_all_sessions();
  auto r = revert_snapshot(name, progress);
  if (!r) drop_all_sessions();
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
