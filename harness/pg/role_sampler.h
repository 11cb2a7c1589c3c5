// A Patroni role sampler: one thread per node polls GET /patroni (patroni_api.h) every
// interval with a deadline and records what each node said it was, as a role timeline:
// per node, spans of consecutive samples that said the same (role, Patroni's own role
// and state, timeline, failsafe), and the role changes between them. Saved as JSON next
// to the PostgreSQL writer's history, on the same clock (give the writer's origin), so a
// failover reads the same in both: the old leader demoted or unreachable at t, the new
// one leader on timeline N+1 at t', the writes failing in between.
//
// What a timeline shows is what was sampled: a change happened somewhere between two
// samples, and two nodes saying "leader" in overlapping spans is an observation for the
// report (the write history, not this, proves a split brain).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "pg/patroni_api.h"

namespace dcslab {

struct PatroniNode {
  std::string name;   // the lab's node name
  std::string host;   // the REST API's address
  int port = 8008;
};

struct RoleSpan {
  std::string node;
  PatroniRole role = PatroniRole::Other;
  std::string patroni_role, state;  // as Patroni said them ("" when unreachable)
  int timeline = 0;
  bool failsafe = false;
  std::string error;                // unreachable: why
  double from_ms = 0, to_ms = 0;    // first and last sample of the span
  int samples = 0;
};

struct RoleChange {
  std::string node;
  double at_ms = 0;                 // the first sample that said the new role
  double last_before_ms = 0;        // the last that said the old one
  PatroniRole from = PatroniRole::Other, to = PatroniRole::Other;
  int timeline = 0;                 // with the new role
};

// A time when two nodes both said leader, or none did.
struct RoleWindow {
  double from_ms = 0, to_ms = 0;
  std::vector<std::string> nodes;   // the leaders (empty: none)
  double ms() const { return to_ms - from_ms; }
};

struct RoleTimeline {
  std::vector<std::string> nodes;
  double interval_ms = 0;
  std::vector<RoleSpan> spans;      // in the order they began

  std::vector<RoleChange> changes() const;
  // Overlapping leader spans of distinct nodes.
  std::vector<RoleWindow> two_leaders() const;
  // Times within the period every node was sampled in when no node's span said leader,
  // from the last sample of one leader span to the first of the next.
  std::vector<RoleWindow> no_leader() const;
};

std::string role_timeline_json(const RoleTimeline& t);
Expected<RoleTimeline> parse_role_timeline(const std::string& json_text);

struct RoleSamplerOptions {
  std::vector<PatroniNode> nodes;
  std::chrono::milliseconds interval{200};
  std::chrono::milliseconds timeout{500};  // per request
};

class RoleSampler {
 public:
  // `origin`: time zero of the timeline (the writer's, to share its clock).
  RoleSampler(RoleSamplerOptions options, std::shared_ptr<PatroniApi> api, Clock& clock,
              Clock::time_point origin);
  RoleSampler(RoleSamplerOptions options, std::shared_ptr<PatroniApi> api, Clock& clock)
      : RoleSampler(std::move(options), std::move(api), clock, clock.now()) {}
  ~RoleSampler();  // stops the threads
  RoleSampler(const RoleSampler&) = delete;
  RoleSampler& operator=(const RoleSampler&) = delete;

  void start();               // one thread per node: sample(i) every interval
  void stop();                // idempotent
  bool running() const { return !threads_.empty(); }
  void sample(std::size_t node);  // one poll of one node; tests call it without threads
  void sample_all();

  RoleTimeline timeline() const;
  double now_ms();

 private:
  RoleSamplerOptions options_;
  std::shared_ptr<PatroniApi> api_;
  Clock& clock_;
  Clock::time_point origin_;
  mutable std::mutex mu_;
  RoleTimeline timeline_;
  std::vector<std::size_t> open_;  // per node: index of its current span in timeline_.spans, or npos
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
};

}  // namespace dcslab
