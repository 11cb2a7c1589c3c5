// `dcslab fault NODE crash|start|pause|resume|partition|heal|kill [UNIT]`: one fault on
// one node of a lab that is up (control/fault_ops.h does it). Exit status: 0 done; 1
// kill's command failed on the node; 2 bad arguments or a fault the node's state does
// not allow (pausing a node that is off); 3 the lab or provider failed.
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kFaultHelp;
int cmd_fault(Context& ctx);

}  // namespace dcslab
