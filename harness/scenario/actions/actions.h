// A step's action: exactly one of the specs, in the order a step's keys are listed in
// messages ("a step has exactly one of: run, put, ..."). Everything about one action is
// in its spec (scenario/actions/*.h: info, fields, parse) and its run_action
// (run/actions/actions.h); nothing here lists actions a second time.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "scenario/actions/commands.h"
#include "scenario/actions/copy.h"
#include "scenario/actions/fault.h"
#include "scenario/actions/pg.h"
#include "scenario/actions/tls.h"
#include "scenario/actions/writer.h"

namespace dcslab {

using Action = std::variant<RunSpec, PutSpec, GetSpec, CopySpec, WaitForPortSpec,
                            WaitForUnitSpec, RebootSpec, ReloginSpec, PkiIssueSpec, TlsSpec,
                            WriterSpec, WatcherSpec, CheckWritesSpec, PgWriterSpec,
                            CheckPgWritesSpec, FaultSpec>;

// What the step's action declares (its key is its name in reports: "run", "check_writes").
const ActionInfo& action_info(const Action& a);
inline const char* action_name(const Action& a) { return action_info(a).key; }

// Every action's key, in the variant's order.
const std::vector<std::string>& action_keys();

}  // namespace dcslab
