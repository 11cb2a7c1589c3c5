// `dcslab check history FILE... [--format dcslab|jepsen|auto] [--budget DURATION]`:
// re-checks saved histories offline with the linearizability checker (check/).
// Exit status: 0 every history linearizable; 1 one is not (its report names the shortest
// prefix that cannot be linearized); 2 an unreadable file (FILE:LINE); 4 undecided (the
// search ran out of its budget before deciding, and none was found not linearizable).
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kCheckHelp;
int cmd_check(Context& ctx);

}  // namespace dcslab
