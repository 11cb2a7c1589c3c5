// The process's Ctrl-C: set by the SIGINT/SIGTERM handler (cli), read by every wait and
// loop that must stop early ("interrupted"). One flag for the whole process, so no layer
// needs the one that installs the handler.
#pragma once

#include <atomic>

namespace dcslab {

extern std::atomic<bool> g_interrupted;

}  // namespace dcslab
