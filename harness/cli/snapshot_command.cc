#include "cli/snapshot_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

#include "base/error.h"
#include "base/progress.h"
#include "control/snapshot_ops.h"

namespace dcslab {

const char* const kSnapshotHelp = R"(usage: dcslab snapshot save NAME | revert NAME | list | delete NAME

Lab snapshots with memory state (libvirt): every node is paused, snapshotted with its
RAM and resumed, so all nodes are consistent; a revert brings the running lab back in
about half a second and sets the guests' clocks. A snapshot keeps the lab's record of
which scenarios passed. Providers without memory snapshots (nspawn, virtualbox) refuse.

  save NAME     snapshot every node as NAME (refused if NAME exists)
  revert NAME   go back to NAME
  list          the snapshots, when made, which nodes hold them
  delete NAME   remove NAME from every node

Exit status: 0 ok, 2 bad input, no such snapshot, or a provider without snapshots,
3 infrastructure failure.
)";

namespace {

constexpr const char* kUsage = "snapshot: expected save NAME, revert NAME, list or delete NAME";

// The user asked for something that is not there, is there already, or that this
// provider cannot do: their input, not broken infrastructure.
int failed(const Context& ctx, const Failure& f) {
  spdlog::error("{}", ctx.with_lab_options(f.message));
  return f.kind == Failure::Kind::NotFound || f.kind == Failure::Kind::Refused ? 2 : 3;
}

std::string local_time(long long epoch) {
  if (epoch <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

int cmd_snapshot(Context& ctx) {
  const auto& args = ctx.args();
  if (args.empty()) bad_usage("snapshot", kUsage);
  const std::string& sub = args[0];
  const bool takes_name = sub == "save" || sub == "revert" || sub == "delete";
  if (!takes_name && sub != "list")
    throw BadInput("snapshot: unknown subcommand \"" + sub + "\"; " + kUsage);
  if (takes_name && args.size() != 2) throw BadInput("snapshot " + sub + ": expected one NAME");
  if (!takes_name && args.size() != 1) throw BadInput("snapshot list: no arguments expected");

  const Lab& lab = ctx.lab();
  LabState& state = ctx.state();
  ConsoleProgress progress;
  if (sub == "save") {
    auto r = lab_snapshot_save(lab, state, args[1], progress);
    return r ? 0 : failed(ctx, r.error());
  }
  if (sub == "revert") {
    auto r = lab_snapshot_revert(lab, state, args[1], progress);
    return r ? 0 : failed(ctx, r.error());
  }
  if (sub == "delete") {
    auto r = lab_snapshot_delete(lab, state, args[1], progress);
    return r ? 0 : failed(ctx, r.error());
  }
  auto list = lab_snapshot_list(lab, state);
  if (!list) return failed(ctx, list.error());
  for (const auto& s : *list) {
    std::string nodes;
    for (const auto& n : s.nodes) nodes += (nodes.empty() ? "" : ",") + n;
    std::printf("%-24s %s  %s%s\n", s.name.c_str(), local_time(s.created).c_str(), nodes.c_str(),
                s.complete ? "" : "  (incomplete: not every node has it)");
  }
  return 0;
}

}  // namespace dcslab
