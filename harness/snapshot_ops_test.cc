#include "snapshot_ops.h"

#include <gtest/gtest.h>

#include <atomic>

#include "fake_lab.h"

namespace dcslab {
namespace {

class NullProgress : public Progress {
 public:
  void phase(const std::string&) override {}
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string&) override {}
};

const std::vector<std::string> kNodes = {"dcs-00", "dcs-01", "dcs-02"};

TEST(CorrectNodeClocks, SetsEveryNodeToTheHostTimeAndReportsTheSkew) {
  FakeScript script;
  script.on("sudo -n sh -c", {0, "", ""});
  // Per node: the guest's stale time, then its time after the correction.
  for (const auto& n : kNodes)
    script.on_sequence("date +%s.%N", {{0, "100.25\n", ""}, {0, "1000.5\n", ""}}, n);
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
}

TEST(CorrectNodeClocks, ANodeThatNeverAnswersOrCannotSetItsClockIsNamed) {
  FakeScript script;
  script.on("sudo -n sh -c", {1, "", "sudo: a password is required\n"}, "dcs-02");
  script.on("sudo -n sh -c", {0, "", ""});
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
