// The console view of a run: one line per step and node with a mark, the node and the
// duration; on failure the command, each failed expectation (expected vs observed) and
// the observed stdout and stderr, each clearly labelled.
#pragma once

#include <ostream>
#include <string>

#include "report/report_model.h"

namespace dcslab {

// True when the locale (LC_ALL, LC_CTYPE, LANG) says UTF-8: then ✓ and ✗, else PASS/FAIL.
bool locale_is_utf8();

class ConsoleReporter : public Reporter {
 public:
  // `lab_command` is how the user reaches the run's lab ("dcslab --name ux"): a failed
  // scenario points at `<lab_command> ssh NODE`. Empty when the lab is taken down after
  // the run: then there is nothing to point at.
  ConsoleReporter(std::ostream& out, bool utf8, std::string lab_command = "dcslab")
      : out_(out), utf8_(utf8), lab_command_(std::move(lab_command)) {}
  void scenario_started(const ScenarioResult& s) override;
  void step_finished(const ScenarioResult& s, const StepResult& step) override;
  void scenario_finished(const ScenarioResult& s) override;
  void run_finished(const RunReport& r) override;

  // Lines of observed output shown per stream on failure (the rest is in artifacts).
  static constexpr int kMaxLines = 40;

 private:
  std::ostream& out_;
  bool utf8_;
  std::string lab_command_;
};

}  // namespace dcslab
