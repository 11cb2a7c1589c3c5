// A background watcher of a writer's keys: one watch per named member, each a thread
// that streams etcd's /v3/watch (etcd_client.h) on the writer's prefix and records every
// event it delivers (check/watch_history.h), for the check of etcd's watch guarantees.
//
// Each watch starts through its own member from the revision at the watcher's start + 1
// (every write after the start must be delivered). When its stream breaks (the member
// crashed, restarted, was cut off), goes silent for `idle`, or cannot be opened, it
// re-watches from the last revision it delivered + 1, through the next member in turn
// (a cut-off member's stream would stay silent, a crashed one's refuses): a new session.
// A re-watch refused because its start revision was compacted ends the watch (what was
// missed can no longer be had; the check says so).
//
// Times are on the writer's clock (`now_ms`), so events compare with its operations.
// Each watch has a client of its own: an EtcdClient is one thread's.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "check/watch_history.h"
#include "etcd/etcd_client.h"

namespace dcslab {

struct WatcherOptions {
  std::string name = "watcher";
  std::string writer;                          // whose keys (for the record)
  std::string prefix;                          // the writer's keys
  std::vector<std::string> endpoints;          // one watch starting through each
  std::chrono::milliseconds timeout{std::chrono::seconds(2)};  // to connect and be answered
  std::chrono::milliseconds idle{std::chrono::seconds(3)};     // silent this long: re-watch
  std::chrono::milliseconds retry{std::chrono::milliseconds(200)};  // between failed sessions
};

class Watcher {
 public:
  using MakeClient = std::function<std::unique_ptr<EtcdClient>()>;
  Watcher(WatcherOptions options, MakeClient make_client, std::function<double()> now_ms, Clock& clock);
  ~Watcher();  // stops the threads
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The revision now (status through the members in turn, the first that answers), then
  // the watches from the one after it. The revision they start from.
  Expected<std::int64_t> start();
  void stop();  // every stream ends at once (within 100 ms); idempotent

  WatchHistory history() const;
  // The lowest revision every watch has delivered up to (0: one has delivered nothing).
  std::int64_t reached() const;
  const WatcherOptions& options() const { return options_; }

 private:
  void run(std::size_t index, std::int64_t from);
  std::string prefix_end() const;

  WatcherOptions options_;
  MakeClient make_client_;
  std::function<double()> now_ms_;
  Clock& clock_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  WatchHistory history_;
  std::vector<std::int64_t> reached_;  // per watch
  std::vector<std::thread> threads_;
};

}  // namespace dcslab
