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

KvHistory read_as(const std::filesystem::path& path, HistoryFormat* format) {
  auto text = read_file(path);
  if (!text) throw BadInput(text.error().message);
  if (*format == HistoryFormat::Auto) *format = detect(*text);
  return *format == HistoryFormat::Dcslab ? read_dcslab_history(*text, path.string())
                                          : read_jepsen_log(*text, path.string());
}

}  // namespace

KvHistory read_history_file(const std::filesystem::path& path, HistoryFormat format) {
  return read_as(path, &format);
}

int exit_code(Verdict v) {
  switch (v) {
    case Verdict::Linearizable: return 0;
    case Verdict::NotLinearizable: return 1;
    case Verdict::Undecided: return 4;
  }
  return 4;
}

CheckVerdict check_history_file(const std::filesystem::path& path, HistoryFormat format,
                                const CheckBudget& budget) {
  const KvHistory h = read_as(path, &format);
  CheckVerdict v;
  v.result = check_linearizable(h, budget);
  v.verdict = v.result.verdict;
  v.text = path.string() + " (" + (format == HistoryFormat::Jepsen ? "jepsen" : "dcslab") + ", " +
           std::to_string(h.ops.size()) + " ops): " + v.result.report();
  return v;
}

}  // namespace dcslab
