// `dcslab snapshot save NAME | revert NAME | list | delete NAME`: the CLI over
// snapshot_ops.h. Exit status: 0 ok; 2 bad input, a snapshot that does not exist or
// exists already, or a provider without memory snapshots; 3 infrastructure failure.
#pragma once

#include <string>
#include <vector>

#include "lab/lab.h"
#include "lab/state.h"

namespace dcslab {

int cmd_snapshot(const Lab& lab, LabState& state, const std::vector<std::string>& args);

}  // namespace dcslab
