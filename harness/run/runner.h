// Runs scenarios on a lab: each step on its nodes (several nodes in parallel, one thread
// and one transport each), checks what was observed against the step's expectation,
// repeats `until` steps on a Clock, stops at the first failed step unless keep_going,
// and hands every result to the reporters.
//
// The one choke point for secrets is here: every result is redacted (record()) before
// any reporter or file sees it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "lab/fault.h"
#include "lab/lab_control.h"
#include "base/progress.h"
#include "base/redact.h"
#include "report/report_model.h"
#include "scenario/scenario.h"
#include "run/actions/node_step.h"
#include "run/writer_steps.h"

namespace dcslab {

struct RunnerOptions {
  bool keep_going = false;      // run the remaining steps of a scenario after a failure
  bool collect_diagnostics = true;  // on failure: journalctl -u etcd, ip addr, console log
  std::filesystem::path artifacts_dir;  // where check_writes saves histories (empty: nowhere)
  // Seeds the run's random choices (a fault's `pick: random`): the same seed and the
  // same scenarios make the same choices (`dcslab run --seed N`).
  std::uint64_t seed = 0;
};

// The values of a scenario's secrets: generated ones are made once per lab and kept
// (0600) in <lab state>/secrets/<name>; env ones come from the environment. Throws
// BadInput naming the variable when an env secret is unset. Each value is added to
// `redactor`.
std::map<std::string, std::string> resolve_secrets(const Scenario& sc, LabState& state,
                                                   Redactor& redactor);

class Runner {
 public:
  Runner(LabControl& lab, Clock& clock, Progress& progress, Redactor& redactor,
         std::vector<Reporter*> reporters, RunnerOptions options = {});

  // Runs every step of `sc` (its secrets must resolve). On success records the fact
  // "passed:<name>" in the lab's state, which `requires` consults.
  ScenarioResult run(const Scenario& sc);

  // A result for a scenario that was not run (a required scenario failed); reported
  // like any other.
  ScenarioResult not_run(const Scenario& sc, const std::string& why);

 private:
  // A step that threw (dcslab's own error): one errored node, `error` its message.
  StepResult errored_step(const Step& st, int index, const std::string& error);
  StepResult run_step(const Scenario& sc, const Step& st, int index,
                      const std::map<std::string, std::string>& secrets, bool* infra);
  NodeResult run_on_node(const Scenario& sc, const Step& st, const std::string& node,
                         const std::map<std::string, std::string>& secrets, bool* infra);
  // The step's `when` on this node: false when its part ends there (skipped, or the
  // etcd version could not be told).
  bool when_holds(NodeStep& step);
  void collect_diagnostics(NodeResult& nr);
  NodeResult record(NodeResult nr) const;  // redacts
  // The nodes a step runs on: `on`, or resolved now (an `on:` template, a fault's node
  // or its random pick, which *note describes).
  Expected<std::vector<std::string>> step_nodes(const Scenario& sc, const Step& st,
                                                const std::map<std::string, std::string>& secrets,
                                                std::string* note);
  // The captured values as `node` sees them ("" : only those captured on a one-node step).
  std::map<std::string, std::string> captured_for(const std::string& node);

  LabControl& lab_;
  Clock& clock_;
  Progress& progress_;
  Redactor& redactor_;
  std::vector<Reporter*> reporters_;
  RunnerOptions options_;
  std::mutex mu_;  // captures_
  Writers writers_;  // writer / check_writes: the scenario's background writers
  PgWriters pg_writers_{clock_};  // pg_writer / check_pg_writes
  FaultRng rng_;     // the run's seeded choices
  // capture: name -> node -> value ("" for a value captured on a one-node step, which
  // every node sees). Cleared when a scenario starts.
  std::map<std::string, std::map<std::string, std::string>> captures_;
  std::string pick_note_;  // the current fault step's random pick, for its report
};

}  // namespace dcslab
