// fault: through the provider (crash, start, pause, resume, partition, heal), or kill, a
// command in the guest like run.
#include "base/text.h"
#include "run/actions/actions.h"

namespace dcslab {

void run_action(const FaultSpec& spec, NodeStep& step) {
  // A writer running through it gets the fault's window on its own clock (its timeline);
  // a PostgreSQL writer too, on its own clock.
  const auto started = step.services.writers.now_all();
  const auto pg_started = step.services.pg_writers ? step.services.pg_writers->now_all()
                                                   : std::map<std::string, double>{};
  const auto mark = [&] {
    step.services.writers.mark_faults(spec.kind, step.node, started);
    if (step.services.pg_writers)
      step.services.pg_writers->mark_faults(std::string(fault_name(spec.kind)) + " " + step.node,
                                            pg_started);
  };
  if (spec.kind == FaultKind::Kill) {  // SIGKILL to the unit's main process, in the guest
    auto tr = step.session("connect as " + step.st.user);
    if (!tr) return;
    const ExecOptions opts = step.prepare_attempts();
    step.nr.command = kill_unit_command(step.expand(spec.unit));
    step.repeat([&] { return tr->exec(step.nr.command, opts); });
    mark();
    return;
  }
  // The LabControl drops the node's sessions when the fault breaks them.
  step.nr.command = std::string(fault_name(spec.kind)) + " " + step.node + " (" +
                    fault_description(spec.kind) + ", through the provider)" +
                    (step.nodes_note.empty() ? "" : "; " + step.nodes_note);
  step.once(step.services.lab.fault(step.node, spec.kind, step.services.progress),
            fault_name(spec.kind));
  mark();
}

Expected<std::vector<std::string>> fault_nodes(const FaultSpec& spec, const Scenario& sc,
                                               const std::vector<std::string>& nodes,
                                               const TemplateValues& first, FaultRng& rng,
                                               std::string* note) {
  const std::string valid = join(sc.lab.node_names(), ", ");
  if (!spec.node.empty()) {
    std::string name;
    try {
      name = expand_templates(spec.node, first);
    } catch (const BadInput& e) {
      return Failure::error(std::string("fault.node: ") + e.what());
    }
    if (!sc.lab.find_node(name))
      return Failure::error("fault.node: \"" + name + "\" (from " + spec.node +
                            ") is not a node of lab " + sc.lab.name + " (valid: " + valid + ")");
    return std::vector<std::string>{name};
  }
  if (spec.pick_random) {
    if (spec.count > static_cast<int>(nodes.size()))
      return Failure::error("fault.count: cannot pick " + std::to_string(spec.count) +
                            " distinct nodes from " + std::to_string(nodes.size()));
    auto picked = rng.pick(nodes, spec.count);
    *note = "picked at random from " + join(nodes, ", ") + " (seed " + std::to_string(rng.seed()) + ")";
    return picked;
  }
  return nodes;
}

}  // namespace dcslab
