#include "report/report_console.h"

#include <cstdlib>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace dcslab {

bool locale_is_utf8() {
  for (const char* var : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(var);
    if (!v || !*v) continue;
    std::string s = v;
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
  }
  return false;
}

namespace {

std::string secs(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << "s";
  return o.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

void block(std::ostream& out, const std::string& label, const std::string& text) {
  const std::string pad = "      ";
  std::string head = label;
  head.resize(9, ' ');
  if (text.empty()) {
    out << pad << head << "| (empty)\n";
    return;
  }
  auto lines = lines_of(text);
  std::size_t first = 0;
  if (lines.size() > static_cast<std::size_t>(ConsoleReporter::kMaxLines)) {
    first = lines.size() - ConsoleReporter::kMaxLines;
    out << pad << head << "| [" << first << " earlier lines in the artifacts]\n";
    head = std::string(9, ' ');
  }
  for (std::size_t i = first; i < lines.size(); ++i) {
    out << pad << head << "| " << lines[i] << "\n";
    head = std::string(9, ' ');
  }
}

}  // namespace

void ConsoleReporter::scenario_started(const ScenarioResult& s) {
  out_ << "== " << s.name << " (" << s.file << ")";
  if (!s.description.empty()) out_ << ": " << lines_of(s.description).front();
  out_ << "\n";
  out_.flush();
}

void ConsoleReporter::step_finished(const ScenarioResult&, const StepResult& step) {
  const char* ok = utf8_ ? "\u2713" : "PASS";
  const char* bad = utf8_ ? "\u2717" : "FAIL";
  for (const auto& n : step.nodes) {
    if (n.skipped) {
      out_ << "  " << (utf8_ ? "\u2013" : "SKIP") << " [" << step.index << "] " << step.name
           << "  " << n.node << "  skipped: " << n.skip_reason << "\n";
      continue;
    }
    out_ << "  " << (n.passed ? ok : bad) << " [" << step.index << "] " << step.name << "  "
         << n.node << "  " << secs(n.seconds);
    if (n.attempts > 1) out_ << " (" << n.attempts << " attempts)";
    out_ << "\n";
    if (const auto note = dropped_note(n); !note.empty()) out_ << "      output   | " << note << "\n";
    if (n.passed) continue;
    block(out_, "command", n.command);
    for (std::size_t i = 0; i < n.failures.size(); ++i)
      out_ << "      " << (i == 0 ? "failed   | " : "         | ") << n.failures[i] << "\n";
    out_ << "      expected | " << step.expected << "\n";
    out_ << "      observed | exit " << n.exit_status << "\n";
    block(out_, "stdout", n.out);
    block(out_, "stderr", n.err);
  }
  out_.flush();
}

void ConsoleReporter::scenario_finished(const ScenarioResult& s) {
  int passed = 0, skipped = 0;
  for (const auto& st : s.steps) passed += st.passed ? 1 : 0;
  for (const auto& st : s.steps) skipped += st.skipped() ? 1 : 0;
  const std::size_t total = s.steps.size() + s.not_run.size();
  if (!s.error.empty()) out_ << "  " << s.error << "\n";
  if (s.passed) {
    out_ << "== " << s.name << ": passed, " << total << " steps";
    if (skipped) out_ << " (" << skipped << " skipped: when)";
    out_ << " in " << secs(s.seconds) << "\n";
  } else {
    out_ << "== " << s.name << ": FAILED (" << passed << " of " << total << " steps passed";
    if (!s.not_run.empty()) out_ << ", " << s.not_run.size() << " not run";
    out_ << ") in " << secs(s.seconds) << "\n";
    // A lab that stays up: point at the first failed node.
    for (const auto& st : s.steps)
      for (const auto& n : st.nodes)
        if (!n.passed && !lab_command_.empty()) {
          out_ << "   lab kept for inspection: " << lab_command_ << " ssh " << n.node << "\n";
          out_.flush();
          return;
        }
  }
  out_.flush();
}

void ConsoleReporter::run_finished(const RunReport& r) {
  const int failed = r.failed();
  out_ << (failed ? "FAILED: " : "ok: ") << r.scenarios.size() << " scenario"
       << (r.scenarios.size() == 1 ? "" : "s") << ", " << (r.scenarios.size() - failed)
       << " passed, " << failed << " failed in " << secs(r.seconds) << "\n";
  if (!r.seed.empty()) out_ << "seed " << r.seed << ": replay with --seed " << r.seed << "\n";
  out_.flush();
}

}  // namespace dcslab
