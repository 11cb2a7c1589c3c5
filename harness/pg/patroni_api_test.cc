#include "pg/patroni_api.h"

#include <gtest/gtest.h>

#include "testing/fake_http_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

// GET /patroni as Patroni 3.0.2 answers it (api.py get_postgresql_status): a primary.
constexpr const char* kPrimary = R"({"state": "running", "postmaster_start_time": "2026-12-03 09:20:11.5+00:00",
 "role": "master", "server_version": 150018, "xlog": {"location": 67109216}, "timeline": 2,
 "replication": [{"usename": "replicator", "application_name": "pg-01", "client_addr": "127.0.0.1",
 "state": "streaming", "sync_state": "async", "sync_priority": 0}], "dcs_last_seen": 1796290811,
 "database_system_identifier": "7310000000000000000", "patroni": {"version": "3.0.2", "scope": "pg"}})";
constexpr const char* kReplica = R"({"state": "running", "role": "replica", "server_version": 150018,
 "xlog": {"received_location": 67109216, "replayed_location": 67109216, "replayed_timestamp": null,
 "paused": false}, "timeline": 2, "dcs_last_seen": 1796290811, "patroni": {"version": "3.0.2", "scope": "pg"}})";

// GET /cluster in synchronous mode, as measured (research/patroni/cluster-sync.json).
constexpr const char* kClusterSync = R"({"members": [
 {"name": "pg-00", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:8008/patroni", "host": "127.0.0.1", "port": 5432, "timeline": 1},
 {"name": "pg-01", "role": "sync_standby", "state": "running", "api_url": "http://127.0.0.1:8009/patroni", "host": "127.0.0.1", "port": 5433, "timeline": 1, "lag": 0},
 {"name": "pg-02", "role": "replica", "state": "running", "api_url": "http://127.0.0.1:8010/patroni", "host": "127.0.0.1", "port": 5434, "timeline": 1, "lag": 0}]})";

PatroniNodeStatus st(const std::string& role, const std::string& state) {
  PatroniNodeStatus s;
  s.role = role;
  s.state = state;
  return s;
}

TEST(PatroniApi, WhatANodeSaysOfItselfIsParsedAndClassified) {
  auto p = parse_patroni_status(kPrimary);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->role, "master");
  EXPECT_EQ(p->state, "running");
  EXPECT_EQ(p->timeline, 2);
  EXPECT_FALSE(p->failsafe_active);
  EXPECT_EQ(classify(*p), PatroniRole::Leader);
  auto r = parse_patroni_status(kReplica);
  ASSERT_TRUE(r);
  EXPECT_EQ(classify(*r), PatroniRole::Replica);
  // What PostgreSQL not running looks like (api.py: {'state': ..., 'role': ...} only).
  auto down = parse_patroni_status(R"({"state": "stopped", "role": "replica", "cluster_unlocked": true,
    "failsafe_mode_is_active": true, "dcs_last_seen": 0})");
  ASSERT_TRUE(down);
  EXPECT_EQ(classify(*down), PatroniRole::Stopped);
  EXPECT_TRUE(down->cluster_unlocked);
  EXPECT_TRUE(down->failsafe_active);
  EXPECT_EQ(down->timeline, 0);
}

TEST(PatroniApi, RolesAcrossPatroniVersionsAndStates) {
  EXPECT_EQ(classify(st("primary", "running")), PatroniRole::Leader);    // Patroni >= 3.0.3
  EXPECT_EQ(classify(st("master", "stopping")), PatroniRole::Demoted);   // measured: demoting on DCS loss
  EXPECT_EQ(classify(st("master", "restarting")), PatroniRole::Demoted);
  EXPECT_EQ(classify(st("demoted", "stopped")), PatroniRole::Demoted);
  EXPECT_EQ(classify(st("master", "crashed")), PatroniRole::Stopped);
  EXPECT_EQ(classify(st("replica", "stopped")), PatroniRole::Stopped);
  EXPECT_EQ(classify(st("replica", "start failed")), PatroniRole::Stopped);
  EXPECT_EQ(classify(st("replica", "starting")), PatroniRole::Replica);
  EXPECT_EQ(classify(st("standby_leader", "running")), PatroniRole::Replica);
  EXPECT_EQ(classify(st("uninitialized", "stopped")), PatroniRole::Stopped);
  EXPECT_EQ(classify(st("uninitialized", "creating replica")), PatroniRole::Other);
}

TEST(PatroniApi, BadAnswersSayWhat) {
  EXPECT_NE(parse_patroni_status("<html>").error().message.find("not JSON"), std::string::npos);
  EXPECT_NE(parse_patroni_status("{}").error().message.find("neither role nor state"), std::string::npos);
  EXPECT_NE(parse_patroni_cluster("{\"x\":1}").error().message.find("no members"), std::string::npos);
}

TEST(PatroniApi, TheClusterAsTheDcsHasIt) {
  auto c = parse_patroni_cluster(kClusterSync);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->members.size(), 3u);
  ASSERT_NE(c->leader(), nullptr);
  EXPECT_EQ(c->leader()->name, "pg-00");
  EXPECT_EQ(c->leader()->lag, -1);
  EXPECT_EQ(c->members[1].role, "sync_standby");
  EXPECT_EQ(c->members[1].state, "running");  // 3.0.2: no "streaming"
  EXPECT_EQ(c->members[1].lag, 0);
  EXPECT_EQ(c->members[2].port, 5434);
  EXPECT_EQ(c->members[2].timeline, 1);
}

TEST(PatroniApi, OverHttp) {
  FakeHttpServer server([](const std::string& path) {
    if (path == "/patroni") return FakeHttpAnswer{200, kPrimary};
    if (path == "/cluster") return FakeHttpAnswer{200, kClusterSync};
    return FakeHttpAnswer{404, "{}"};
  });
  PatroniHttp api;
  auto s = api.status("127.0.0.1", server.port(), 1s);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->http_status, 200);
  EXPECT_EQ(classify(*s), PatroniRole::Leader);
  auto c = api.cluster("127.0.0.1", server.port(), 1s);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->members.size(), 3u);
  EXPECT_EQ(server.paths(), (std::vector<std::string>{"/patroni", "/cluster"}));

  FakeHttpServer odd([](const std::string&) { return FakeHttpAnswer{502, "Bad Gateway"}; });
  auto bad = api.status("127.0.0.1", odd.port(), 1s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("(HTTP 502)"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace dcslab
