#include "providers/provider.h"

#include "base/error.h"

namespace dcslab {

namespace {
Failure no_memory_snapshots(const Provider& p) {
  return Failure::refused(p.kind() + " machines have no memory snapshots; use provider libvirt");
}
}  // namespace

Expected<void> Provider::snapshot_save(const std::string&, Progress&) { return no_memory_snapshots(*this); }
Expected<void> Provider::snapshot_revert(const std::string&, Progress&) { return no_memory_snapshots(*this); }
Expected<std::vector<SnapshotInfo>> Provider::snapshot_list() { return no_memory_snapshots(*this); }
Expected<void> Provider::snapshot_delete(const std::string&, Progress&) { return no_memory_snapshots(*this); }
Expected<std::vector<GuestClock>> Provider::set_clocks(Progress&) {
  return Failure::refused(kind() + " machines have no channel to set their clocks through");
}

namespace {
Failure no_fault(const Provider& p, const std::string& what, const std::string& node) {
  return Failure::refused("provider " + p.kind() + " cannot " + what + " a node (" + node +
                          "): it has no fault injection");
}
}  // namespace

Expected<void> Provider::crash(const std::string& n, Progress&) { return no_fault(*this, "crash", n); }
Expected<void> Provider::start(const std::string& n, Progress&) { return no_fault(*this, "start", n); }
Expected<void> Provider::pause(const std::string& n, Progress&) { return no_fault(*this, "pause", n); }
Expected<void> Provider::resume(const std::string& n, Progress&) { return no_fault(*this, "resume", n); }
Expected<void> Provider::partition(const std::string& n, Progress&) { return no_fault(*this, "partition", n); }
Expected<void> Provider::heal(const std::string& n, Progress&) { return no_fault(*this, "heal", n); }

void bad_provider_section(const Lab& lab, const std::string& at, const std::string& key,
                          const std::string& what) {
  throw BadInput((at.empty() ? lab.file.string() : at) + ": " + key + ": " + what);
}

}  // namespace dcslab
