// Re-checking a saved history offline: what `dcslab check history FILE [--format
// dcslab|jepsen]` calls (the command itself comes with cli/'s command table).
//
// Exit codes, for the command to return as they are:
//   0  linearizable
//   1  not linearizable (the report names the shortest failing prefix, in words)
//   2  unreadable input: check_history_file throws BadInput ("FILE:LINE: what"), which
//      main() turns into exit status 2 as for every bad input
//   4  undecided: the search ran out of its budget before deciding (3 is Fatal's)
#pragma once

#include <filesystem>
#include <string>

#include "check/kv_history.h"
#include "check/linearizability.h"

namespace dcslab {

enum class HistoryFormat { Auto, Dcslab, Jepsen };

// "dcslab", "jepsen" or "auto"; BadInput otherwise.
HistoryFormat parse_history_format(const std::string& name);

// A history read from a file, with the format it was read as (Auto resolved).
struct HistoryFile {
  std::filesystem::path path;
  HistoryFormat format = HistoryFormat::Auto;
  KvHistory history;
};

// Auto: a file whose first non-blank character is '{' is dcslab's JSON, else a Jepsen log.
HistoryFile read_history_file(const std::filesystem::path& path, HistoryFormat format);

int exit_code(Verdict v);

struct CheckVerdict {
  Verdict verdict = Verdict::Undecided;
  LinearizabilityResult result;
  std::string text;  // "FILE (format, N ops): <report>"
  int exit_code() const { return dcslab::exit_code(verdict); }
};

CheckVerdict check_history(const HistoryFile& file, const CheckBudget& budget = {});
// read_history_file, then check_history.
CheckVerdict check_history_file(const std::filesystem::path& path,
                                HistoryFormat format = HistoryFormat::Auto,
                                const CheckBudget& budget = {});

}  // namespace dcslab
