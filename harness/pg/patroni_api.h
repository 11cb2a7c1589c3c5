// Patroni's REST API, in one place: the paths, the JSON fields and what their values
// mean. Plain HTTP on each node's :8008 (base/http_get.h), a deadline on every request.
//
//   GET /patroni  this node's own view: role, state, timeline, ... Patroni 3.0.2 says
//                 "master" for a primary (later versions "primary") and "replica"; while
//                 PostgreSQL is not running it repeats its last role with the state
//                 (stopped, stopping, starting, restarting, crashed, ...), and "demoted"
//                 while it demotes itself. The timeline is the primary's WAL insert
//                 timeline (the same expression as the PostgreSQL writer's), a replica's
//                 the one it replays. "failsafe_mode_is_active" and "cluster_unlocked"
//                 appear only when true. Answered 200 whatever the role.
//   GET /cluster  the members as the DCS has them: name, role (leader, replica,
//                 sync_standby, standby_leader), state ("running" for a streaming replica
//                 on 3.0.2: it has no "streaming" state yet), host, port, timeline, lag.
// (Patroni 3.0.2's api.py, get_postgresql_status and utils.cluster_as_json; the answers
// measured in /work/research/patroni: cluster-sync.json, q5*-monitor.txt.)
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"

namespace dcslab {

// What a node is, for a role timeline:
//   leader       primary, PostgreSQL running: takes writes
//   replica      a standby (replica, sync_standby, standby_leader), not stopped
//   demoted      was primary and is not one any more: role "demoted", or a primary role
//                whose PostgreSQL is not running (stopping, restarting)
//   stopped      PostgreSQL is not running (stopped, crashed, a failed start or stop)
//   unreachable  no answer from Patroni's REST API (down, partitioned, hung)
//   other        anything else (uninitialized, a role this code does not know)
enum class PatroniRole { Leader, Replica, Demoted, Stopped, Unreachable, Other };
const char* patroni_role_name(PatroniRole r);
bool parse_patroni_role_name(const std::string& name, PatroniRole* out);

struct PatroniNodeStatus {
  std::string role;        // as Patroni said it
  std::string state;
  int timeline = 0;        // 0: not given
  bool failsafe_active = false;
  bool cluster_unlocked = false;  // the DCS has no leader key
  bool paused = false;
  bool pending_restart = false;
  int http_status = 0;
};
PatroniRole classify(const PatroniNodeStatus& s);
Expected<PatroniNodeStatus> parse_patroni_status(const std::string& json_text);

struct PatroniMember {
  std::string name, role, state, host, api_url;
  int port = 0;
  int timeline = 0;
  long long lag = -1;  // bytes behind the leader; -1: the leader, or "unknown"
};
struct PatroniCluster {
  std::vector<PatroniMember> members;
  bool paused = false;
  const PatroniMember* leader() const;  // role leader or standby_leader; null: none
};
Expected<PatroniCluster> parse_patroni_cluster(const std::string& json_text);

// The seam the role sampler uses (tests give a fake).
class PatroniApi {
 public:
  virtual ~PatroniApi() = default;
  virtual Expected<PatroniNodeStatus> status(const std::string& host, int port,
                                             std::chrono::milliseconds timeout) = 0;
  virtual Expected<PatroniCluster> cluster(const std::string& host, int port,
                                           std::chrono::milliseconds timeout) = 0;
};

// Over plain HTTP. Stateless: any thread may call it.
class PatroniHttp : public PatroniApi {
 public:
  Expected<PatroniNodeStatus> status(const std::string& host, int port,
                                     std::chrono::milliseconds timeout) override;
  Expected<PatroniCluster> cluster(const std::string& host, int port,
                                   std::chrono::milliseconds timeout) override;
};

}  // namespace dcslab
