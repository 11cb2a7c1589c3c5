// Hidden commands that start or stop daemons for dcslab itself or for scripts:
//   exec-mux DIR MS       the lab's exec multiplexer (control/exec_mux.h), started by exec
//   libvirtd start|stop DIR   a private libvirtd in the current network namespace
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kExecMuxHelp;
extern const char* const kLibvirtdHelp;
int cmd_exec_mux(Context& ctx);
int cmd_libvirtd(Context& ctx);

}  // namespace dcslab
