// One fault on one node of a lab that is up, as `dcslab fault` does it and as the
// scenario runner does it through SshLabControl: the provider's method for the fault,
// then, after start, resume and heal, a bounded wait until the node answers SSH. kill is
// a command in the guest (fault.h's kill_unit_command) over SSH.
#pragma once

#include <chrono>
#include <string>

#include "base/error.h"
#include "lab/fault.h"
#include "lab/lab.h"
#include "base/progress.h"
#include "providers/provider.h"
#include "lab/state.h"

namespace dcslab {

// The provider's method for `kind` (every kind but Kill).
Expected<void> provider_fault(Provider& provider, FaultKind kind, const std::string& node,
                              Progress& progress);

// Connects to `node` (as tux, a fresh session each try) until it answers or `limit`
// passes. Returns the seconds it took.
Expected<double> wait_node_answers(const Lab& lab, const LabState& state, const std::string& node,
                                   std::chrono::seconds limit, Progress& progress);

struct FaultTiming {
  double fault_s = 0;  // the provider's call (or the kill command)
  double ssh_s = 0;    // start / resume / heal: until SSH answered
  std::string output;  // kill: what the command printed
};

// The whole fault as `dcslab fault` (cli/fault_command.cc) runs it; the lab must be up (its namespace is entered
// here, so call it before any thread starts). kill needs `unit`.
Expected<FaultTiming> lab_fault(const Lab& lab, LabState& state, const std::string& node,
                                FaultKind kind, const std::string& unit,
                                std::chrono::seconds ssh_timeout, Progress& progress);

}  // namespace dcslab
