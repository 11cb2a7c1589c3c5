// `dcslab pki`: the lab's PKI from the command line.
//
//   dcslab pki init [--key rsa:4096|rsa:2048|ec:p256] [--days N]
//   dcslab pki issue [--key SPEC] [--days N] [--force] [--variant valid|other-ca|expired] NODE...
//   dcslab pki show FILE...
//
// Bad arguments and unknown nodes throw BadInput (exit status 2).
#pragma once

#include "cli/command.h"

namespace dcslab {

extern const char* const kPkiHelp;
int cmd_pki(Context& ctx);

}  // namespace dcslab
