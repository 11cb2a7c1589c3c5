// `dcslab run [OPTIONS] [SCENARIO|DIR]...`: loads and checks every scenario (and what it
// requires) before anything boots, brings the lab up through LabControl, runs the
// scenarios, and writes the reports.
//
// Exit status: 0 all passed; 1 a step failed; 2 bad input (a scenario or lab file,
// an argument: one "file:line:col: key: message" on stderr, nothing booted);
// 3 infrastructure failure (the lab could not come up, a node could not be reached).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/progress.h"
#include "cli/command.h"
#include "cli/options.h"
#include "lab/lab_control.h"
#include "run/parallel.h"

namespace dcslab {

extern const char* const kRunHelp;

// Where run_command writes and how it waits; the default is the console and real time.
struct RunEnv {
  std::ostream& out;    // step lines, summaries, --list
  std::ostream& err;    // "dcslab: <error>"
  Progress& progress;   // lab bring-up and live waiting lines
  Clock& clock;
  // For --parallel: dcslab and the global options every lab's child gets (empty:
  // --parallel is refused), and how a child is started (empty: run_process_lines).
  std::vector<std::string> self = {};
  ProcessLauncher launch = {};
  // The global options dcslab was given: the commands a run suggests (a failed
  // scenario's `ssh NODE`) carry the ones that reach its lab.
  GlobalOptions global = {};
};

// `args` are the words after "run" (cmd_run forwards the global --lab, --name and
// --suite as "--lab FILE" ...). `make_lab_control` is called once, with the lab
// the selected scenarios use, and only after all of them loaded without error.
// Never throws for bad input: prints it and returns 2.
int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env);

// The table's `run`: the global --lab, --name and --suite forwarded to run_command, the
// lab brought up by SshLabControl with --provider and --isolated, --parallel's children
// started as this binary with the global options.
int cmd_run(Context& ctx);

}  // namespace dcslab
