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
#include "lab/lab_control.h"
#include "run/parallel.h"
#include "base/progress.h"

namespace dcslab {

extern const char* const kRunUsage;

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
};

// The entry point for main.cc: `args` are the words after "run" (main's global --lab
// may be forwarded as "--lab FILE"). `make_lab_control` is called once, with the lab
// the selected scenarios use, and only after all of them loaded without error.
// Never throws for bad input: prints it and returns 2.
int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const std::vector<std::string>& self = {});
int run_command(const std::vector<std::string>& args, const LabControlFactory& make_lab_control,
                const RunEnv& env);

}  // namespace dcslab
