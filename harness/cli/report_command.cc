#include "cli/report_command.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "base/error.h"
#include "base/file.h"
#include "report/report_files.h"
#include "run/shard.h"

namespace fs = std::filesystem;

namespace dcslab {

const char* const kReportHelp = R"(usage: dcslab report merge (-o DIR | --junit FILE --json FILE [--transcript FILE]) IN...

Joins the reports of the N shards of one run (dcslab run --shard K/N, each on a CI job
of its own) into the report the run makes on one machine: scenarios (a matrix: cells)
in the unsharded run's order, counts summed, the exit status the worst shard's. A
requirement that several shards ran (they each needed it) is reported once: its failed
result if one shard's failed, else the first shard's.

IN is a shard's JSON report (run --json FILE), or a folder holding report.json (a run's
artifacts folder). Every shard of the run must be given, each once; shards of different
runs (other scenarios or files, another N, another --seed) are refused.

  -o DIR              write DIR/junit.xml, DIR/report.json and DIR/transcript.md
  --junit FILE        the merged JUnit XML
  --json FILE         the merged JSON report
  --transcript FILE   the merged Markdown transcript

Exit status: the merged run's (0 all passed, 1 a step failed, 3 infrastructure
failure); 2 bad input (naming the file), nothing written.
)";

namespace {

struct MergeArgs {
  std::optional<fs::path> dir, junit, json, transcript;
  std::vector<fs::path> inputs;
};

MergeArgs parse_merge_args(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "merge") bad_usage("report", "report: expected \"merge\"");
  MergeArgs a;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& x = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) bad_usage("report", "report merge: " + x + " needs a value");
      return args[++i];
    };
    if (x == "-o" || x == "--output") a.dir = value();
    else if (x == "--junit") a.junit = value();
    else if (x == "--json") a.json = value();
    else if (x == "--transcript") a.transcript = value();
    else if (x.size() > 1 && x[0] == '-') bad_usage("report", "report merge: unknown option " + x);
    else a.inputs.emplace_back(x);
  }
  if (!a.dir && !a.junit && !a.json && !a.transcript)
    bad_usage("report", "report merge: where to? -o DIR, or --junit/--json/--transcript FILE");
  if (a.inputs.empty()) bad_usage("report", "report merge: expected the shards' reports (IN...)");
  return a;
}

}  // namespace

int report_command(const std::vector<std::string>& args, std::ostream& out) {
  const MergeArgs a = parse_merge_args(args);
  std::vector<ShardReportFile> inputs;
  for (const auto& in : a.inputs) {
    const fs::path file = fs::is_directory(in) ? in / "report.json" : in;
    auto text = read_file(file);
    if (!text) throw BadInput(file.string() + ": cannot read: " + text.error().message);
    inputs.push_back({file.string(), std::move(*text)});
  }
  // Everything checked and merged before any file is written.
  const MergedReports m = merge_shard_reports(inputs);
  if (a.dir) {
    write_text_file(*a.dir / "junit.xml", m.junit);
    write_text_file(*a.dir / "report.json", m.json);
    write_text_file(*a.dir / "transcript.md", m.transcript);
  }
  if (a.junit) write_text_file(*a.junit, m.junit);
  if (a.json) write_text_file(*a.json, m.json);
  if (a.transcript) write_text_file(*a.transcript, m.transcript);
  const char* what = m.matrix ? "cell" : "scenario";
  out << "merged " << m.shards << " shard" << (m.shards == 1 ? "" : "s") << " of run "
      << m.run.substr(0, 12) << ": " << m.items << " " << what << (m.items == 1 ? "" : "s") << ", "
      << m.failed << " failed; exit status " << m.exit_status << "\n";
  return m.exit_status;
}

int cmd_report(Context& ctx) { return report_command(ctx.args(), std::cout); }

}  // namespace dcslab
