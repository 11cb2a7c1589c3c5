#include "control/ssh_lab_control.h"

#include "base/clock.h"
#include "control/fault_ops.h"
#include "control/snapshot_ops.h"
#include "ssh/ssh_transport.h"

namespace dcslab {

SshLabControl::SshLabControl(Lab lab, UpOptions up_options)
    : lab_(std::move(lab)), up_options_(up_options), state_(dcslab_home(), lab_.name) {}

// Up when every node is running and answers; otherwise `up`, which is idempotent: it
// reuses what exists and starts what is missing.
Expected<void> SshLabControl::ensure_up(Progress& progress) {
  if (!state_.empty()) {
    DCSLAB_TRY(enter_lab_namespace(state_));
    auto status = lab_status(lab_, state_);
    bool all_running = status.ok();
    if (status)
      for (const auto& s : *status) all_running = all_running && s.state == "running";
    if (all_running) {
      bool all_answer = true;
      for (const auto& n : lab_.nodes) all_answer = all_answer && connect(n.name, lab_.login.user, false).ok();
      if (all_answer) return {};
    }
  }
  DCSLAB_TRY(lab_up(lab_, state_, up_options_, progress));
  return {};
}

Expected<std::shared_ptr<Transport>> SshLabControl::open_session(const std::string& node,
                                                                 const std::string& user) {
  DCSLAB_TRY_ASSIGN(auto t, connect_node(lab_, state_, node, user));
  return std::shared_ptr<Transport>(std::move(t));
}

// A reboot from inside the guest, then `up` again: a VM comes back by itself, a
// container's machine ends with its reboot and `up` starts it again on the same layer.
Expected<void> SshLabControl::reboot_node(const std::string& node, Progress& progress) {
  DCSLAB_TRY_ASSIGN(auto t, connect(node, "root", true));
  ExecOptions o;
  o.timeout = std::chrono::seconds(10);
  // The connection drops as the node goes down: no exit status to check.
  (void)t->exec("systemctl reboot", o);
  drop_sessions(node);
  progress.phase("rebooting " + node);
  // Wait for SSH to go away before waiting for it to come back.
  const Node* n = lab_.find_node(node);
  auto gone = poll_until<bool>(RealClock::instance(), std::chrono::seconds(60),
                               std::chrono::milliseconds(500), "SSH on " + node + " to go down",
                               [&](std::string*) -> std::optional<bool> {
                                 if (connect_node(lab_, state_, n->name, "root").ok())
                                   return std::nullopt;
                                 return true;
                               });
  if (!gone) return gone.error();
  DCSLAB_TRY(lab_up(lab_, state_, up_options_, progress));
  return {};
}

// The provider call under a lock (the nodes of a multi-node fault step arrive in
// parallel and share the ledger), the SSH wait outside it, so three nodes started
// together boot together. The namespace was entered by ensure_up.
Expected<void> SshLabControl::inject_fault(const std::string& node, FaultKind kind,
                                           Progress& progress) {
  {
    std::lock_guard lock(fault_mu_);
    auto provider = create_provider(lab_, state_);
    DCSLAB_TRY(provider_fault(*provider, kind, node, progress));
  }
  if (fault_waits_for_ssh(kind)) {
    DCSLAB_TRY(wait_node_answers(lab_, state_, node, up_options_.ssh_timeout, progress));
  }
  return {};
}

std::filesystem::path SshLabControl::console_log(const std::string& node) {
  return state_.dir() / "nodes" / node / "console.log";
}

Expected<std::vector<std::string>> SshLabControl::snapshots() {
  DCSLAB_TRY_ASSIGN(auto list, lab_snapshot_list(lab_, state_));
  std::vector<std::string> names;
  for (const auto& s : list)
    if (s.complete) names.push_back(s.name);
  return names;
}

Expected<void> SshLabControl::snapshot_save(const std::string& name, Progress& progress) {
  DCSLAB_TRY(lab_snapshot_save(lab_, state_, name, progress));
  return {};
}

// A clock correction over SSH opened fresh sessions as the login user, which later steps
// reuse; after one through the guest agents, steps open theirs as they need them.
Expected<void> SshLabControl::revert_snapshot(const std::string& name, Progress& progress) {
  DCSLAB_TRY_ASSIGN(auto r, lab_snapshot_revert(lab_, state_, name, progress));
  for (auto& fix : r.clocks)
    if (fix.session) keep_session(fix.node, lab_.login.user, std::move(fix.session));
  return {};
}

Expected<void> SshLabControl::take_down(Progress& progress) {
  return lab_down(lab_, state_, progress);
}

}  // namespace dcslab
