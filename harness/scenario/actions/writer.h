// The actions on a background etcd writer: writer (start, stop) and check_writes (the
// check of what it recorded; run/writer_steps.h, etcd/write_history.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "scenario/actions/action_info.h"

namespace dcslab {

// writer: {start: NAME, <options>} | {stop: NAME}: a writer through etcd's JSON gateway
// that records every put.
struct WriterSpec {
  static constexpr ActionInfo info{.key = "writer",
                                   .on = ActionInfo::On::OneNode,
                                   .no_expect = "writer has no output to expect anything of"};
  enum class Op { Start, Stop };
  Op op = Op::Start;
  std::string name;
  std::vector<std::string> endpoints;        // node names, in the lab's order (all by default)
  int port = 2379;
  std::chrono::milliseconds interval{100};
  int keys = 16;
  bool reads = true;
  double cas = 0;                            // the share of writes that compare-and-set (0..1)
  std::string prefix = "/dcslab/writes/";    // template
  std::string user;                          // template; empty: no authentication
  std::string password;                      // template (a secret, as a rule)
  std::chrono::milliseconds request_timeout{std::chrono::seconds(2)};
  // TLS, as expect_tls names files: lab | none | a local file | node:/path (templates).
  std::string ca = "node:/etc/dcs/cert/ca.crt";
  std::string cert, key;                     // a client certificate without a Common Name
  std::string sign_with = "node:/etc/dcs/cert/ca.key";  // else dcslab makes one, signed by this CA key
  static WriterSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// watcher: {start: NAME, writer: W, <options>} | {stop: NAME}: watches of writer W's keys
// through the gateway's /v3/watch, one per member named (etcd/watcher.h); check_writes of
// W judges what they delivered against W's history (check/watch_history.h).
struct WatcherSpec {
  static constexpr ActionInfo info{.key = "watcher",
                                   .on = ActionInfo::On::OneNode,
                                   .no_expect = "watcher has no output to expect anything of"};
  enum class Op { Start, Stop };
  Op op = Op::Start;
  std::string name;
  std::string writer;                        // started earlier in the scenario
  std::vector<std::string> endpoints;        // one watch starting through each (all by default)
  std::chrono::milliseconds idle{std::chrono::seconds(3)};     // a silent stream is re-watched
  std::chrono::milliseconds request_timeout{std::chrono::seconds(2)};
  static WatcherSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

// check_writes: NAME | {name: NAME, timeout: 1m, model: linearizable, budget: 60s}: the
// writer stops and its history is judged (no lost, stale, unexplained or diverged
// writes); with model: linearizable the history must also be linearizable
// (check/linearizability.h), decided within `budget` (undecided fails the step). The
// watchers of the writer stop once they caught up, and what they delivered is judged too.
struct CheckWritesSpec {
  static constexpr ActionInfo info{
      .key = "check_writes",
      .on = ActionInfo::On::OneNode,
      .no_expect = "check_writes judges the history itself (no lost, stale, unexplained or "
                   "diverged writes)"};
  enum class Model { None, Linearizable };
  std::string name;  // of a writer started earlier in the scenario
  std::chrono::milliseconds timeout{std::chrono::minutes(1)};
  Model model = Model::None;
  std::chrono::milliseconds budget{std::chrono::seconds(60)};  // the checker's time limit
  static CheckWritesSpec parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st);
  std::string default_name() const;
};

}  // namespace dcslab
