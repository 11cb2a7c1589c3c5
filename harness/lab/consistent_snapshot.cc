#include "lab/consistent_snapshot.h"

#include <cctype>
#include <optional>

#include "base/text.h"

namespace dcslab {

bool valid_snapshot_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '-' || name[0] == '.') return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

namespace {

// Resumes every node in `paused`, whatever happened before; returns the first failure.
std::optional<Failure> resume_all(NodeSnapshots& ops, const std::vector<std::string>& paused) {
  std::optional<Failure> first;
  for (const auto& node : paused)
    if (auto r = ops.resume(node); !r && !first)
      first = Failure::error("resuming " + node + ": " + r.error().message);
  return first;
}

// Pauses every node; on a failure resumes those already paused.
Expected<std::vector<std::string>> pause_all(NodeSnapshots& ops, const std::vector<std::string>& nodes) {
  std::vector<std::string> paused;
  for (const auto& node : nodes) {
    if (auto r = ops.pause(node); !r) {
      resume_all(ops, paused);
      return Failure{r.error().kind, "pausing " + node + ": " + r.error().message};
    }
    paused.push_back(node);
  }
  return paused;
}

Failure with_resume_failure(Failure f, const std::optional<Failure>& resumed) {
  if (resumed) f.message += "; also " + resumed->message;
  return f;
}

}  // namespace

Expected<void> consistent_save(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                               const std::string& name, Progress& progress) {
  if (!valid_snapshot_name(name)) return Failure::error("invalid snapshot name \"" + name + "\"");
  std::vector<std::string> holders;
  for (const auto& node : nodes) {
    DCSLAB_TRY_ASSIGN(auto h, ops.has(node, name));
    if (h) holders.push_back(node);
  }
  if (!holders.empty())
    return Failure::refused("snapshot " + name + " exists already (on " + join(holders, ", ") +
                            "); delete it first (dcslab snapshot delete " + name + ")");

  progress.phase("pausing " + join(nodes, ", "));
  DCSLAB_TRY_ASSIGN(auto paused, pause_all(ops, nodes));

  std::vector<std::string> made;
  for (const auto& node : nodes) {
    progress.phase("saving " + node + " as " + name + " (disk and memory)");
    if (auto r = ops.create(node, name); !r) {
      // A partial lab snapshot would revert to a lab that never existed: undo it.
      Failure f{r.error().kind, "saving " + node + " as " + name + ": " + r.error().message};
      for (const auto& m : made)
        if (auto undone = ops.remove(m, name); !undone)
          f.message += "; also could not remove the partial snapshot of " + m + ": " +
                       undone.error().message + " (dcslab snapshot delete " + name + ")";
      return with_resume_failure(f, resume_all(ops, paused));
    }
    made.push_back(node);
  }
  progress.phase("resuming " + join(nodes, ", "));
  if (auto f = resume_all(ops, paused)) return *f;
  return {};
}

Expected<void> consistent_revert(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                                 const std::string& name, Progress& progress) {
  if (!valid_snapshot_name(name)) return Failure::error("invalid snapshot name \"" + name + "\"");
  std::vector<std::string> missing;
  for (const auto& node : nodes) {
    DCSLAB_TRY_ASSIGN(auto h, ops.has(node, name));
    if (!h) missing.push_back(node);
  }
  if (missing.size() == nodes.size())
    return Failure::not_found("no snapshot " + name + " (dcslab snapshot list)");
  if (!missing.empty())
    return Failure::not_found("snapshot " + name + " is missing on " + join(missing, ", ") +
                              "; it cannot be reverted consistently (delete it and save again)");

  progress.phase("pausing " + join(nodes, ", "));
  DCSLAB_TRY_ASSIGN(auto paused, pause_all(ops, nodes));
  for (const auto& node : nodes) {
    progress.phase("reverting " + node + " to " + name);
    if (auto r = ops.revert(node, name); !r)
      return with_resume_failure(
          Failure{r.error().kind, "reverting " + node + " to " + name + ": " + r.error().message +
                                      " (the lab is now partly reverted: revert again, or down)"},
          resume_all(ops, paused));
  }
  progress.phase("resuming " + join(nodes, ", "));
  if (auto f = resume_all(ops, paused)) return *f;
  return {};
}

Expected<void> remove_everywhere(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                                 const std::string& name, Progress& progress) {
  if (!valid_snapshot_name(name)) return Failure::error("invalid snapshot name \"" + name + "\"");
  bool any = false;
  std::optional<Failure> first;
  for (const auto& node : nodes) {
    auto h = ops.has(node, name);
    if (!h) {
      if (!first) first = h.error();
      continue;
    }
    if (!*h) continue;
    any = true;
    progress.phase("deleting snapshot " + name + " of " + node);
    if (auto r = ops.remove(node, name); !r && !first)
      first = Failure{r.error().kind, "deleting snapshot " + name + " of " + node + ": " + r.error().message};
  }
  if (first) return *first;
  if (!any) return Failure::not_found("no snapshot " + name + " (dcslab snapshot list)");
  return {};
}

}  // namespace dcslab
