#include "control/snapshot_ops.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <sstream>
#include <thread>

#include "lab/consistent_snapshot.h"
#include "control/exec_mux.h"
#include "control/lab_ops.h"

namespace dcslab {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double host_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void check_name(const std::string& name) {
  if (!valid_snapshot_name(name))
    throw BadInput("snapshot name \"" + name +
                   "\": use letters, digits, '.', '_' and '-' (at most 64, not starting with "
                   "'-' or '.')");
}

// The lab must exist, and the process must be in its namespace before any thread starts.
Expected<std::unique_ptr<Provider>> lab_provider(const Lab& lab, LabState& state) {
  if (state.empty()) return Failure::refused("lab " + lab.name + " is not up (dcslab up)");
  DCSLAB_TRY(enter_lab_namespace(state));
  return create_provider(lab, state);
}

std::optional<double> parse_double(const std::string& s) {
  try {
    return std::stod(s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}


}  // namespace

Expected<double> lab_snapshot_save(const Lab& lab, LabState& state, const std::string& name,
                                   Progress& progress) {
  check_name(name);
  DCSLAB_TRY_ASSIGN(auto provider, lab_provider(lab, state));
  const auto t0 = std::chrono::steady_clock::now();
  DCSLAB_TRY(provider->snapshot_save(name, progress));
  record_snapshot_facts(state, name);
  const double s = seconds_since(t0);
  progress.done(fmt::format("lab {} saved as snapshot {} in {:.2f} s", lab.name, name, s));
  return s;
}

Expected<RevertReport> lab_snapshot_revert(const Lab& lab, LabState& state, const std::string& name,
                                           Progress& progress) {
  check_name(name);
  mux_stop(state.dir());  // its sessions belong to the machines' present, not the snapshot's
  DCSLAB_TRY_ASSIGN(auto provider, lab_provider(lab, state));
  RevertReport report;
  const auto t0 = std::chrono::steady_clock::now();
  DCSLAB_TRY(provider->snapshot_revert(name, progress));
  report.revert_s = seconds_since(t0);
  report.facts_restored = restore_snapshot_facts(state, name);
  progress.done(fmt::format("lab {} reverted to {} in {:.2f} s", lab.name, name, report.revert_s));

  const auto t1 = std::chrono::steady_clock::now();
  // As the login user: SshLabControl keeps these sessions for later steps, which run as
  // that user by default.
  DCSLAB_TRY_ASSIGN(
      auto fixed,
      set_clocks_after_revert(
          [&] { return provider->set_clocks(progress); }, lab.node_names(),
          [&](const std::string& node) { return connect_node(lab, state, node, lab.login.user); },
          host_epoch, RealClock::instance(), std::chrono::seconds(30), progress,
          &report.clocks_via));
  report.clocks = std::move(fixed);
  report.clocks_s = seconds_since(t1);
  std::string behind;
  for (const auto& c : report.clocks)
    behind += fmt::format("{}{} {:+.1f} s", behind.empty() ? "" : ", ", c.node, c.before_s);
  progress.done(fmt::format("clocks set from the host in {:.2f} s over {} (were: {})", report.clocks_s,
                            report.clocks_via, behind));
  return report;
}

Expected<std::vector<SnapshotInfo>> lab_snapshot_list(const Lab& lab, LabState& state) {
  DCSLAB_TRY_ASSIGN(auto provider, lab_provider(lab, state));
  return provider->snapshot_list();
}

Expected<void> lab_snapshot_delete(const Lab& lab, LabState& state, const std::string& name,
                                   Progress& progress) {
  check_name(name);
  DCSLAB_TRY_ASSIGN(auto provider, lab_provider(lab, state));
  DCSLAB_TRY(provider->snapshot_delete(name, progress));
  forget_snapshot_facts(state, name);
  progress.done("snapshot " + name + " of lab " + lab.name + " deleted");
  return {};
}

Expected<std::vector<ClockFix>> set_clocks_after_revert(const AgentClocks& through_agents,
                                                        const std::vector<std::string>& nodes,
                                                        const NodeConnector& connect,
                                                        const WallClock& wall, Clock& clock,
                                                        std::chrono::seconds limit,
                                                        Progress& progress, std::string* via) {
  auto agent = through_agents();
  if (agent) {
    *via = "guest agent";
    std::vector<ClockFix> fixes;
    for (const auto& g : *agent) fixes.push_back(ClockFix{g.node, g.before_s, g.after_s, nullptr});
    return fixes;
  }
  progress.done("the clocks cannot be set through guest agents (" + agent.error().message +
                "); setting them over SSH");
  *via = "SSH";
  return correct_node_clocks(nodes, connect, wall, clock, limit, progress);
}

Expected<std::vector<ClockFix>> correct_node_clocks(const std::vector<std::string>& nodes,
                                                    const NodeConnector& connect,
                                                    const WallClock& wall, Clock& clock,
                                                    std::chrono::seconds limit, Progress& progress) {
  std::vector<ClockFix> fixes(nodes.size());
  std::vector<std::optional<Failure>> failures(nodes.size());
  std::vector<std::thread> threads;
  progress.phase("setting the clocks of " + std::to_string(nodes.size()) + " nodes over SSH");
  for (size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] {
      const std::string& node = nodes[i];
      fixes[i].node = node;
      auto session = poll_until<std::unique_ptr<Transport>>(
          clock, limit, std::chrono::milliseconds(200), "SSH to " + node + " after the revert",
          [&](std::string* reason) -> std::optional<std::unique_ptr<Transport>> {
            auto t = connect(node);
            if (t) return std::move(*t);
            *reason = t.error().message;
            return std::nullopt;
          });
      if (!session) {
        failures[i] = session.error();
        return;
      }
      ExecOptions eo;
      eo.timeout = std::chrono::seconds(20);
      // The guest's offset from the host, measured by a round trip: its time against the
      // middle of the host's before and after (error at most half the round trip).
      const double before = wall();
      auto r = (*session)->exec("date +%s.%N", eo);
      const double after = wall();
      if (!r) {
        failures[i] = r.error();
        return;
      }
      auto g = parse_double(r->out);
      if (r->exit_status != 0 || !g) {
        failures[i] = Failure::error("reading the clock of " + node + ": " + r->out + r->err);
        return;
      }
      const double stale = *g - (before + after) / 2;
      // The correction is applied relative to the guest's own clock, computed by root's
      // shell at the moment it sets the time: sudo's start-up (seconds under TCG on a busy
      // host) must not end up in the clock. The same command prints the corrected time.
      const std::string cmd = fmt::format(
          "sudo -n sh -c \"date -u -s @\\$(awk -v o={:.6f} -v t=\\$(date +%s.%N) "
          "'BEGIN {{ printf \\\"%.3f\\\", t + o }}') >/dev/null && date +%s.%N\"",
          -stale);
      auto set = (*session)->exec(cmd, eo);
      const double answered = wall();
      if (!set) {
        failures[i] = set.error();
        return;
      }
      if (set->exit_status != 0) {
        failures[i] = Failure::error("setting the clock of " + node + " failed (exit " +
                                     std::to_string(set->exit_status) + "): " + set->out + set->err);
        return;
      }
      auto now = parse_double(set->out);
      if (!now) {
        failures[i] = Failure::error("reading the clock of " + node + " after setting it: " +
                                     set->out + set->err);
        return;
      }
      fixes[i].before_s = stale;
      fixes[i].after_s = *now - answered;
      fixes[i].session = std::shared_ptr<Transport>(std::move(*session));
    });
  }
  for (auto& t : threads) t.join();
  std::string failed;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (failures[i]) failed += "\n  " + nodes[i] + ": " + failures[i]->message;
  if (!failed.empty())
    return Failure::error("after the revert, not every node's clock could be set:" + failed);
  return fixes;
}

}  // namespace dcslab
