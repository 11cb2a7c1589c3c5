// Each action's running, one function per spec (scenario/actions/*.h), in the file of
// its family here (commands.cc, tls.cc, writer.cc, fault.cc, copy.cc). The runner calls
// them with std::visit: a spec without its run_action does not compile.
//
// Each fills step.nr for its node: the command (or a description), the attempts and
// what was observed; errors and mismatches as failures.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/fault.h"
#include "run/actions/node_step.h"
#include "scenario/actions/actions.h"

namespace dcslab {

void run_action(const RunSpec& spec, NodeStep& step);
void run_action(const PutSpec& spec, NodeStep& step);
void run_action(const GetSpec& spec, NodeStep& step);
void run_action(const WaitForPortSpec& spec, NodeStep& step);
void run_action(const WaitForUnitSpec& spec, NodeStep& step);
void run_action(const RebootSpec& spec, NodeStep& step);
void run_action(const ReloginSpec& spec, NodeStep& step);
void run_action(const PkiIssueSpec& spec, NodeStep& step);
void run_action(const TlsSpec& spec, NodeStep& step);
void run_action(const WriterSpec& spec, NodeStep& step);
void run_action(const WatcherSpec& spec, NodeStep& step);
void run_action(const CheckWritesSpec& spec, NodeStep& step);
void run_action(const PgWriterSpec& spec, NodeStep& step);
void run_action(const CheckPgWritesSpec& spec, NodeStep& step);
void run_action(const FaultSpec& spec, NodeStep& step);
void run_action(const CopySpec& spec, NodeStep& step);

// The nodes a fault step hits, from the step's nodes (`nodes`): its `node` (expanded in
// `first`, the first node's values), a random pick, or all of them. *note describes a
// random pick (for the report).
Expected<std::vector<std::string>> fault_nodes(const FaultSpec& spec, const Scenario& sc,
                                               const std::vector<std::string>& nodes,
                                               const TemplateValues& first, FaultRng& rng,
                                               std::string* note);

}  // namespace dcslab
