// The lab commands: up, down, status, exec, ssh, ssh-config, proxy (control/lab_ops.h
// does the work; these parse arguments and print).
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kUpHelp;
extern const char* const kDownHelp;
extern const char* const kStatusHelp;
extern const char* const kExecHelp;
extern const char* const kSshHelp;
extern const char* const kSshConfigHelp;
extern const char* const kProxyHelp;

int cmd_up(Context& ctx);
int cmd_down(Context& ctx);
int cmd_status(Context& ctx);
int cmd_exec(Context& ctx);
int cmd_ssh(Context& ctx);
int cmd_ssh_config(Context& ctx);
int cmd_proxy(Context& ctx);

}  // namespace dcslab
