#include "pg/role_sampler.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "testing/fake_http_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

// Answers each host from what the test set, and records every request.
class FakePatroni : public PatroniApi {
 public:
  std::map<std::string, Expected<PatroniNodeStatus>> now;
  std::vector<std::string> asked;
  Expected<PatroniNodeStatus> status(const std::string& host, int, std::chrono::milliseconds) override {
    asked.push_back(host);
    auto it = now.find(host);
    return it == now.end() ? Expected<PatroniNodeStatus>(Failure::timeout("no answer")) : it->second;
  }
  Expected<PatroniCluster> cluster(const std::string&, int, std::chrono::milliseconds) override {
    return Failure::error("not used");
  }
  void set(const std::string& host, const std::string& role, const std::string& state, int timeline) {
    PatroniNodeStatus s;
    s.role = role;
    s.state = state;
    s.timeline = timeline;
    now.insert_or_assign(host, s);
  }
  void down(const std::string& host) { now.insert_or_assign(host, Expected<PatroniNodeStatus>(Failure::refused("connection refused"))); }
};

RoleSamplerOptions three() {
  RoleSamplerOptions o;
  o.nodes = {{"pg-00", "10.0.0.20"}, {"pg-01", "10.0.0.21"}, {"pg-02", "10.0.0.22"}};
  return o;
}

TEST(RoleSampler, AFailoverReadsAsRoleChanges) {
  FakeClock clock;
  auto api = std::make_shared<FakePatroni>();
  RoleSampler s(three(), api, clock);
  api->set("10.0.0.20", "master", "running", 1);
  api->set("10.0.0.21", "replica", "running", 1);
  api->set("10.0.0.22", "replica", "running", 1);
  for (int i = 0; i < 5; ++i, clock.advance(200ms)) s.sample_all();  // 0 .. 800
  api->down("10.0.0.20");                                              // killed at ~900
  for (int i = 0; i < 40; ++i, clock.advance(200ms)) s.sample_all();  // 1000 .. 8800
  api->set("10.0.0.21", "master", "running", 2);                       // promoted
  for (int i = 0; i < 5; ++i, clock.advance(200ms)) s.sample_all();  // 9000 .. 9800
  const RoleTimeline t = s.timeline();
  EXPECT_EQ(api->asked.size(), 150u);
  // pg-00: leader, unreachable; pg-01: replica, leader; pg-02: replica.
  ASSERT_EQ(t.spans.size(), 5u);
  EXPECT_EQ(t.spans[0].samples, 5);
  const auto changes = t.changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].node, "pg-00");
  EXPECT_EQ(changes[0].from, PatroniRole::Leader);
  EXPECT_EQ(changes[0].to, PatroniRole::Unreachable);
  EXPECT_DOUBLE_EQ(changes[0].last_before_ms, 800);
  EXPECT_DOUBLE_EQ(changes[0].at_ms, 1000);
  EXPECT_EQ(changes[1].node, "pg-01");
  EXPECT_EQ(changes[1].to, PatroniRole::Leader);
  EXPECT_EQ(changes[1].timeline, 2);
  EXPECT_DOUBLE_EQ(changes[1].at_ms, 9000);
  EXPECT_TRUE(t.two_leaders().empty());
  const auto none = t.no_leader();
  ASSERT_EQ(none.size(), 1u);
  EXPECT_DOUBLE_EQ(none[0].from_ms, 800);
  EXPECT_DOUBLE_EQ(none[0].to_ms, 9000);
  EXPECT_NE(t.spans[3].error.find("connection refused"), std::string::npos);
}

TEST(RoleSampler, TwoNodesSayingLeaderAtOnceAreShown) {
  FakeClock clock;
  auto api = std::make_shared<FakePatroni>();
  RoleSampler s(three(), api, clock);
  api->set("10.0.0.20", "master", "running", 1);
  api->set("10.0.0.21", "replica", "running", 1);
  api->set("10.0.0.22", "replica", "running", 1);
  for (int i = 0; i < 3; ++i, clock.advance(100ms)) s.sample_all();
  api->set("10.0.0.21", "master", "running", 2);
  for (int i = 0; i < 3; ++i, clock.advance(100ms)) s.sample_all();  // both leaders 300..500
  api->set("10.0.0.20", "master", "stopping", 1);
  for (int i = 0; i < 2; ++i, clock.advance(100ms)) s.sample_all();
  const RoleTimeline t = s.timeline();
  const auto two = t.two_leaders();
  ASSERT_EQ(two.size(), 1u);
  EXPECT_DOUBLE_EQ(two[0].from_ms, 300);
  EXPECT_DOUBLE_EQ(two[0].to_ms, 500);
  EXPECT_EQ(two[0].nodes, (std::vector<std::string>{"pg-00", "pg-01"}));
  const auto changes = t.changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].to, PatroniRole::Demoted);  // master/stopping
}

TEST(RoleSampler, TheTimelineRoundTripsThroughJson) {
  FakeClock clock;
  auto api = std::make_shared<FakePatroni>();
  RoleSampler s(three(), api, clock, clock.now() - 1000ms);  // the writer started a second ago
  api->set("10.0.0.20", "master", "running", 1);
  api->down("10.0.0.21");
  s.sample_all();
  clock.advance(200ms);
  api->set("10.0.0.21", "replica", "running", 1);
  s.sample_all();
  const RoleTimeline t = s.timeline();
  EXPECT_DOUBLE_EQ(t.spans[0].from_ms, 1000);
  const std::string text = role_timeline_json(t);
  EXPECT_NE(text.find("\"changes\""), std::string::npos);
  auto back = parse_role_timeline(text);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->spans.size(), t.spans.size());
  EXPECT_EQ(role_timeline_json(*back), text);
  EXPECT_NE(parse_role_timeline(R"({"spans":[{"node":"a","role":"boss","from_ms":0,"to_ms":0}]})")
                .error().message.find("spans[0].role: \"boss\""),
            std::string::npos);
}

TEST(RoleSampler, ThreadsPollRealHttpAndAHungNodeDelaysOnlyItself) {
  FakeHttpServer leader([](const std::string&) {
    return FakeHttpAnswer{200, R"({"state":"running","role":"master","timeline":3})"};
  });
  FakeHttpServer replica([](const std::string&) {
    return FakeHttpAnswer{200, R"({"state":"running","role":"replica","timeline":3})"};
  });
  FakeHttpServer hung([](const std::string&) {
    FakeHttpAnswer a;
    a.hang = true;
    return a;
  });
  RoleSamplerOptions o;
  o.nodes = {{"pg-00", "127.0.0.1", leader.port()}, {"pg-01", "127.0.0.1", replica.port()},
             {"pg-02", "127.0.0.1", hung.port()}};
  o.interval = 20ms;
  o.timeout = 300ms;
  RoleSampler s(o, std::make_shared<PatroniHttp>(), RealClock::instance());
  s.start();
  std::this_thread::sleep_for(400ms);
  s.stop();
  s.stop();
  EXPECT_FALSE(s.running());
  const RoleTimeline t = s.timeline();
  int samples[3] = {0, 0, 0};
  for (const auto& sp : t.spans) {
    if (sp.node == "pg-00") {
      EXPECT_EQ(sp.role, PatroniRole::Leader);
      EXPECT_EQ(sp.timeline, 3);
      samples[0] += sp.samples;
    } else if (sp.node == "pg-01") {
      EXPECT_EQ(sp.role, PatroniRole::Replica);
      samples[1] += sp.samples;
    } else {
      EXPECT_EQ(sp.role, PatroniRole::Unreachable);
      EXPECT_NE(sp.error.find("within 300 ms"), std::string::npos) << sp.error;
      samples[2] += sp.samples;
    }
  }
  EXPECT_GE(samples[0], 5);
  EXPECT_GE(samples[1], 5);
  EXPECT_LE(samples[2], 2);
  EXPECT_GE(leader.paths().size(), 5u);
}

}  // namespace
}  // namespace dcslab
