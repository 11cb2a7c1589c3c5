// The run as files: JUnit XML (pugixml) for CI test reporters, JSON for scripts, a
// Markdown transcript (the lab document regenerated from what the nodes really
// printed), and the artifacts folder with every step's full output per node.
// All input is already redacted (see runner.h).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "report/report_model.h"

namespace dcslab {

// JUnit XML: <testsuites> > <testsuite> per scenario > <testcase> per step and node,
// with <failure message=...> (the expectations that failed and the observed output),
// <skipped/> for steps not run, <system-out>/<system-err>. Text that XML 1.0 cannot
// carry (control characters, invalid UTF-8) is escaped so any parser accepts the file.
std::string junit_xml(const RunReport& report);

// One testsuite of a grouped JUnit file (a matrix's cell): its name and properties, and
// the run it holds, or why it did not run.
struct JunitGroup {
  std::string name;
  std::vector<std::pair<std::string, std::string>> properties;
  RunReport report;
  std::string error;  // "" if it ran
};

// JUnit XML with one <testsuite> per group, holding every testcase of the group's run
// (classname: the scenario) under the group's properties; a group that did not run is
// a testsuite with one <error> testcase (classname: `classname`, name "lab").
std::string junit_grouped_xml(const std::string& name, const std::string& classname,
                              const std::vector<JunitGroup>& groups);
std::string json_report(const RunReport& report);
// A report's "shard" object (JSON text): index, count, run, order, slice.
std::string shard_json(const ShardInfo& shard);
std::string transcript_markdown(const RunReport& report);

// Writes `text` to `file` (creating parent folders); throws Fatal when it cannot.
void write_text_file(const std::filesystem::path& file, const std::string& text);

// A name for a folder: lower case letters, digits and '-'.
std::string slug(const std::string& text);

// Text made safe for XML 1.0: invalid UTF-8 becomes U+FFFD, control characters other
// than tab, newline and CR become "\xNN".
std::string xml_safe(const std::string& text);

// Writes each step's files as soon as it finishes (so a crash leaves them):
//   DIR/NN-<scenario>/NN-<step>/<node>/{command.txt,stdout.txt,stderr.txt,result.txt}
//   .../<node>/input.txt (put), .../<node>/diagnostics/* (on failure)
class ArtifactsReporter : public Reporter {
 public:
  explicit ArtifactsReporter(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void scenario_started(const ScenarioResult& s) override;
  void step_finished(const ScenarioResult& s, const StepResult& step) override;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path scenario_dir_;
  int scenarios_ = 0;
};

}  // namespace dcslab
