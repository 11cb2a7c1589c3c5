#include "cli/check_command.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/file.h"
#include "check/history_file.h"
#include "check/timeline_html.h"
#include "scenario/scenario.h"

namespace dcslab {

const char* const kCheckHelp = R"(usage: dcslab check history FILE... [--format F] [--budget DURATION]
                            [--html DIR]

Re-checks saved operation histories for linearizability, offline (no lab needed):
the history JSON a run keeps in its artifacts (writer histories), or a Jepsen etcd
log (one event per line: "INFO  jepsen.util - PROCESS	:invoke	:write	3").

  --format F          dcslab, jepsen, or auto (default: JSON is dcslab's, else Jepsen)
  --budget DURATION   the search's time limit per file (default 60s; 0: none); past it
                      the verdict is "undecided", never "linearizable"
  --html DIR          also draw each history as a timeline, DIR/<file name>.html: one
                      self-contained page (lanes per client, operations by outcome, the
                      failing prefix marked) that opens offline in a browser

Prints one verdict per file; a history that is not linearizable is explained by the
shortest prefix of it that cannot be linearized.

Exit status: 0 every history linearizable, 1 one is not, 2 unreadable input (FILE:LINE),
4 undecided (no file was found not linearizable, and the budget ran out on one).
)";

namespace {

struct CheckArgs {
  std::vector<std::string> files;
  HistoryFormat format = HistoryFormat::Auto;
  CheckBudget budget;
  std::string html_dir;
};

CheckArgs parse_check_args(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "history") bad_usage("check", "check: expected \"history\"");
  CheckArgs a;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& x = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) bad_usage("check", "check history: " + x + " needs a value");
      return args[++i];
    };
    if (x == "--format") {
      a.format = parse_history_format(value());
    } else if (x == "--budget") {
      const std::string& v = value();
      auto d = v == "0" ? std::optional(std::chrono::milliseconds(0)) : parse_duration(v);
      if (!d) bad_usage("check", "check history: --budget \"" + v + "\" is not a duration (e.g. 30s, 500ms, 0)");
      a.budget.time = *d;
    } else if (x == "--html") {
      a.html_dir = value();
    } else if (x.size() > 1 && x[0] == '-') {
      bad_usage("check", "check history: unknown option " + x);
    } else {
      a.files.push_back(x);
    }
  }
  if (a.files.empty()) bad_usage("check", "check history: expected at least one FILE");
  return a;
}

}  // namespace

int cmd_check(Context& ctx) {
  const CheckArgs a = parse_check_args(ctx.args());
  // Every file is read before any is checked, so bad input stops the command first.
  std::vector<HistoryFile> histories;
  for (const auto& f : a.files) histories.push_back(read_history_file(f, a.format));
  if (!a.html_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.html_dir, ec);
    if (ec || !std::filesystem::is_directory(a.html_dir))
      bad_usage("check", "check history: --html " + a.html_dir + ": not a folder dcslab can write (" +
                             (ec ? ec.message() : "not a directory") + ")");
  }
  bool undecided = false, failed = false;
  std::set<std::string> pages;
  for (const auto& h : histories) {
    const CheckVerdict v = check_history(h, a.budget);
    std::printf("%s\n", v.text.c_str());
    if (!a.html_dir.empty()) {
      // Two files of one name from different folders get page names of their own.
      std::string name = h.path.filename().string();
      for (int n = 2; !pages.insert(name).second; ++n) name = h.path.filename().string() + "-" + std::to_string(n);
      const std::filesystem::path page = std::filesystem::path(a.html_dir) / (name + ".html");
      TimelineInput in;
      in.title = h.path.filename().string();
      in.model = &v.result;
      if (auto w = write_file_atomic(page, timeline_html(h.history, in), 0644); !w)
        throw Fatal("check history: writing " + page.string() + ": " + w.error().message);
      std::printf("timeline: %s\n", page.string().c_str());
    }
    std::fflush(stdout);
    failed |= v.verdict == Verdict::NotLinearizable;
    undecided |= v.verdict == Verdict::Undecided;
  }
  return failed ? 1 : undecided ? 4 : 0;
}

}  // namespace dcslab
