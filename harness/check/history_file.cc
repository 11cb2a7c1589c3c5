#include "check/history_file.h"

#include "base/error.h"
#include "base/file.h"
#include "check/dcslab_history.h"
#include "check/jepsen_log.h"

namespace dcslab {

HistoryFormat parse_history_format(const std::string& name) {
  if (name == "dcslab") return HistoryFormat::Dcslab;
  if (name == "jepsen") return HistoryFormat::Jepsen;
  if (name == "auto") return HistoryFormat::Auto;
  throw BadInput("--format: \"" + name + "\" (valid: dcslab, jepsen, auto)");
}

namespace {

HistoryFormat detect(const std::string& text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? HistoryFormat::Dcslab : HistoryFormat::Jepsen;
  }
  return HistoryFormat::Jepsen;  // empty: the Jepsen reader says there is nothing in it
}

}  // namespace

HistoryFile read_history_file(const std::filesystem::path& path, HistoryFormat format) {
  auto text = read_file(path);
  if (!text) throw BadInput(text.error().message);
  if (format == HistoryFormat::Auto) format = detect(*text);
  return {path, format,
          format == HistoryFormat::Dcslab ? read_dcslab_history(*text, path.string())
                                          : read_jepsen_log(*text, path.string())};
}

int exit_code(Verdict v) {
  switch (v) {
    case Verdict::Linearizable: return 0;
    case Verdict::NotLinearizable: return 1;
    case Verdict::Undecided: return 4;
  }
  return 4;
}

CheckVerdict check_history(const HistoryFile& file, const CheckBudget& budget) {
  CheckVerdict v;
  v.result = check_linearizable(file.history, budget);
  v.verdict = v.result.verdict;
  v.text = file.path.string() + " (" + (file.format == HistoryFormat::Jepsen ? "jepsen" : "dcslab") +
           ", " + std::to_string(file.history.ops.size()) + " ops): " + v.result.report();
  return v;
}

CheckVerdict check_history_file(const std::filesystem::path& path, HistoryFormat format,
                                const CheckBudget& budget) {
  return check_history(read_history_file(path, format), budget);
}

}  // namespace dcslab
