#include "control/snapshot_ops.h"

#include <gtest/gtest.h>

#include <atomic>

#include "testing/fake_lab.h"

namespace dcslab {
namespace {

const std::vector<std::string> kNodes = {"dcs-00", "dcs-01", "dcs-02"};

// Keeps every line said with done().
class DoneLines : public Progress {
 public:
  void phase(const std::string&) override {}
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string& message) override { lines.push_back(message); }
  std::vector<std::string> lines;
};

TEST(SetClocksAfterRevert, ThroughTheGuestAgentsNoSshSessionIsOpened) {
  int agent_calls = 0, connects = 0;
  AgentClocks agents = [&]() -> Expected<std::vector<GuestClock>> {
    ++agent_calls;
    return std::vector<GuestClock>{{"dcs-00", -12.5, 0.02}, {"dcs-01", -3601.9, -0.1}};
  };
  NodeConnector connect = [&](const std::string&) -> Expected<std::unique_ptr<Transport>> {
    ++connects;
    return Failure::refused("not expected");
  };
  FakeClock clock;
  DoneLines p;
  std::string via;
  auto fixes = set_clocks_after_revert(agents, {"dcs-00", "dcs-01"}, connect, [] { return 1000.0; },
                                       clock, std::chrono::seconds(30), p, &via);
  ASSERT_TRUE(fixes.ok()) << fixes.error().message;
  EXPECT_EQ(via, "guest agent");
  EXPECT_EQ(agent_calls, 1);
  EXPECT_EQ(connects, 0);
  ASSERT_EQ(fixes->size(), 2u);
  EXPECT_EQ((*fixes)[1].node, "dcs-01");
  EXPECT_DOUBLE_EQ((*fixes)[1].before_s, -3601.9);
  EXPECT_DOUBLE_EQ((*fixes)[1].after_s, -0.1);
  for (const auto& f : *fixes) EXPECT_EQ(f.session, nullptr);
  EXPECT_TRUE(p.lines.empty());
}

TEST(SetClocksAfterRevert, WithoutGuestAgentsItSaysWhyAndSetsThemOverSsh) {
  FakeScript script;
  script.on("sudo -n sh -c", {0, "1000.5\n", ""});
  script.on("date +%s.%N", {0, "990.0\n", ""});
  AgentClocks agents = []() -> Expected<std::vector<GuestClock>> {
    return Failure::error("dcs-00: Guest agent is not responding");
  };
  NodeConnector connect = [&](const std::string& node) -> Expected<std::unique_ptr<Transport>> {
    return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(script, node, "tux"));
  };
  FakeClock clock;
  DoneLines p;
  std::string via;
  auto fixes = set_clocks_after_revert(agents, kNodes, connect, [] { return 1000.0; }, clock,
                                       std::chrono::seconds(30), p, &via);
  ASSERT_TRUE(fixes.ok()) << fixes.error().message;
  EXPECT_EQ(via, "SSH");
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_NE(p.lines[0].find("Guest agent is not responding"), std::string::npos) << p.lines[0];
  EXPECT_NE(p.lines[0].find("over SSH"), std::string::npos) << p.lines[0];
  EXPECT_EQ(script.requests_matching("date -u -s").size(), 3u);
  ASSERT_EQ(fixes->size(), 3u);
  for (const auto& f : *fixes) {
    EXPECT_DOUBLE_EQ(f.before_s, -10.0);
    EXPECT_NE(f.session, nullptr);
  }
}

TEST(CorrectNodeClocks, SetsEveryNodeToTheHostTimeAndReportsTheSkew) {
  FakeScript script;
  // The correction prints the corrected time; before it, the guest's stale time.
  script.on("sudo -n sh -c", {0, "1000.5\n", ""});
  script.on("date +%s.%N", {0, "100.25\n", ""});
  std::atomic<int> refused{0};
  NodeConnector connect = [&](const std::string& node) -> Expected<std::unique_ptr<Transport>> {
    // dcs-01 is not answering yet on the first two tries: the wait retries.
    if (node == "dcs-01" && refused.fetch_add(1) < 2) return Failure::refused("connection refused");
    return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(script, node, "tux"));
  };
  FakeClock clock;
  NullProgress p;
  auto fixes = correct_node_clocks(kNodes, connect, [] { return 1000.0; }, clock,
                                   std::chrono::seconds(30), p);
  ASSERT_TRUE(fixes.ok()) << fixes.error().message;
  ASSERT_EQ(fixes->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*fixes)[i].node, kNodes[i]);
    EXPECT_DOUBLE_EQ((*fixes)[i].before_s, -899.75);
    EXPECT_DOUBLE_EQ((*fixes)[i].after_s, 0.5);
  }
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(clock.sleeps, 2);
  const auto sent = script.requests_matching("date -u -s");
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& r : sent) {
    EXPECT_EQ(r.user, "tux");
    // Relative to the guest's own clock at the moment root sets it.
    EXPECT_NE(r.command.find("-v o=899.750000 -v t=\\$(date +%s.%N)"), std::string::npos) << r.command;
  }
  // Two commands a node, on the one session, which is handed back open.
  EXPECT_EQ(script.requests().size(), 6u);
  for (const auto& f : *fixes) EXPECT_NE(f.session, nullptr);
}

TEST(CorrectNodeClocks, AnUnreadableAnswerToTheCorrectionIsAnError) {
  FakeScript script;
  script.on("sudo -n sh -c", {0, "", ""});
  script.on("date +%s.%N", {0, "100.25\n", ""});
  NodeConnector connect = [&](const std::string& node) -> Expected<std::unique_ptr<Transport>> {
    return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(script, node, "tux"));
  };
  FakeClock clock;
  NullProgress p;
  auto fixes = correct_node_clocks({"dcs-00"}, connect, [] { return 1000.0; }, clock,
                                   std::chrono::seconds(5), p);
  ASSERT_FALSE(fixes.ok());
  EXPECT_NE(fixes.error().message.find("reading the clock of dcs-00 after setting it"), std::string::npos)
      << fixes.error().message;
}

TEST(SnapshotFacts, ASnapshotKeepsThePassedScenariosAndARevertPutsThemBack) {
  const auto home = std::filesystem::temp_directory_path() / "dcslab-snapshot-facts";
  std::filesystem::remove_all(home);
  {
    LabState state(home, "lab");
    state.set("passed:install", "t1");
    state.set("netns", "dcslab-lab");  // not a fact about the machines: untouched
    record_snapshot_facts(state, "installed");
    EXPECT_TRUE(has_snapshot_facts(state, "installed"));
    EXPECT_FALSE(has_snapshot_facts(state, "other"));
    state.set("passed:tls", "t2");
    state.set("passed:install", "t3");
    EXPECT_FALSE(restore_snapshot_facts(state, "other"));
    EXPECT_EQ(state.get("passed:tls"), "t2");  // nothing touched without a record
    EXPECT_TRUE(restore_snapshot_facts(state, "installed"));
  }
  LabState reopened(home, "lab");  // written through to the lab's state file
  EXPECT_EQ(reopened.get("passed:install"), "t1");
  EXPECT_EQ(reopened.get("passed:tls"), "");
  EXPECT_EQ(reopened.get("netns"), "dcslab-lab");
  forget_snapshot_facts(reopened, "installed");
  EXPECT_FALSE(has_snapshot_facts(reopened, "installed"));
  std::filesystem::remove_all(home);
}

TEST(CorrectNodeClocks, ANodeThatNeverAnswersOrCannotSetItsClockIsNamed) {
  FakeScript script;
  script.on("sudo -n sh -c", {1, "", "sudo: a password is required\n"}, "dcs-02");
  script.on("sudo -n sh -c", {0, "1000.0\n", ""});
  script.on("date +%s.%N", {0, "100.0\n", ""});
  NodeConnector connect = [&](const std::string& node) -> Expected<std::unique_ptr<Transport>> {
    if (node == "dcs-00") return Failure::timeout("no route to host");
    return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(script, node, "tux"));
  };
  FakeClock clock;
  NullProgress p;
  auto fixes = correct_node_clocks(kNodes, connect, [] { return 1000.0; }, clock,
                                   std::chrono::seconds(5), p);
  ASSERT_FALSE(fixes.ok());
  const std::string& m = fixes.error().message;
  EXPECT_NE(m.find("dcs-00: timed out after 5 s waiting for SSH to dcs-00"), std::string::npos) << m;
  EXPECT_NE(m.find("dcs-02: setting the clock of dcs-02 failed (exit 1)"), std::string::npos) << m;
  EXPECT_EQ(m.find("dcs-01:"), std::string::npos) << m;
}

}  // namespace
}  // namespace dcslab
