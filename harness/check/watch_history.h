// What watches of a writer's keys delivered, and the check of it against the writer's
// history: etcd's watch guarantees, as its API documentation states them, tested.
//
// A watcher (run/watcher_steps.h) keeps one or more watches on a writer's prefix. Each
// watch is a sequence of sessions (one stream each, through one member): the first from
// the revision at its start, each next one, after a stream broke or went silent, from the
// last revision the watch delivered + 1, through the same member or another. Every event
// is recorded with its session, the response it came in, and when it was received (ms on
// the writer's clock, so events compare with the writer's operations).
//
// What the check names (each a WatchFinding, per watch):
//   reordered        an event's revision is lower than the one delivered before it
//   duplicated       the same event (key, revision) delivered a second time
//   split            the events of one revision came in more than one response (not atomic)
//   missed           an acknowledged write (put, or cas that swapped) whose revision lies
//                    between the watch's start revision and its last event was not
//                    delivered, inside one session
//   resume-missed    the same, at a re-watch: between the last event of the broken session
//                    and the first of the next one (the re-watch did not deliver exactly
//                    what was missed)
//   resume-repeated  a re-watch delivered an event at or below the revision the watch had
//                    already reached
//   unexplained      an event no write of the history could have produced: a value no put
//                    or cas wrote, the value of a failed write or of a cas that did not
//                    swap, an acknowledged write's value at another revision, an event
//                    received before its write was sent, a delete (the writer never deletes)
//   diverged         two watches saw different values of one key at one revision
//   unverified       a re-watch refused because its start revision was compacted (the
//                    events in between can no longer be had), or a watch that delivered
//                    no event at all: nothing was proven
// Indeterminate writes may show up or not; when one does, every watch must see it at one
// revision (diverged otherwise). Writes of other clients under the prefix would be
// unexplained: the prefix is the writer's own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "check/kv_history.h"

namespace dcslab {

struct WatchEvent {
  std::int64_t revision = 0;  // the kv's mod_revision
  std::string key, value;
  bool deleted = false;
  int session = 0;            // index into the watch's sessions
  int response = 0;           // which response of the watch it came in (1, 2, ...)
  double received_ms = 0;
};

struct WatchSession {
  std::string endpoint;               // the member the stream went through
  std::int64_t start_revision = 0;    // asked for
  double start_ms = 0, end_ms = 0;
  std::int64_t created_revision = 0;  // the created response's header revision (0: not created)
  std::int64_t compact_revision = 0;  // canceled: the start revision was compacted
  std::string end;                    // how it ended: "stopped", "canceled", or the error
};

struct Watch {
  std::string id;                     // "wa-1"
  std::vector<WatchSession> sessions;
  std::vector<WatchEvent> events;     // in the order received
};

struct WatchHistory {
  std::string name;                   // the watcher's
  std::string writer;                 // whose keys
  std::string prefix;                 // the watched prefix (the writer's keys)
  std::vector<Watch> watches;
};

struct WatchFinding {
  std::string kind;    // reordered | duplicated | split | missed | resume-missed | ...
  std::string watch;   // its id
  std::string message;
};

struct WatchCheckResult {
  int watches = 0, sessions = 0, resumed = 0, events = 0;
  int reordered = 0, duplicated = 0, split = 0, missed = 0, resume_missed = 0,
      resume_repeated = 0, unexplained = 0, diverged = 0, unverified = 0;
  std::vector<WatchFinding> findings;
  bool passed() const {
    return reordered + duplicated + split + missed + resume_missed + resume_repeated + unexplained +
               diverged + unverified ==
           0;
  }
  // "watches 3, sessions 5 (re-watches 2), events 412; reordered 0, duplicated 0, ..."
  std::string summary() const;
};

// `writes`: the writer's history (its puts and cas; reads are not looked at).
WatchCheckResult check_watches(const WatchHistory& w, const KvHistory& writes);

// The record as JSON (the run's artifact, watches-<scenario>-<name>.json), with the
// check's verdict when given; and back.
std::string watch_history_json(const WatchHistory& w, const WatchCheckResult* result = nullptr);
Expected<WatchHistory> parse_watch_history(const std::string& json_text);

}  // namespace dcslab
