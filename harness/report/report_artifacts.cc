#include <fstream>

#include "base/error.h"
#include "report/report_files.h"

namespace fs = std::filesystem;

namespace dcslab {

void write_text_file(const fs::path& file, const std::string& text) {
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Fatal("cannot write " + file.string());
}

std::string slug(const std::string& text) {
  std::string s;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) s += static_cast<char>(std::tolower(u));
    else if (!s.empty() && s.back() != '-') s += '-';
    if (s.size() >= 48) break;
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "step" : s;
}

namespace {
std::string two_digits(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }
}  // namespace

void ArtifactsReporter::scenario_started(const ScenarioResult& s) {
  scenario_dir_ = dir_ / (two_digits(++scenarios_) + "-" + slug(s.name));
  fs::create_directories(scenario_dir_);
}

void ArtifactsReporter::step_finished(const ScenarioResult&, const StepResult& step) {
  const fs::path step_dir = scenario_dir_ / (two_digits(step.index) + "-" + slug(step.name));
  for (const auto& n : step.nodes) {
    const fs::path d = step_dir / n.node;
    write_text_file(d / "command.txt", n.command + "\n");
    write_text_file(d / "stdout.txt", n.out);
    write_text_file(d / "stderr.txt", n.err);
    if (!n.input.empty()) write_text_file(d / "input.txt", n.input);
    if (n.skipped) {
      write_text_file(d / "result.txt", "skipped\n" + n.skip_reason + "\n");
      continue;
    }
    std::string result = std::string(n.passed ? "passed" : "FAILED") + "\nexit: " +
                         std::to_string(n.exit_status) + "\nattempts: " +
                         std::to_string(n.attempts) + "\nseconds: " + std::to_string(n.seconds) +
                         "\nexpected: " + step.expected + "\n";
    for (const auto& f : n.failures) result += f + "\n";
    write_text_file(d / "result.txt", result);
    for (const auto& [name, text] : n.diagnostics) write_text_file(d / "diagnostics" / name, text);
  }
}

}  // namespace dcslab
