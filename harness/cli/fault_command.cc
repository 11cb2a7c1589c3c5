#include "cli/fault_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "base/error.h"
#include "base/progress.h"
#include "base/text.h"
#include "control/fault_ops.h"
#include "lab/fault.h"

namespace dcslab {

const char* const kFaultHelp = R"(usage: dcslab fault NODE FAULT [UNIT]

Injects one fault into a node of a lab that is up:
  crash       hard power-off, no shutdown (the disk stays: start boots it again)
  start       boot a crashed or stopped node; returns once it answers SSH
  pause       freeze the node: every process stops (a VM's clock too; a container
              reads the host's clock, which goes on)
  resume      thaw it; returns once it answers SSH
  partition   take the node's lab link down (no traffic to the other nodes or the host)
  heal        bring the link back; returns once it answers SSH
  kill UNIT   SIGKILL to the unit's main process, in the guest (systemd's Restart= applies)

Exit status: 0 done, 1 kill failed on the node, 2 bad input or a fault the node's state
does not allow, 3 infrastructure failure.
)";

int cmd_fault(Context& ctx) {
  const auto& args = ctx.args();
  if (args.size() < 2) bad_usage("fault", "fault: expected NODE FAULT");
  const std::string& node = args[0];
  auto kind = parse_fault_kind(args[1]);
  if (!kind)
    throw BadInput("fault: unknown fault \"" + args[1] + "\" (valid: " + join(fault_names(), ", ") + ")");
  std::string unit;
  if (*kind == FaultKind::Kill) {
    if (args.size() != 3) throw BadInput("fault kill: expected NODE kill UNIT (e.g. etcd)");
    unit = args[2];
  } else if (args.size() != 2) {
    throw BadInput("fault " + args[1] + ": expected NODE " + args[1] + " (a UNIT only for kill)");
  }
  ConsoleProgress progress;
  auto r = lab_fault(ctx.lab(), ctx.state(), node, *kind, unit, std::chrono::seconds(240), progress);
  if (!r) {
    spdlog::error("{}", ctx.with_lab_options(r.error().message));
    if (*kind == FaultKind::Kill && r.error().kind == Failure::Kind::Error) return 1;
    return r.error().kind == Failure::Kind::Refused || r.error().kind == Failure::Kind::NotFound ? 2 : 3;
  }
  std::string line = fmt::format("{}: {} ({}) in {:.2f} s", node, fault_name(*kind),
                                 fault_description(*kind), r->fault_s);
  if (r->ssh_s > 0) line += fmt::format("; SSH answers after {:.2f} s", r->ssh_s);
  progress.done(line);
  if (!r->output.empty()) std::fputs(r->output.c_str(), stdout);
  return 0;
}

}  // namespace dcslab
