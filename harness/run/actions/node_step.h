// One step on one node, as its action runs it (actions.h): what the step says, this
// node's template values, the runner's services, and the node's result being filled in.
// The things every action does alike are here once: a session (and what a failed
// connection records), the step's exec options, and the attempts `until` repeats.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/progress.h"
#include "base/redact.h"
#include "lab/lab_control.h"
#include "report/report_model.h"
#include "run/pg_writer_steps.h"
#include "run/writer_steps.h"
#include "scenario/scenario.h"
#include "scenario/template.h"
#include "ssh/transport.h"

namespace dcslab {

// What the runner lends each step.
struct StepServices {
  LabControl& lab;
  Clock& clock;
  Progress& progress;
  Redactor& redactor;
  Writers& writers;                     // writer / check_writes: the scenario's writers
  std::filesystem::path artifacts_dir;  // where check_writes saves histories (empty: nowhere)
  PgWriters* pg_writers = nullptr;      // pg_writer / check_pg_writes (null: none here)
};

class NodeStep {
 public:
  using Attempt = std::function<Expected<CommandResult>()>;
  using Check = std::function<std::vector<std::string>(const CommandResult&)>;

  NodeStep(const StepServices& services, const Scenario& sc, const Step& st,
           const std::string& node, const TemplateValues& tv, const std::string& nodes_note,
           NodeResult& nr, bool* infra);

  const StepServices& services;
  const Scenario& sc;
  const Step& st;
  const std::string& node;
  const TemplateValues& tv;
  const std::string& nodes_note;  // how the step's nodes were chosen (a random pick), or ""
  NodeResult& nr;
  const Clock::time_point start;

  std::string expand(const std::string& text) const { return expand_templates(text, tv); }

  // The session to this node as the step's user (fresh: a new login). When it cannot
  // connect, the result says so (nr.command becomes `command` unless empty), the failure
  // is the infrastructure's, and the answer is null.
  std::shared_ptr<Transport> session(const std::string& command, bool fresh = false);
  // Sessions to any node as the step's user, recording nothing (copy says what failed).
  Expected<std::shared_ptr<Transport>> session_to(const std::string& node) const;
  // An error of the action (not a mismatch): nr.error, and its failure line.
  void fail(const std::string& error);
  // The failure is the infrastructure's (a node does not answer), not the step's.
  void mark_infrastructure() { *infra_ = true; }
  // The call was made once: exit status 0, or `what: error` as the failure.
  void once(const Expected<void>& done, const std::string& what);
  // What an in-process action (a writer, a checker) answered, kept as a command's result;
  // a non-zero exit with no failures of its own fails as `action: <first line of err>`.
  void record(const char* action, const Expected<CommandResult>& r, std::vector<std::string> failures);

  // Before the first attempt: the step's expectation and exec options (stdin, prompts,
  // env, pty, timeout) expanded for this node.
  ExecOptions prepare_attempts();
  // Runs `attempt` until `check` (default: the step's expectation) passes, or once
  // without `until`; each failure is waited out on the Clock, with progress.
  void repeat(const Attempt& attempt, const Check& check = {});
  void repeat(const Attempt& attempt, const Check& check, const std::optional<Until>& until);

 private:
  bool* infra_;
  Expectation expect_;
};

}  // namespace dcslab
