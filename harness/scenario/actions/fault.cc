#include "scenario/actions/fault.h"

#include "base/text.h"
#include "scenario/step_parser.h"

namespace dcslab {

// fault: KIND | {do: KIND, node: NODE | pick: random, count: N, unit: UNIT}
FaultSpec FaultSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step& st) {
  const Reader& r = p.reader();
  FaultSpec f;
  const std::string valid = join(fault_names(), ", ");
  if (!a.IsMap() && !a.IsScalar())
    r.fail(a, ak, "expected a fault (" + valid + ") or {do: FAULT, ...}, found " + yaml_kind(a));
  if (a.IsMap()) {
    r.expect_map(a, ak, {"do", "node", "pick", "count", "unit"});
    if (!a["do"]) r.fail(a, ak + ".do", "missing (required: " + valid + ")");
  }
  const YAML::Node k = a.IsMap() ? a["do"] : a;
  const std::string kk = a.IsMap() ? ak + ".do" : ak;
  const std::string name = r.scalar(k, kk, "a fault");
  const auto parsed = parse_fault_kind(name);
  if (!parsed) r.fail(k, kk, "unknown fault \"" + name + "\" (valid: " + valid + ")");
  f.kind = *parsed;
  if (!a.IsMap()) {
    if (f.kind == FaultKind::Kill)
      r.fail(a, ak, "kill needs the unit whose main process it kills: {do: kill, unit: etcd}");
    return f;
  }
  if (const YAML::Node u = a["unit"]) {
    if (f.kind != FaultKind::Kill)
      r.fail(u, ak + ".unit", "only kill takes a unit (this fault is " + name + ")");
    f.unit = p.tmpl(u, ak + ".unit");
    if (f.unit.empty()) r.fail(u, ak + ".unit", "must not be empty");
  } else if (f.kind == FaultKind::Kill) {
    r.fail(a, ak + ".unit", "missing (required for kill: the systemd unit, e.g. etcd)");
  }
  if (a["node"] && a["pick"])
    r.fail(a["pick"], ak + ".pick", "give node (that node) or pick (from the step's on), not both");
  if (const YAML::Node n = a["node"]) {
    f.node = p.tmpl(n, ak + ".node");
    if (f.node.find("{{") == std::string::npos && !p.lab().find_node(f.node))
      r.fail(n, ak + ".node", "unknown node \"" + f.node + "\" (valid: " +
                                  join(p.lab().node_names(), ", ") + ")");
  }
  if (const YAML::Node pick = a["pick"]) {
    const std::string v = r.scalar(pick, ak + ".pick");
    if (v != "random") r.fail(pick, ak + ".pick", "unknown pick \"" + v + "\" (valid: random)");
    f.pick_random = true;
  }
  if (const YAML::Node c = a["count"]) {
    if (!f.pick_random) r.fail(c, ak + ".count", "only with pick: random (how many nodes it picks)");
    f.count = r.integer(c, ak + ".count", 1, 64);
    if (st.on_template.empty() && f.count > static_cast<int>(st.on.size()))
      r.fail(c, ak + ".count", "picks " + std::to_string(f.count) + " distinct nodes from " +
                                   std::to_string(st.on.size()) + " (" + join(st.on, ", ") + ")");
  }
  return f;
}

std::string FaultSpec::default_name() const {
  return std::string(fault_name(kind)) + (kind == FaultKind::Kill ? " " + unit : "") +
         (!node.empty() ? " " + node
          : pick_random ? " (random pick)"
                        : "");
}

}  // namespace dcslab
