#include "lab/fault.h"

#include <algorithm>

#include "base/process.h"  // shell_quote

namespace dcslab {

const char* fault_name(FaultKind k) {
  switch (k) {
    case FaultKind::Crash: return "crash";
    case FaultKind::Start: return "start";
    case FaultKind::Pause: return "pause";
    case FaultKind::Resume: return "resume";
    case FaultKind::Partition: return "partition";
    case FaultKind::Heal: return "heal";
    case FaultKind::Kill: return "kill";
  }
  return "?";
}

const std::vector<std::string>& fault_names() {
  static const std::vector<std::string> names = {"crash",     "start", "pause", "resume",
                                                 "partition", "heal",  "kill"};
  return names;
}

std::optional<FaultKind> parse_fault_kind(const std::string& s) {
  for (FaultKind k : {FaultKind::Crash, FaultKind::Start, FaultKind::Pause, FaultKind::Resume,
                      FaultKind::Partition, FaultKind::Heal, FaultKind::Kill})
    if (s == fault_name(k)) return k;
  return std::nullopt;
}

std::string fault_description(FaultKind k) {
  switch (k) {
    case FaultKind::Crash: return "hard power-off, no shutdown";
    case FaultKind::Start: return "booted again, same disk and identity";
    case FaultKind::Pause: return "frozen";
    case FaultKind::Resume: return "thawed";
    case FaultKind::Partition: return "lab link down";
    case FaultKind::Heal: return "lab link up";
    case FaultKind::Kill: return "SIGKILL to the unit's main process";
  }
  return "?";
}

bool fault_breaks_sessions(FaultKind k) {
  return k == FaultKind::Crash || k == FaultKind::Start || k == FaultKind::Pause ||
         k == FaultKind::Partition;
}

bool fault_waits_for_ssh(FaultKind k) {
  return k == FaultKind::Start || k == FaultKind::Resume || k == FaultKind::Heal;
}

std::string kill_unit_command(const std::string& unit) {
  // By MainPID rather than `systemctl kill --kill-whom=main`: that option is spelled
  // --kill-who before systemd 252, and this reads the same on every suite. A unit with
  // no main process is an error, not a silent success.
  const std::string u = shell_quote(unit);
  return "pid=$(systemctl show --property=MainPID --value -- " + u +
         ") && if [ \"${pid:-0}\" -gt 0 ]; then sudo -n kill -KILL \"$pid\" && "
         "echo \"SIGKILL to $pid, the main process of \"" + u +
         "; else echo " + u + "\": no main process (not running)\" >&2; exit 1; fi";
}

FaultRng::FaultRng(std::uint64_t seed) : seed_(seed), engine_(seed) {}

std::vector<std::string> FaultRng::pick(const std::vector<std::string>& from, int count) {
  std::vector<std::string> pool = from, out;
  for (int i = 0; i < count && !pool.empty(); ++i) {
    // Modulo of a 64-bit draw: the bias for a handful of nodes is below 1e-17.
    const std::size_t at = static_cast<std::size_t>(engine_() % pool.size());
    out.push_back(pool[at]);
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(at));
  }
  return out;
}

std::uint64_t random_seed() {
  std::random_device rd;
  const std::uint64_t hi = rd(), lo = rd();
  // Kept below 2^53 so it survives a JSON reader that parses numbers as doubles.
  return ((hi << 32) | lo) & ((std::uint64_t{1} << 53) - 1);
}

}  // namespace dcslab
