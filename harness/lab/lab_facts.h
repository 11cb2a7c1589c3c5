// What ran on a lab's machines, kept in its state folder: "passed:<scenario>" = when it
// passed. `requires` trusts these facts, so a snapshot records them and a revert puts
// them back (the machines are again what they were then, so later passes no longer
// hold).
#pragma once

#include <string>
#include <vector>

#include "lab/state.h"

namespace dcslab {

// When `scenario` passed on this lab (ISO 8601), or "" if it has not.
std::string passed_at(const LabState& state, const std::string& scenario);
void mark_passed(LabState& state, const std::string& scenario, const std::string& when);
// Every scenario that passed on this lab, in the order first recorded.
std::vector<std::string> passed_scenarios(const LabState& state);

// The facts go with every snapshot: lab_snapshot_save records them under "snapshot:<name>", a revert puts
// them back (the machines are again what they were then, so later passes no longer
// hold), and a delete forgets them. A scenario's `from:` relies on this.
void record_snapshot_facts(LabState& state, const std::string& name);
// False (touching nothing) when the snapshot has no record (made by an older dcslab).
bool restore_snapshot_facts(LabState& state, const std::string& name);
bool has_snapshot_facts(const LabState& state, const std::string& name);
void forget_snapshot_facts(LabState& state, const std::string& name);

}  // namespace dcslab
