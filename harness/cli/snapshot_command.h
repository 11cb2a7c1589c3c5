// `dcslab snapshot save NAME | revert NAME | list | delete NAME`: the CLI over
// snapshot_ops.h. Exit status: 0 ok; 2 bad input, a snapshot that does not exist or
// exists already, or a provider without memory snapshots; 3 infrastructure failure.
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kSnapshotHelp;
int cmd_snapshot(Context& ctx);

}  // namespace dcslab
