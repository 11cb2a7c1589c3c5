// What a run observed, as the reporters see it. Everything here has already passed
// through the Redactor (runner.cc's record()), so reporters write it as it is.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dcslab {

struct NodeResult {
  std::string node;
  std::string user;
  std::string command;        // as run: templates expanded (a description for put/get/...)
  std::string input;          // put: the content written
  int exit_status = -1;
  std::string out;
  std::string err;
  // Bytes printed past the step's output limit: counted, not kept in out/err.
  std::uint64_t out_dropped = 0;
  std::uint64_t err_dropped = 0;
  bool passed = false;
  int attempts = 0;
  double seconds = 0;
  std::vector<std::string> failures;  // "exit: expected 0, observed 1", "stdout: ..."
  std::string error;                  // the transport failed ("timed out after 30 s ...")
  // The step's `when:` does not hold on this node: not run there, not a failure
  // (passed stays true). skip_reason: "when etcd >= 3.5: etcd 3.4.23 (installed)".
  bool skipped = false;
  std::string skip_reason;
  std::vector<std::pair<std::string, std::string>> diagnostics;  // on failure: file -> text
};

// What the output limit dropped, for every report to say the same way:
// "stdout: 1006632960 bytes past the output limit dropped" ("" when nothing was).
inline std::string dropped_note(const NodeResult& n) {
  std::string note;
  auto add = [&](const char* stream, std::uint64_t bytes) {
    if (bytes == 0) return;
    if (!note.empty()) note += "; ";
    note += std::string(stream) + ": " + std::to_string(bytes) +
            " bytes past the output limit dropped";
  };
  add("stdout", n.out_dropped);
  add("stderr", n.err_dropped);
  return note;
}

struct StepResult {
  int index = 0;              // 1-based
  std::string name;           // templates expanded with the first node
  std::string action;         // run, put, ...
  std::string expected;       // human summary of the expectation
  std::vector<NodeResult> nodes;
  bool passed = false;
  // Skipped on every node (its `when:` held nowhere).
  bool skipped() const {
    for (const auto& n : nodes)
      if (!n.skipped) return false;
    return !nodes.empty();
  }
};

struct ScenarioResult {
  std::string name;
  std::string description;
  std::string file;
  std::string lab;
  std::string started_at;     // ISO 8601, UTC
  std::vector<StepResult> steps;
  std::vector<std::string> not_run;  // steps skipped after a failure
  std::string error;          // the scenario could not run (a required one failed, ...)
  bool infrastructure_failed = false;  // a node could not be reached: exit status 3
  // SIGINT/SIGTERM stopped it (the step running then failed "interrupted", the rest not
  // run): exit status 3.
  bool interrupted = false;
  bool passed = false;
  double seconds = 0;
};

// Which slice of a run a report holds (`dcslab run --shard K/N`), so `dcslab report
// merge` can check that N reports are the N shards of one run and put them back in the
// run's order.
struct ShardInfo {
  int index = 0;                   // K, 1-based; 0: not a shard
  int count = 0;                   // N
  std::string run;                 // the whole run's digest (scenarios, their files, cells)
  std::vector<std::string> order;  // the whole run's scenarios (a matrix: cell labels), in order
  std::vector<std::string> slice;  // this shard's scenarios (cell labels), in order
};

struct RunReport {
  std::string lab;
  std::string started_at;
  std::string seed;           // of the run's random choices (`dcslab run --seed`); "" if none
  std::vector<ScenarioResult> scenarios;
  double seconds = 0;
  ShardInfo shard;
  bool infrastructure_failed() const {
    for (const auto& s : scenarios)
      if (s.infrastructure_failed || s.interrupted) return true;
    return false;
  }
  bool interrupted() const {
    for (const auto& s : scenarios)
      if (s.interrupted) return true;
    return false;
  }
  int failed() const {
    int n = 0;
    for (const auto& s : scenarios) n += s.passed ? 0 : 1;
    return n;
  }
};

// Reporters see a run as it happens (console) or at its end (files).
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void scenario_started(const ScenarioResult&) {}
  virtual void step_finished(const ScenarioResult&, const StepResult&) {}
  virtual void scenario_finished(const ScenarioResult&) {}
  virtual void run_finished(const RunReport&) {}
};

}  // namespace dcslab
