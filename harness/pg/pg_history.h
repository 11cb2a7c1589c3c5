// The record of a PostgreSQL writer's inserts (pg_writer.h), and the checker that judges
// it: did the cluster keep exactly one writable primary, and keep what it acknowledged?
//
// A write is one insert of a row no other write inserts ((client, seq) is the key), as
// the application saw it: when it started and ended (ms on one steady clock, since the
// writer was made; a (re)connect is part of the write that needed it), and how it ended:
//   acknowledged   the INSERT's commit returned ok. The row came back with the server's
//                  name for itself, its WAL insert timeline and LSN at the insert, and
//                  whether synchronous replication was configured for that commit
//   failed         certainly not applied: no connection could be opened (libpq tried
//                  every host), the server had closed the session before the send, or
//                  the server answered ERROR (read-only transaction, statement timeout):
//                  an ERROR aborts the statement's transaction
//   indeterminate  sent, and no clear answer: the connection broke, the deadline
//                  passed, the session ended with FATAL (a session can be ended after
//                  its commit, while it waits for a synchronous standby)
//
// A tenure is one (node, timeline) pair under which writes were acknowledged: a node is
// primary on one timeline until it stops being primary (every promotion starts a new
// timeline), so two tenures are two primaries. What the checker finds:
//   split_brain    two tenures on distinct nodes with no moment between them: a write of
//                  each started after a write of the other had been acknowledged (the
//                  commits lie inside their writes' intervals, so no ordering of them
//                  makes one primary follow the other). A single sequential writer shows
//                  this as A, B, A; concurrent writes whose intervals merely overlap are
//                  explained and not flagged
//   timeline_fork  a tenure on another node at a timeline not above an earlier tenure's
//                  (two nodes acknowledging on one timeline is the clearest case):
//                  promotions always raise the timeline, so these are two lineages
//   lost           an acknowledged row absent from the final read (a read of every row
//                  from the primary left at the end). A failure when the history is in
//                  synchronous mode and the commit was synchronous (synchronous
//                  replication configured, no "canceling wait for synchronous
//                  replication" warning); otherwise counted and reported: asynchronous
//                  replication may lose the tail of a failed primary by design
//   unexplained    a row the final read shows that no acknowledged or indeterminate write
//                  explains: a failed write's row (the client was told it did not
//                  happen), another value, or a seq never written
//   unverified     no final read answered: nothing about loss could be judged (a
//                  failure only in synchronous mode, where loss is judged)
//   unavailable    the longest time without an acknowledged write was above the bound
//                  the caller set (PgCheckOptions::max_unavailable_ms)
// Indeterminate writes are never lost nor evidence of anything: they may or may not
// have been applied, and a primary's tenure is drawn from acknowledged writes only.
//
// Write availability: the time from one acknowledged write to the next (ack to ack, as an
// application saw it; with the lower bound, from the ack to the start of the next write
// that succeeded), and an open window at the end when no write succeeded after the last
// acknowledged one before the writer stopped. Per fault mark (given by the caller: a fault
// window's start and end on the history's clock), the figures after it (PgFaultFigures).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace dcslab {

enum class PgOutcome { Acknowledged, Failed, Indeterminate };
const char* pg_outcome_name(PgOutcome o);

struct PgWrite {
  std::int64_t id = 0;        // unique in the history, in order of start
  std::int64_t seq = 0;       // the row's key within the client
  std::string value;
  double start_ms = 0, end_ms = 0;
  PgOutcome outcome = PgOutcome::Failed;
  std::string node;           // acknowledged: the server's node; else the node the
                              // connection was on, if one was open
  std::string endpoint;       // host:port libpq connected to ("" when none)
  int timeline = 0;           // acknowledged: the primary's WAL insert timeline
  std::string lsn;            // acknowledged: the WAL insert position at the insert
  bool sync = false;          // acknowledged: synchronous replication configured then
  bool connected = false;     // this write opened a new connection first
  std::string error;          // failed / indeterminate: why
  std::string sqlstate;       // the server's code, when it answered one
  std::vector<std::string> notices;  // WARNINGs that came with the answer
};

// A read of every row of the client, after the writer stopped, from the primary
// libpq found (target_session_attrs=read-write).
struct PgFinalRead {
  double start_ms = 0, end_ms = 0;
  bool ok = false;
  std::string error;
  std::string node, endpoint;
  int timeline = 0;
  std::vector<std::pair<std::int64_t, std::string>> rows;  // (seq, value)
};

// A fault window, on the history's clock (end == start: an instant fault, a kill).
struct PgFaultMark {
  std::string name;
  double start_ms = 0, end_ms = 0;
};

struct PgHistory {
  std::string name;           // the writer's
  std::string client;         // every row's client column: <name>/<run>
  std::string table;
  std::string conninfo;       // without the password
  double interval_ms = 0;
  bool synchronous = false;   // the cluster is meant to commit synchronously
  std::vector<PgWrite> writes;
  std::vector<PgFinalRead> final_reads;
  std::vector<PgFaultMark> faults;
};

struct PgTenure {
  std::string node;
  int timeline = 0;
  int acknowledged = 0;
  std::int64_t first_write = 0, last_write = 0;
  double first_start_ms = 0, first_end_ms = 0;  // of its first acknowledged write
  double last_start_ms = 0, last_end_ms = 0;    // of its last
  std::string str() const { return node + "/timeline " + std::to_string(timeline); }
};

// A time without an acknowledged write: from `from_ms` (an ack, or the first write's
// start) to `to_ms` (the next ack, or the last write's end when `open`).
struct PgGap {
  double from_ms = 0, to_ms = 0;
  double lower_ms = 0;              // from the ack to the start of the write that ended it
  std::int64_t after_write = 0;     // the ack before (0: none, the history's start)
  std::int64_t before_write = 0;    // the ack after (0: none, open)
  bool open = false;
  double ms() const { return to_ms - from_ms; }
};

// A fault's effect may come after its window (a kill takes hold after the command that
// sent it returned; a lease runs out later): its figures cover the time from its start
// to the next fault's start (or the end).
struct PgFaultFigures {
  std::string name;
  double start_ms = 0, end_ms = 0;
  PgGap longest;                    // the longest gap that ends after the fault's start
                                    // and begins before the next fault's
  double recovery_ms = -1;          // from the fault's start to the ack that ended that
                                    // gap (-1: none came, the gap is open)
  std::string tenure_before, tenure_after;  // of the last ack before the fault, and of the
                                            // ack that ended the gap
  int acknowledged = 0, failed = 0, indeterminate = 0;  // writes started from the fault's
                                                        // start to the end of the gap
};

struct PgFinding {
  std::string kind;   // split_brain | timeline_fork | lost | unexplained | unverified | unavailable
  std::vector<std::int64_t> writes;
  std::string message;
  bool failure = true;  // false: counted and reported (asynchronous loss)
};

struct PgCheckOptions {
  double max_unavailable_ms = 0;  // 0: not judged
};

struct PgCheckResult {
  int writes = 0, acknowledged = 0, failed = 0, indeterminate = 0;
  int acknowledged_sync = 0;  // of them, committed with synchronous replication configured
  std::vector<PgTenure> tenures;  // in order of their first acknowledged write
  int split_brain = 0, timeline_forks = 0;
  bool final_read = false;        // a final read answered (the loss figures mean something)
  std::string final_node;
  int lost = 0, lost_sync = 0;    // lost_sync: the lost writes that count as failures
  int indeterminate_applied = 0;  // indeterminate writes whose row is there
  int unexplained = 0, unverified = 0;
  PgGap longest;                  // the longest time without an ack (not the leading one)
  PgGap leading;                  // from the first write's start to the first ack
  std::vector<PgFaultFigures> faults;
  bool unavailable = false;       // longest above PgCheckOptions::max_unavailable_ms
  std::vector<PgFinding> findings;

  bool passed() const;
  // "writes 600: acknowledged 540, failed 52, indeterminate 8; primaries pg-00/timeline 1
  //  -> pg-01/timeline 2; split brain 0, timeline forks 0; lost 0 ..., longest ..."
  std::string summary() const;
};

PgCheckResult check_pg_history(const PgHistory& h, const PgCheckOptions& options = {});

// The history as JSON (the run's artifact), and back (tests, inspection tools).
std::string pg_history_json(const PgHistory& h, const PgCheckResult* result = nullptr);
Expected<PgHistory> parse_pg_history(const std::string& json_text);

}  // namespace dcslab
