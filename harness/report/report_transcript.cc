#include <iomanip>
#include <sstream>

#include "base/text.h"
#include "report/report_files.h"

namespace dcslab {

namespace {

// A code fence longer than any run of backticks in `text`, so output never closes it.
std::string fence_for(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void code(std::ostringstream& md, const std::string& lang, const std::string& text) {
  const std::string f = fence_for(text);
  md << f << lang << "\n" << text;
  if (text.empty() || text.back() != '\n') md << "\n";
  md << f << "\n";
}

}  // namespace

std::string transcript_markdown(const RunReport& report) {
  std::ostringstream md;
  md << "# dcslab transcript: lab `" << report.lab << "`\n\n";
  md << "Run " << report.started_at << ". The commands as run (templates expanded, secrets "
        "redacted) and the output the nodes really printed.\n";
  if (!report.seed.empty())
    md << "\nRandom choices: seed " << report.seed << ": replay with --seed " << report.seed << "\n";
  for (const auto& sc : report.scenarios) {
    md << "\n## " << sc.name << "\n\n";
    if (!sc.description.empty()) md << rtrim(sc.description) << "\n\n";
    md << "_" << sc.file << " — " << (sc.passed ? "passed" : "FAILED") << " in " << std::fixed
       << std::setprecision(1) << sc.seconds << " s_\n";
    if (!sc.error.empty()) md << "\n> **" << sc.error << "**\n";
    for (const auto& st : sc.steps) {
      for (const auto& n : st.nodes) {
        if (n.skipped) {
          md << "\n[$] " << st.name << " (`" << n.node << "`) — _skipped: " << n.skip_reason << "_\n";
          continue;
        }
        md << "\n[$] " << st.name << " (`" << n.node << "`, as " << n.user << "):\n";
        code(md, st.action == "run" || st.action.rfind("wait_for", 0) == 0 ? "bash" : "", n.command);
        if (!n.input.empty()) code(md, "", n.input);
        std::string shown = n.out;
        if (!n.err.empty()) shown += (shown.empty() || shown.back() == '\n' ? "" : "\n") + n.err;
        if (!shown.empty()) code(md, "", shown);
        if (const auto note = dropped_note(n); !note.empty()) md << "\n> _" << note << "_\n";
        if (!n.passed) {
          md << "\n> **Failed** (exit " << n.exit_status << "):";
          for (const auto& f : n.failures) md << "\n> - " << f;
          md << "\n";
        }
      }
    }
    for (const auto& name : sc.not_run) md << "\n[$] " << name << " — _not run_\n";
  }
  return md.str();
}

}  // namespace dcslab
