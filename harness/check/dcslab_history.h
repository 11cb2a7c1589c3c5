// The history JSON a dcslab writer saves in a run's artifacts (etcd/write_history.h,
// history_json), read as a KvHistory for the linearizability checker. Only the ops are
// read (member hashes and the saved check are the writer check's business):
//   {"id": 3, "kind": "put"|"get", "key": "...", "value": "...", "found": true,
//    "revision": 6, "endpoint": "dcs-01", "start_ms": 100.0, "end_ms": 109.0,
//    "status": "ok"|"failed"|"indeterminate", "error": "...", "final": true,
//    "client": "w2"}
// and compare-and-sets:
//   {"id": 4, "kind": "cas", "key": "...", "value": "w1-4" (written if it swaps),
//    "expect_value": "w1-2" (null: the key absent) | "expect_revision": 6 (0: absent),
//    "swapped": true (required when ok), "revision": 7 (ok and swapped), ...}
// status ok -> ok, failed -> fail, indeterminate -> info. "client" is optional (the
// writer is one client: the history's "name"; final reads are the check's own, client
// "check"). Ops are named "#<id>".
#pragma once

#include <filesystem>
#include <string>

#include "check/kv_history.h"

namespace dcslab {

// Throws BadInput "SOURCE:LINE: ops[N].field: what is wrong" (LINE: where that op
// begins; for text that is not JSON, where the parser stopped).
KvHistory read_dcslab_history(const std::string& text, const std::string& source);
KvHistory read_dcslab_history_file(const std::filesystem::path& path);

}  // namespace dcslab
