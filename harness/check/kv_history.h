// A key-value history as the linearizability checker sees it, whatever recorded it (a
// dcslab writer's JSON, a Jepsen etcd log): each operation is one client's call on one
// key, with when it was called, when it returned, and how it ended.
//
// Outcomes:
//   ok    it returned an answer: it took effect once, between its call and its return,
//         and what it returned (a read's value, a cas's swapped or not) is what the key
//         held at that point
//   fail  it certainly did not take effect (nothing reached the store, or the store
//         refused it before applying): the checker leaves it out
//   info  sent, no answer: it may have taken effect at any time after its call, or
//         never; an info read constrains nothing
// A cas that returned "did not swap" is ok, not fail: it saw a value other than the one
// it expected, and that is a fact about the key the checker uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dcslab {

enum class KvKind { Put, Read, Cas };
enum class KvOutcome { Ok, Fail, Info };
const char* kv_kind_name(KvKind k);
const char* kv_outcome_name(KvOutcome o);

struct KvOp {
  KvKind kind = KvKind::Put;
  KvOutcome outcome = KvOutcome::Ok;
  std::string key;
  // Put: the value written. Read (ok): the value seen, nullopt for "no key".
  // Cas: the new value it writes when the compare holds.
  std::optional<std::string> value;
  // Cas comparing the key's value: the value expected (nullopt: the key must be absent).
  std::optional<std::string> expected;
  // Cas comparing the key's mod revision instead (etcd's txn): the revision expected,
  // 0 for "absent". When set, `expected` is ignored.
  std::optional<std::int64_t> expected_revision;
  bool swapped = false;       // cas, ok: the compare held and `value` was written
  // Put or swapped cas, ok: the revision etcd gave the write. Read, ok and found: the
  // key's mod revision. 0: not known (Jepsen logs carry none).
  std::int64_t revision = 0;
  double call = 0;            // in the history's unit (ms, or a log's line number)
  double ret = 0;             // ignored for info
  std::string client;         // "writer", "process 3"
  std::string name;           // how its source names it: "#12", "line 34"
  std::string endpoint;       // the member it went through, when known
  bool final = false;         // a read after the writers stopped (the check's own)
};

struct KvHistory {
  std::string source;         // file name, for messages
  std::string time_unit = "ms";  // "ms", or "line" for a log ordered by its lines
  std::vector<KvOp> ops;
};

// One op in words, with what it saw or wrote:
//   read #4 (writer via dcs-02, 109.2-117 ms) saw "w1-0" at revision 5
//   cas line 27 (process 1, lines 27-29) ["0" -> "3"] did not swap (found other than "0")
//   put #9 (writer via dcs-01, from 200 ms) of "w1-5": no answer (may have taken effect)
std::string describe_op(const KvHistory& h, const KvOp& op);
// A value as the explanation prints it: "w1-0" quoted, or "no key".
std::string describe_value(const std::optional<std::string>& v);

}  // namespace dcslab
