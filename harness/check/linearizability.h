// Is a key-value history linearizable? The question Knossos and Porcupine answer for
// Jepsen, asked of etcd's put, linearizable read and compare-and-set.
//
// The model: each key is a register, absent at first, with the mod revision of its last
// write. A put sets it (an acknowledged put at the revision etcd gave it, which must be
// above the key's current one); a read returns it; a cas compares the value (or the mod
// revision) and, when it matches, writes. Reads of a value with a revision pin that
// revision: the same write seen at two revisions is an anomaly.
//
// How (Wing & Gong's search with Lowe's memoization, as in Porcupine):
//  - P-compositionality: each key is checked alone (a history is linearizable when every
//    key's is). What couples keys in etcd is the one revision counter; that is checked
//    apart: a write that began after another op ended must get a higher revision, and no
//    two writes to different keys share one.
//  - Per key, a depth-first search over the calls and returns in time order tries each
//    op that may take effect next; an op's return forces it in before anything called
//    later. Each configuration (the set of ops linearized, the key's state) is
//    remembered, so none is explored twice.
//  - Indeterminate ops (info, no return) may take effect at any time after their call,
//    or never ("never" is the same as "last": nothing observes the key after the end).
//    They are tried after the determinate ones, and a configuration is skipped when one
//    with the same determinate ops and state, and fewer indeterminate ones, was seen:
//    that one can do everything this one can (Lowe's memo under a dominance order). An
//    indeterminate op is tried at all only when some candidate then takes effect
//    differently than without it (it unblocks a read or a cas, or changes what a cas
//    writes); one nothing can ever want is left out. So dozens of timeouts do not make
//    the search exponential.
//  - An indeterminate write whose value is the only write of that value and that some
//    completed op observed must have taken effect before that op returned: its return is
//    set there (what etcd's robustness tests do when they patch a history).
// Bounded: the search counts steps and watches the clock; past the budget a key is
// undecided, never "linearizable".
//
// When a key is not linearizable the checker finds the shortest prefix of its history
// (in call/return order) that cannot be linearized, names the op whose return ends it,
// what the key held where the search tried to place that op, a kind for the anomaly, and,
// for histories of puts and reads with unique values, a minimal set of ops that alone
// cannot be ordered (a witness: any history that contains them and the writes of the
// values they read is not linearizable either).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "check/kv_history.h"

namespace dcslab {

enum class Verdict { Linearizable, NotLinearizable, Undecided };
const char* verdict_name(Verdict v);  // "linearizable", "not linearizable", "undecided"

struct CheckBudget {
  std::chrono::milliseconds time{std::chrono::seconds(60)};  // 0: no time limit
  std::uint64_t steps = 0;   // search steps, all keys and explanations together; 0: no limit
  Clock* clock = nullptr;    // nullptr: the real steady clock
};

// Kinds of anomaly (Violation::kind), with what the checker means by each:
//   lost-write          a final read (after the writers stopped) shows an older value than
//                       a write acknowledged before it, or no key
//   stale-read          a read shows an older value than a write acknowledged before it began
//   read-pair           a read shows an older value than an earlier read had already seen
//   value-reappeared    a value written once was seen, then another, then it again
//   stale-cas           a compare-and-set swapped against a value already overwritten
//   unexplained-value   a value no write could have produced by then (never written, or
//                       only by a write that failed or began after the read ended)
//   revision-backwards  a write got a revision no higher than one seen before it began
//   revision-mismatch   one write seen at two revisions
//   duplicate-revision  two writes to different keys at one revision
//   no-linearization    none of the above: no order explains what each op returned
struct Violation {
  std::string kind;
  std::string key;                 // empty for the checks across keys
  std::vector<std::size_t> ops;    // indices into KvHistory::ops: the ops the explanation names
  bool minimal = false;            // `ops` alone cannot be linearized (a witness)
  std::size_t last = 0;            // the op whose return ends the failing prefix
  std::size_t prefix_ops = 0;      // that prefix: the key's first N ops by call
  std::vector<std::size_t> prefix; // those ops (indices into KvHistory::ops)
  std::size_t key_ops = 0;         // the key's ops the search saw
  bool shortest = false;           // the prefix is the shortest (the budget allowed the search)
  // What the key held where the search tried to place `last` (the states it explored;
  // pruned configurations are not in it, so it may not be every state possible there).
  std::vector<std::string> possible;
  std::string explanation;         // all of the above in words, several lines
};

struct KeyVerdict {
  std::string key;
  Verdict verdict = Verdict::Linearizable;
  std::size_t ops = 0;             // ops the search saw (fail ops and unanswered reads left out)
  std::uint64_t steps = 0;
};

struct LinearizabilityResult {
  Verdict verdict = Verdict::Linearizable;
  std::vector<Violation> violations;
  std::vector<KeyVerdict> keys;
  std::size_t ops = 0;             // the history's ops
  std::uint64_t steps = 0;
  double seconds = 0;
  bool budget_spent = false;       // some search stopped at the budget (a verdict or an explanation)
  // "not linearizable: stale-read on key /k; 1 of 4 keys; 120 ops, 3400 steps, 0.01 s"
  std::string summary() const;
  // The summary, then each violation's explanation, then the undecided keys.
  std::string report() const;
};

LinearizabilityResult check_linearizable(const KvHistory& h, const CheckBudget& budget = {});

}  // namespace dcslab
