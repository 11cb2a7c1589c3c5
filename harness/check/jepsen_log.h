// Jepsen's etcd logs (../shared/histories/jepsen-etcd/README.md has the format and the
// model): one event a line,
//   INFO  jepsen.util - <process> <type> <f> <value>      (tabs or spaces between)
// <type> :invoke, :ok, :fail or :info; <f> :read, :write or :cas ([expected new]).
// A process has at most one op open; its next :ok/:fail/:info line completes it.
//   :ok                  answered: an ok op (a cas that swapped)
//   :fail :cas           answered "found something else": an ok cas that did not swap
//   :fail :write         certainly not applied: a fail op
//   :fail :read          (:timed-out) no answer: an info read
//   :info, or no line    no answer: info
// One key ("register"), times are line numbers, ops are named by their :invoke line and
// their client is "process N". Lines of other loggers are skipped, and so are the
// nemesis's (":nemesis" for a process).
#pragma once

#include <filesystem>
#include <string>

#include "check/kv_history.h"

namespace dcslab {

// Throws BadInput "SOURCE:LINE: what is wrong" for a line it cannot read, and when no
// operation is found at all.
KvHistory read_jepsen_log(const std::string& text, const std::string& source);
KvHistory read_jepsen_log_file(const std::filesystem::path& path);

}  // namespace dcslab
