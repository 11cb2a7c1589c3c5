// The record of a writer's operations against etcd, and the checker that judges it.
//
// A history is what a client saw: every put, get and compare-and-set (cas: an etcd txn
// that puts a new value if the key's value, or mod revision, is the one expected) with
// when it started and ended
// (milliseconds on one steady clock), which member it went through, and how it ended:
//   ok             etcd answered success (a put: acknowledged; the answer's revision is
//                  the write's mod_revision)
//   failed         certainly not applied: nothing reached etcd (connection refused, TLS
//                  failed) or etcd refused it before applying (bad token, permission)
//   indeterminate  sent, and no clear answer (timeout, reset, "request timed out",
//                  "leader changed"): it may have been applied, now or later
// Every put and cas writes a value no other writes, so a value read names its write. A
// cas that answered is ok, swapped or not (not swapped: it found something else and
// wrote nothing); a swapped cas is an acknowledged write, like a put.
//
// What the checker flags (each a Finding):
//   lost         a final read (after the writer stopped, through each member,
//                linearizable) does not show the key's last acknowledged write nor a
//                later write: absent, or an older revision
//   stale        a read during the run returned an older revision than a write that was
//                acknowledged before the read started (or nothing at all)
//   unexplained  a read returned a value no put of the history could have produced: an
//                unknown value, the value of a failed put, of a put that started after the
//                read ended, or of an acknowledged put at another revision
//   diverged     members' hashes of the key space at the same revision differ
//   unverified   a final read or a member's hash got no answer (a member down at the
//                check): not evidence of a loss, but nothing was proven either
// Indeterminate puts are never flagged whether or not they took effect: their value may
// be the final one (when its revision is above the last acknowledged write's) or
// nowhere. A failed put whose value shows up is "unexplained": the client was told it
// did not happen.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "check/kv_history.h"
#include "check/linearizability.h"

namespace dcslab {

enum class OpKind { Put, Get, Cas };
enum class OpStatus { Ok, Failed, Indeterminate };
const char* op_kind_name(OpKind k);
const char* op_status_name(OpStatus s);

struct Op {
  std::int64_t id = 0;           // unique in the history
  OpKind kind = OpKind::Put;
  std::string key;
  std::string value;             // put, cas: written (cas: if it swapped); get: observed (when found)
  bool found = false;            // get: the key existed
  std::int64_t revision = 0;     // put ok, cas swapped: its revision; get found: the key's mod_revision
  // cas: what it compared: the key's mod revision when set (0: the key is absent), else
  // the key's value (expect_value; a missing key never matches).
  std::optional<std::int64_t> expect_revision;
  std::string expect_value;
  bool swapped = false;          // cas, ok: the compare held and `value` was written
  std::string endpoint;          // the member it went through (node name)
  double start_ms = 0, end_ms = 0;
  OpStatus status = OpStatus::Ok;
  std::string error;             // failed / indeterminate: why
  bool final = false;            // get: a final read, after the writer stopped
};

// One member's hash of the key space at `revision`: etcd's HashKV where the gateway
// offers it, else a SHA-256 of every key (key, create/mod revision, version, value, lease)
// read from the member's own store at that revision.
struct MemberHash {
  std::string endpoint;
  std::int64_t revision = 0;
  std::string method;            // "hashkv" | "range-sha256"
  std::string hash;
  std::int64_t compact_revision = 0;
  std::string error;             // could not be taken
};

struct History {
  std::string name;              // the writer's name
  std::string prefix;            // every key starts with it
  std::vector<std::string> endpoints;
  double interval_ms = 0;
  std::vector<Op> ops;
  std::vector<MemberHash> hashes;  // taken at the check
};

struct Finding {
  std::string kind;              // lost | stale | unexplained | diverged
  std::string key;               // empty for diverged
  std::int64_t op = 0;           // the read that showed it (0: none)
  std::string message;
};

struct CheckResult {
  int acknowledged = 0, failed = 0, indeterminate = 0;  // puts
  int cas = 0, cas_swapped = 0, cas_not_swapped = 0, cas_failed = 0, cas_indeterminate = 0;
  int reads = 0, final_reads = 0;
  int lost = 0, stale = 0, unexplained = 0, diverged = 0;
  int unverified = 0;  // final reads or hashes that got no answer: nothing could be judged
  int keys = 0;
  std::vector<Finding> findings;
  bool passed() const {
    return lost == 0 && stale == 0 && unexplained == 0 && diverged == 0 && unverified == 0;
  }
  // "acknowledged 512, failed 3, indeterminate 1; reads 510 (final 48); lost 0, ..."; with
  // cas ops, then "; cas 40: swapped 31, not swapped 8, failed 0, indeterminate 1"
  std::string summary() const;
};

CheckResult check_history(const History& h);

// The history as the linearizability checker sees it (check/kv_history.h): the same ops
// check/dcslab_history.h reads from history_json's text (named "#<id>"; the writer one
// client, final reads the check's own), at the clock's full resolution.
KvHistory kv_history(const History& h);

// The history as JSON (the run's artifact), and back (for tests and inspection tools).
// With `model`: its verdict too ("linearizability": verdict, summary, seconds, report).
std::string history_json(const History& h, const CheckResult* result = nullptr,
                         const LinearizabilityResult* model = nullptr);
Expected<History> parse_history(const std::string& json_text);

}  // namespace dcslab
