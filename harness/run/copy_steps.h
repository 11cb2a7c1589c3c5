// The scenario action `copy`: files from one node to another through dcslab. Each file
// is read from its node (SFTP; `sudo -n cat` where the user may not read it) and written
// to the destination node as `put` writes (SFTP, then `sudo -n chown`; a file the user
// may not write there goes through a private temporary file and `sudo -n install`).
// The content never reaches a report or a log: the step's output lists each file's
// source, destination, size, mode and SHA-256.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/redact.h"
#include "scenario/scenario.h"
#include "scenario/template.h"
#include "ssh/transport.h"

namespace dcslab {

// A session to a node, as the runner keeps them (the step's user).
using NodeSession = std::function<Expected<std::shared_ptr<Transport>>(const std::string& node)>;

// Copies spec.from to spec.to with the templates expanded in `tv` (the step's node).
// *command gets a description for reports; *unreachable is set when a node could not be
// reached (an infrastructure failure, not the step's). A missing source is NotFound
// naming node and path. Content that holds a private key is added to `redactor`, as
// pki_issue does with the keys it pushes.
Expected<CommandResult> run_copy(const CopySpec& spec, const TemplateValues& tv,
                                 const std::string& user, const NodeSession& session,
                                 Redactor& redactor, std::string* command, bool* unreachable);


}  // namespace dcslab
