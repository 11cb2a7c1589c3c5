// How the scenarios of one run go on one lab: the order (each after what it requires),
// and how each gets the lab state it needs.
//
// `requires: [a]`: a runs first, unless it is not among the scenarios asked for and
// already passed on this lab (the fact "passed:a" in the lab's state).
//
// `from: NAME`: the scenario starts from the lab state NAME, a lab snapshot with memory
// (snapshot_ops.h) that also holds the lab's facts:
//   - the lab has NAME (saved by an earlier run, with its facts): the lab is reverted to
//     it (clocks set, sessions reopened), its facts put back, and what the scenario
//     requires is not run for it;
//   - it has not: the requires run as usual, then the lab is saved as NAME right before
//     the scenario runs — only if every scenario that passed on the lab is one of those
//     it requires (else the lab holds more than NAME means; one line says so);
//   - the provider keeps no memory state (nspawn): the requires run as usual, and one
//     line says so. Not an error.
// A revert puts the lab back in time: a scenario later in the run whose requirement it
// undid gets that requirement run again first.
#pragma once

#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "lab/lab_control.h"
#include "base/progress.h"
#include "report/report_model.h"
#include "run/runner.h"
#include "scenario/scenario.h"

namespace dcslab {

// The scenarios a run knows, by name, with what each requires (names, resolved).
struct ScenarioGraph {
  std::function<const Scenario&(const std::string&)> get;
  std::function<const std::vector<std::string>&(const std::string&)> requires_of;
};

// Each of `selected` after what it requires, depth first, in the order given.
std::vector<std::string> run_order(const ScenarioGraph& graph, const std::vector<std::string>& selected);

// Everything `name` requires, directly or not (not `name` itself).
std::set<std::string> requires_closure(const ScenarioGraph& graph, const std::string& name);

// Runs `selected` and what they require on `lab`, appending every result (run or not
// run) to `report`; each decision that is not a plain run gets one "== " line on `out`.
void run_sequence(const ScenarioGraph& graph, const std::vector<std::string>& selected,
                  LabControl& lab, Runner& runner, Progress& progress, std::ostream& out,
                  RunReport& report);

}  // namespace dcslab
