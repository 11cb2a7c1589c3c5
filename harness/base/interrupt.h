// The process's Ctrl-C: set by the SIGINT/SIGTERM handler (cli), read by every wait and
// loop that must stop early ("interrupted"). One flag for the whole process, so no layer
// needs the one that installs the handler.
#pragma once

#include <atomic>

namespace dcslab {

extern std::atomic<bool> g_interrupted;

// SIGINT and SIGTERM both set g_interrupted: a run stops at the next wait, the command
// on the node is stopped, and the reports of what ran are written (a CI runner's
// SIGTERM gets reports, not a process killed by a signal). A second one ends the
// process at once, with exit status 3.
void install_interrupt_handlers();

}  // namespace dcslab
