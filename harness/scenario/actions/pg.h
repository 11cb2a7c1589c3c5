// The actions on a background PostgreSQL writer (pg/pg_writer.h) and the Patroni role
// sampler that runs beside it (pg/role_sampler.h): pg_writer (start, stop) and
// check_pg_writes (the check of what it recorded, pg/pg_history.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "scenario/actions/action_info.h"

namespace dcslab {

// pg_writer: {start: NAME, hosts: pg, user, password, ...} | {stop: NAME}: an insert
// every interval through one libpq connection to all the hosts with
// target_session_attrs=read-write (the primary, as an application finds it), and, unless
// roles: false, GET /patroni on every host every role_interval, on the writer's clock.
struct PgWriterSpec {
  static constexpr ActionInfo info{.key = "pg_writer",
                                   .on = ActionInfo::On::OneNode,
                                   .no_expect = "pg_writer has no output to expect anything of"};
  enum class Op { Start, Stop };
  Op op = Op::Start;
  std::string name;
  std::vector<std::string> hosts;            // node names, in the order given (required)
  int port = 5432;
  std::string database = "postgres";         // template
  std::string user = "postgres";             // template
  std::string password;                      // template (a secret, as a rule)
  std::string table = "dcslab_writes";
  std::chrono::milliseconds interval{100};
  std::chrono::milliseconds timeout{2000};   // per statement, on the client
  bool synchronous = false;                  // the cluster is meant to commit synchronously
  bool roles = true;                         // sample Patroni's REST API too
  int patroni_port = 8008;
  std::chrono::milliseconds role_interval{200};
  static PgWriterSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// check_pg_writes: NAME | {name: NAME, timeout: 1m, max_unavailable: 60s, max_lost: 0}: the writer
// and its sampler stop, every row is read back from the primary, and the history is
// judged: no split brain, no timeline fork, no unexplained row, no lost synchronous
// commit (asynchronous loss is counted and reported), and, when max_unavailable is
// given, no longer time without an acknowledged write.
struct CheckPgWritesSpec {
  static constexpr ActionInfo info{
      .key = "check_pg_writes",
      .on = ActionInfo::On::OneNode,
      .no_expect = "check_pg_writes judges the history itself (split brain, lost, unexplained "
                   "rows, unavailability)"};
  std::string name;
  std::chrono::milliseconds timeout{std::chrono::minutes(1)};  // for the final read
  std::chrono::milliseconds max_unavailable{0};                // 0: reported, not judged
  // Acknowledged inserts missing from the final read that are allowed. -1: asynchronous
  // loss is reported, not judged (the checker's own rule); 0: none may be lost.
  int max_lost = -1;
  static CheckPgWritesSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

}  // namespace dcslab
