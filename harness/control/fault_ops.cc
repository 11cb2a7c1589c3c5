#include "control/fault_ops.h"

#include "base/clock.h"
#include "base/text.h"
#include "control/exec_mux.h"
#include "control/lab_ops.h"

namespace dcslab {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Expected<void> provider_fault(Provider& provider, FaultKind kind, const std::string& node,
                              Progress& progress) {
  switch (kind) {
    case FaultKind::Crash: return provider.crash(node, progress);
    case FaultKind::Start: return provider.start(node, progress);
    case FaultKind::Pause: return provider.pause(node, progress);
    case FaultKind::Resume: return provider.resume(node, progress);
    case FaultKind::Partition: return provider.partition(node, progress);
    case FaultKind::Heal: return provider.heal(node, progress);
    case FaultKind::Kill: break;
  }
  return Failure::error("kill is not a provider fault: it runs in the guest");
}

Expected<double> wait_node_answers(const Lab& lab, const LabState& state, const std::string& node,
                                   std::chrono::seconds limit, Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  progress.phase("waiting for SSH on " + node);
  // Each try is a connection of its own (connect_node bounds it at 5 s).
  auto up = poll_until<bool>(RealClock::instance(), limit, std::chrono::milliseconds(250),
                             "SSH on " + node + " to answer",
                             [&](std::string* why) -> std::optional<bool> {
                               if (g_interrupted) return false;
                               auto t = connect_node(lab, state, node, lab.login.user);
                               if (t) return true;
                               *why = t.error().message;
                               return std::nullopt;
                             });
  if (!up) return up.error();
  if (!*up) return Failure::error("interrupted while waiting for SSH on " + node);
  return seconds_since(t0);
}

Expected<FaultTiming> lab_fault(const Lab& lab, LabState& state, const std::string& node,
                                FaultKind kind, const std::string& unit,
                                std::chrono::seconds ssh_timeout, Progress& progress) {
  if (!lab.find_node(node)) {
    const std::string names = join(lab.node_names(), ", ");
    throw BadInput("fault: unknown node \"" + node + "\" (nodes of lab " + lab.name + ": " + names + ")");
  }
  mux_stop(state.dir());  // sessions to a machine about to crash, freeze or be cut off
  if (state.empty()) return Failure::refused("lab " + lab.name + " is not up (dcslab up)");
  DCSLAB_TRY(enter_lab_namespace(state));
  FaultTiming timing;
  const auto t0 = std::chrono::steady_clock::now();
  if (kind == FaultKind::Kill) {
    DCSLAB_TRY_ASSIGN(auto t, connect_node(lab, state, node, lab.login.user));
    ExecOptions o;
    o.timeout = std::chrono::seconds(30);
    DCSLAB_TRY_ASSIGN(auto r, t->exec(kill_unit_command(unit), o));
    timing.fault_s = seconds_since(t0);
    timing.output = r.out + r.err;
    if (r.exit_status != 0)
      return Failure::error("kill " + unit + " on " + node + " failed (exit " +
                            std::to_string(r.exit_status) + "): " + timing.output);
    return timing;
  }
  auto provider = create_provider(lab, state);
  DCSLAB_TRY(provider_fault(*provider, kind, node, progress));
  timing.fault_s = seconds_since(t0);
  if (fault_waits_for_ssh(kind)) {
    DCSLAB_TRY_ASSIGN(auto s, wait_node_answers(lab, state, node, ssh_timeout, progress));
    timing.ssh_s = s;
  }
  return timing;
}

}  // namespace dcslab
