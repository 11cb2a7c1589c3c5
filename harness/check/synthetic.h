// Synthetic key-value histories for measuring and testing the linearizability checker:
// `clients` sequential clients run puts, reads and compare-and-sets against one
// simulated store on a few keys, each op taking effect at a random point of its
// interval, so the history is linearizable by construction. Some ops time out (info:
// they take effect later or never, and the client moves on) and some fail (no effect).
// Values are unique, as the writer's are; revisions are etcd's (one counter for the
// store). The same options and seed give the same history on every machine (the random
// numbers are splitmix64's, not the standard library's distributions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "check/kv_history.h"

namespace dcslab {

struct SyntheticOptions {
  int ops = 10000;
  int clients = 8;
  int keys = 4;
  std::uint64_t seed = 1;
  double read_share = 0.5;    // of all ops; the rest are puts and cas
  double cas_share = 0.15;    // of all ops
  double info_share = 0.02;   // ops that get no answer
  double fail_share = 0.01;   // ops that certainly did not take effect
  bool revisions = true;      // false: no revisions, as in a Jepsen log
};

KvHistory synthetic_history(const SyntheticOptions& options);

// Makes one read in the second half of `h` stale: it now returns a value of its key
// that an acknowledged write had overwritten before the read began. Returns that read's
// index, or nullopt when no read qualifies.
std::optional<std::size_t> make_one_read_stale(KvHistory& h);

}  // namespace dcslab
