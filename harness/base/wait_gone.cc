#include "base/wait_gone.h"

#include <algorithm>
#include <map>

#include "base/text.h"

namespace dcslab {

using namespace std::chrono_literals;

std::string gone_kind_name(GoneKind kind, std::size_t count) {
  const bool many = count != 1;
  switch (kind) {
    case GoneKind::Machine: return many ? "machines" : "machine";
    case GoneKind::Process: return many ? "processes" : "process";
    case GoneKind::Link: return many ? "links" : "link";
    case GoneKind::Mount: return many ? "mounts" : "mount";
    case GoneKind::Namespace: return many ? "namespaces" : "namespace";
  }
  return "?";
}

std::chrono::seconds GoneLimits::of(GoneKind kind) const {
  switch (kind) {
    case GoneKind::Machine: return machine;
    case GoneKind::Process: return process;
    case GoneKind::Link: return link;
    case GoneKind::Mount: return mount;
    case GoneKind::Namespace: return namespace_;
  }
  return machine;
}

namespace {

// "2 processes, 1 link of lab dcs: pid 12 (sshd) of dcs-00, ..."
std::string describe(const std::vector<Lingering>& items, const std::string& owner) {
  std::map<GoneKind, std::size_t> counts;
  for (const auto& i : items) ++counts[i.kind];
  std::vector<std::string> parts, whats;
  for (const auto& [kind, n] : counts) parts.push_back(std::to_string(n) + " " + gone_kind_name(kind, n));
  // A container's dozen processes would drown the line: the first few, then a count.
  constexpr std::size_t kNamed = 8;
  for (std::size_t i = 0; i < items.size() && i < kNamed; ++i) whats.push_back(items[i].what);
  if (items.size() > kNamed) whats.push_back("and " + std::to_string(items.size() - kNamed) + " more");
  return join(parts, ", ") + " of " + owner + ": " + join(whats, ", ");
}

}  // namespace

Expected<void> wait_until_gone(Clock& clock, const std::string& owner, const GoneLimits& limits,
                               Progress& progress,
                               const std::function<std::vector<Lingering>()>& probe) {
  const auto start = clock.now();
  std::chrono::seconds longest{0};
  for (auto k : {GoneKind::Machine, GoneKind::Process, GoneKind::Link, GoneKind::Mount,
                 GoneKind::Namespace})
    longest = std::max(longest, limits.of(k));
  std::vector<Lingering> left;
  bool overdue = false;
  auto done = poll_until<bool>(
      clock, longest, 100ms, "everything of " + owner + " to go",
      [&](std::string* reason) -> std::optional<bool> {
        left = probe();
        if (left.empty()) return true;
        *reason = describe(left, owner);
        const auto elapsed = clock.now() - start;
        std::chrono::seconds limit{0};
        for (const auto& i : left) {
          limit = std::max(limit, limits.of(i.kind));
          if (elapsed >= limits.of(i.kind)) overdue = true;
        }
        if (overdue) return false;
        if (elapsed >= 1s)
          progress.waiting(*reason, std::chrono::duration_cast<std::chrono::seconds>(elapsed), limit);
        return std::nullopt;
      });
  if (done && *done) return {};
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(clock.now() - start);
  return Failure::timeout("after " + std::to_string(waited.count()) + " s still there: " +
                          describe(left, owner));
}

}  // namespace dcslab
