// A provider turns a Lab into running machines: libvirt VMs, nspawn containers or
// VirtualBox VMs. Everything hypervisor-specific stays behind this interface; nothing
// outside a provider switches on the provider type (see ARCHITECTURE.md).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "image.h"
#include "lab.h"
#include "progress.h"
#include "state.h"

namespace dcslab {

struct NodeStatus {
  std::string node;
  std::string state;   // "running", "shut off", "paused", "missing", ...
  std::string detail;  // provider-specific extra (domain name, pid)
};

struct UpRequest {
  const Lab* lab = nullptr;
  const Image* image = nullptr;
  // identity.tar per node name (see identity.h), already written.
  std::map<std::string, std::filesystem::path> identity;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string kind() const = 0;

  // The [Match] body of the node's lab NIC in its .network file; needed before
  // identity is written, so before up().
  virtual std::string nic_match(const Node& node) const = 0;

  // Creates (or reuses) the lab network, disks and machines and starts them. Returns once
  // every machine has been started; waiting for SSH is the caller's job. Every resource
  // is recorded in the LabState ledger before it is created.
  virtual Expected<void> up(const UpRequest& request, Progress& progress) = 0;

  virtual Expected<std::vector<NodeStatus>> status() = 0;

  // Removes every resource in the ledger that this provider owns, newest first, and
  // nothing else. Succeeds when they are already gone.
  virtual Expected<void> down(Progress& progress) = 0;

  // Where the node's serial console (or container console) is logged.
  virtual std::filesystem::path console_log(const std::string& node) const = 0;
};

// Creates the provider the lab file names. Unknown types are rejected when the lab is
// loaded, so this only fails when a provider cannot work here (Fatal, saying why).
std::unique_ptr<Provider> create_provider(const Lab& lab, LabState& state);

}  // namespace dcslab
