#include "cli/snapshot_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

#include "base/error.h"
#include "base/progress.h"
#include "control/snapshot_ops.h"

namespace dcslab {

namespace {

constexpr const char* kUsage = "snapshot: expected save NAME, revert NAME, list or delete NAME";

// The user asked for something that is not there, is there already, or that this
// provider cannot do: their input, not broken infrastructure.
int failed(const Failure& f) {
  spdlog::error("{}", f.message);
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

int cmd_snapshot(const Lab& lab, LabState& state, const std::vector<std::string>& args) {
  if (args.empty()) throw BadInput(std::string(kUsage) + " (see dcslab --help)");
  const std::string& sub = args[0];
  const bool takes_name = sub == "save" || sub == "revert" || sub == "delete";
  if (!takes_name && sub != "list")
    throw BadInput("snapshot: unknown subcommand \"" + sub + "\"; " + kUsage);
  if (takes_name && args.size() != 2) throw BadInput("snapshot " + sub + ": expected one NAME");
  if (!takes_name && args.size() != 1) throw BadInput("snapshot list: no arguments expected");

  ConsoleProgress progress;
  if (sub == "save") {
    auto r = lab_snapshot_save(lab, state, args[1], progress);
    return r ? 0 : failed(r.error());
  }
  if (sub == "revert") {
    auto r = lab_snapshot_revert(lab, state, args[1], progress);
    return r ? 0 : failed(r.error());
  }
  if (sub == "delete") {
    auto r = lab_snapshot_delete(lab, state, args[1], progress);
    return r ? 0 : failed(r.error());
  }
  auto list = lab_snapshot_list(lab, state);
  if (!list) return failed(list.error());
  for (const auto& s : *list) {
    std::string nodes;
    for (const auto& n : s.nodes) nodes += (nodes.empty() ? "" : ",") + n;
    std::printf("%-24s %s  %s%s\n", s.name.c_str(), local_time(s.created).c_str(), nodes.c_str(),
                s.complete ? "" : "  (incomplete: not every node has it)");
  }
  return 0;
}

}  // namespace dcslab
