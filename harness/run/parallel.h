// `dcslab run --parallel N`: the scenarios of a run that do not build on each other run
// at the same time on N labs of their own, and come back as one report.
//
// A scenario and everything it requires stay on one lab (they build on its state);
// scenarios with no requires relation between them may go to different labs, each of
// which runs the requirements it needs itself. Each lab is a child process,
// `dcslab --name <lab>-<i> --isolated run --only ...`: its own lab name (state folder,
// resources), its own network namespace (so the labs' equal addresses never meet), its
// own artifacts folder; the parent prefixes each line the child prints with "[<lab>-<i>] "
// and merges the children's JSON reports. A matrix of runs (one lab per cell) is the same
// machinery: run_labs() takes any set of child command lines.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/error.h"
#include "report/report_model.h"

namespace dcslab {

using RequiresOf = std::function<const std::vector<std::string>&(const std::string&)>;

// Splits `selected` into at most `labs` groups, one per lab: scenarios related by
// requires (one requires the other, directly or not) share a group; the groups are
// balanced by `cost` (of a scenario; a requirement that two scenarios of one lab share
// is counted once): greedily, the most costly first, each on the lab whose total it
// leaves smallest.
// Within a group the scenarios keep their order in `selected`. No empty groups: fewer
// independent sets than labs give fewer groups.
std::vector<std::vector<std::string>> partition_scenarios(const std::vector<std::string>& selected,
                                                          const RequiresOf& requires_of,
                                                          const std::function<double(const std::string&)>& cost,
                                                          int labs);

// The RunReport a JSON report (report_json.cc) holds; what JSON does not carry (the
// diagnostics) stays in the child's artifacts folder.
Expected<RunReport> report_from_json(const std::string& text);

// One child `dcslab run` on a lab of its own.
struct LabRun {
  std::string lab;                       // its name, the prefix of its lines
  std::vector<std::string> argv;         // the whole command line
  std::filesystem::path report;          // the JSON report it writes
  std::vector<std::string> scenarios;    // what it runs (reported as not run if it fails early)
};

struct LabRunOutcome {
  std::string lab;
  int exit_status = -1;                  // -1: killed, or could not start
  std::optional<RunReport> report;
  std::string problem;                   // why there is no report
};

// Starts argv, calls on_line with each line of its output (stdout and stderr) and
// returns its exit status (-1 when killed); run_process_lines (process.h) in dcslab.
using ProcessLauncher = std::function<Expected<int>(
    const std::vector<std::string>& argv, const std::function<void(const std::string&)>& on_line)>;

// Runs every LabRun at once, each line of their output on `out` as "[<lab>] line";
// returns when all have ended, in the order given.
std::vector<LabRunOutcome> run_labs(const std::vector<LabRun>& runs, const ProcessLauncher& launch,
                                    std::ostream& out);

// One report of every lab's scenarios (a lab without a report contributes its
// scenarios as not run, with the reason), and the run's exit status: 3 if a lab could
// not come up or a node could not be reached, else 2 for bad input, 1 for a failure,
// 0 when everything passed.
RunReport merge_reports(const std::vector<LabRun>& runs, const std::vector<LabRunOutcome>& outcomes);
int merged_exit_status(const std::vector<LabRunOutcome>& outcomes, const RunReport& merged);

// What `run --parallel` hands every lab.
struct ParallelPlan {
  std::vector<std::string> self;      // dcslab and the global options every lab gets
  std::string lab;                    // the scenarios' lab: the labs are <lab>-1, <lab>-2, ...
  std::filesystem::path lab_file;     // its file (for `down` of a lab a child left up)
  std::vector<std::string> run_args;  // after `run --only ...`: files and options for every lab
  bool keep = false;                  // leave the labs up (else each runs with --down)
  std::filesystem::path artifacts;    // each lab's artifacts in <artifacts>/<lab>-<i>/
};

// One LabRun per group: `<self> --name <lab>-<i> --isolated run --only <group>
// --artifacts <artifacts>/<lab>-<i> [--down] <run_args>`.
std::vector<LabRun> plan_lab_runs(const ParallelPlan& plan,
                                  const std::vector<std::vector<std::string>>& groups);

// Runs every lab at once; then, unless plan.keep, takes down any lab whose child left it
// up (a child killed before its own --down). Returns the merged exit status.
int run_parallel(const ParallelPlan& plan, const std::vector<LabRun>& runs,
                 const ProcessLauncher& launch, std::ostream& out, RunReport& merged);

}  // namespace dcslab
