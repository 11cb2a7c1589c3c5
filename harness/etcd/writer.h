// A background writer: puts unique values to a few keys under a prefix, every interval,
// through the cluster's members in turn, and records every operation (what was asked,
// when it started and ended, how it ended) in a History for the checker
// (write_history.h). It is what runs while a scenario injects faults.
//
// Each tick: one put of a new value to key-(seq mod keys), through the next member;
// when that member cannot be reached (NotSent), the put is recorded as failed and the
// next member is tried at once with a new value, and the unreachable one is skipped for
// `down_for`. A put that was sent and got no clear answer is indeterminate. After an
// acknowledged put, a linearizable read of the same key through another member (a read
// older than the put is a stale read).
//
// With a cas fraction, that share of the ticks compare-and-sets instead of putting (an
// etcd txn: if the key still holds what the writer last knew of it, put the new value;
// else read what it holds). The compare alternates between the key's value and its mod
// revision (0 when the writer knows the key absent). What the writer knows of a key comes
// from its last answered op on it; after an unanswered write it still believes the value
// before, so the next cas may find another value and not swap: that is recorded, and the
// linearizability checker must explain it too.
//
// Keys are <prefix><name>/<run>/key-N, <run> the writer's start time: a second run on
// the same lab never reads the first one's values.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/periodic.h"
#include "etcd/etcd_client.h"
#include "etcd/write_history.h"

namespace dcslab {

struct WriterOptions {
  std::string name = "writer";
  std::string prefix = "/dcslab/writes/";
  std::string run_id;                     // empty: the start time, UTC (20260101T120000Z)
  std::vector<std::string> endpoints;     // member names, in the order they are used
  std::chrono::milliseconds interval{100};
  int keys = 16;
  bool reads = true;
  double cas = 0;                         // the share of ticks that compare-and-set, 0..1
  std::chrono::milliseconds timeout{std::chrono::seconds(2)};   // per request
  std::chrono::milliseconds down_for{std::chrono::seconds(1)};  // skip an unreachable member
};

class Writer {
 public:
  // `clock` times the operations (a test's FakeClock moves only when the fake api moves it).
  Writer(WriterOptions options, std::shared_ptr<KvApi> api, Clock& clock);
  ~Writer();  // stops the thread
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void start();           // the background thread: step() every interval until stop()
  void stop();            // waits for the step in flight; idempotent
  bool running() const { return ticker_.running(); }

  void step();            // one tick (see above); tests call it without a thread

  History history() const;
  // The check's own operations (final reads) and member hashes join the history.
  void append(Op op);
  void set_hashes(std::vector<MemberHash> hashes);
  double now_ms();  // on the history's clock: ms since the writer was made
  const WriterOptions& options() const { return options_; }
  std::string key(int n) const;
  int ticks() const { return ticks_; }
  double seconds_running() const;

 private:
  Op& record(Op op);  // under mu_
  bool cas_tick(std::int64_t seq) const;
  // One put or cas of a new value to the key of `seq` through `ep`, recorded.
  Op write(std::int64_t seq, const std::string& ep, EtcdError* error);

  // What the writer last learnt of a key from an answer: whether it exists, its value and
  // mod revision.
  struct Known {
    bool exists = false;
    std::string value;
    std::int64_t revision = 0;
  };

  WriterOptions options_;
  std::shared_ptr<KvApi> api_;
  Clock& clock_;
  Clock::time_point t0_;
  std::int64_t seq_ = 0;
  std::int64_t cas_made_ = 0;
  std::map<std::string, Known> known_;
  std::size_t next_ = 0;
  int ticks_ = 0;
  std::map<std::string, Clock::time_point> down_until_;
  mutable std::mutex mu_;
  History history_;
  PeriodicThread ticker_;  // calls step(); the destructor stops it before any member goes
};

}  // namespace dcslab
