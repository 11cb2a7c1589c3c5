// A lab snapshot is only useful if every node's is taken at the same instant of the lab:
// etcd members saved a few seconds apart disagree about the raft log, and a reverted
// cluster would start with a member that is ahead of its peers. So every provider's
// snapshots go through the same sequence: pause every node, then save (or revert) every
// node, then resume every node. The per-node primitives are the provider's
// (NodeSnapshots); the sequence, the checks and the clean-up on failure are here, once,
// and tested with a recording fake.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/progress.h"

namespace dcslab {

// Letters, digits, '.', '_' and '-', at most 64, not starting with '-' or '.': the name
// becomes a libvirt snapshot name, a qcow2 snapshot tag and a QEMU monitor argument.
bool valid_snapshot_name(const std::string& name);

// One node's snapshot primitives, as a provider implements them.
class NodeSnapshots {
 public:
  virtual ~NodeSnapshots() = default;
  virtual Expected<void> pause(const std::string& node) = 0;
  virtual Expected<void> resume(const std::string& node) = 0;
  virtual Expected<bool> has(const std::string& node, const std::string& name) = 0;
  // Saves the paused node (disk and memory) as `name`; recorded in the ledger first.
  virtual Expected<void> create(const std::string& node, const std::string& name) = 0;
  // Reverts the paused node to `name`; the node is paused afterwards.
  virtual Expected<void> revert(const std::string& node, const std::string& name) = 0;
  virtual Expected<void> remove(const std::string& node, const std::string& name) = 0;
};

// Refuses when a node already holds `name`. On a failure midway the snapshots already
// made are removed again; every paused node is resumed in any case.
Expected<void> consistent_save(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                               const std::string& name, Progress& progress);

// NotFound (touching nothing) unless every node holds `name`. Every paused node is
// resumed in any case; a failure midway says the lab is now mixed.
Expected<void> consistent_revert(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                                 const std::string& name, Progress& progress);

// Removes `name` from every node that holds it; NotFound if none does.
Expected<void> remove_everywhere(NodeSnapshots& ops, const std::vector<std::string>& nodes,
                                 const std::string& name, Progress& progress);

}  // namespace dcslab
