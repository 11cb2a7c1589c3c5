// `dcslab report merge -o DIR | --junit F --json F [--transcript F] IN...`: the reports of
// the N shards of one run (`run --shard K/N`, run/shard.h) as the run's one report.
// Exit status: the merged run's (0 all passed, 1 a step failed, 3 infrastructure); 2 bad
// input (a file that is not a shard's JSON report, shards of different runs, a shard
// missing or given twice), nothing written.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"

namespace dcslab {

extern const char* const kReportHelp;

// The words after "report"; prints a summary on `out`. Throws BadInput for bad input.
int report_command(const std::vector<std::string>& args, std::ostream& out);

int cmd_report(Context& ctx);

}  // namespace dcslab
