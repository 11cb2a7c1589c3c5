#include "base/wait_gone.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dcslab {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class RecordingProgress : public Progress {
 public:
  void phase(const std::string& m) override { lines.push_back("phase " + m); }
  void waiting(const std::string& what, std::chrono::seconds elapsed,
               std::chrono::seconds limit) override {
    lines.push_back("waiting " + what + " " + std::to_string(elapsed.count()) + "/" +
                    std::to_string(limit.count()));
  }
  void done(const std::string& m) override { lines.push_back("done " + m); }
  std::vector<std::string> lines;
};

TEST(WaitGone, NothingThereReturnsAtOnceWithoutSleepingOrTalking) {
  FakeClock clock;
  RecordingProgress progress;
  int probes = 0;
  ASSERT_TRUE(wait_until_gone(clock, "lab dcs", {}, progress, [&] {
    ++probes;
    return std::vector<Lingering>{};
  }));
  EXPECT_EQ(probes, 1);
  EXPECT_EQ(clock.sleeps, 0);
  EXPECT_TRUE(progress.lines.empty());
}

TEST(WaitGone, WaitsWhileThingsLingerAndSaysWhatOnceSlow) {
  FakeClock clock;
  RecordingProgress progress;
  int probes = 0;
  // Three machines, gone one by one after 15, 20 and 25 polls.
  ASSERT_TRUE(wait_until_gone(clock, "lab dcs", {}, progress, [&] {
    ++probes;
    std::vector<Lingering> left;
    if (probes <= 15) left.push_back({GoneKind::Machine, "dcs-00 (nspawn pid 100)"});
    if (probes <= 20) left.push_back({GoneKind::Machine, "dcs-01 (nspawn pid 101)"});
    if (probes <= 25) left.push_back({GoneKind::Link, "vb-dcs-02"});
    return left;
  }));
  EXPECT_EQ(probes, 26);
  EXPECT_EQ(clock.sleeps, 25);  // 100 ms each
  ASSERT_FALSE(progress.lines.empty());
  // Quiet for the first second, then what is waited for, by kind and by name.
  EXPECT_EQ(progress.lines.front(),
            "waiting 2 machines, 1 link of lab dcs: dcs-00 (nspawn pid 100), "
            "dcs-01 (nspawn pid 101), vb-dcs-02 1/60");
  EXPECT_EQ(progress.lines.back(), "waiting 1 link of lab dcs: vb-dcs-02 2/10");
}

TEST(WaitGone, FailsAtTheLimitOfItsKindNamingEverythingStillThere) {
  FakeClock clock;
  RecordingProgress progress;
  GoneLimits limits;
  limits.process = 3s;
  auto r = wait_until_gone(clock, "lab dcs", limits, progress, [&] {
    return std::vector<Lingering>{{GoneKind::Process, "pid 4711 (etcd) of dcs-01"},
                                  {GoneKind::Machine, "dcs-01 (nspawn pid 4700)"}};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout);
  EXPECT_EQ(r.error().message,
            "after 3 s still there: 1 machine, 1 process of lab dcs: pid 4711 (etcd) of dcs-01, "
            "dcs-01 (nspawn pid 4700)");
  EXPECT_EQ(clock.now().time_since_epoch(), 3s);  // the process limit, not the machine's 60 s
}

TEST(WaitGone, ALongListNamesTheFirstEightAndCountsTheRest) {
  FakeClock clock;
  NullProgress progress;
  GoneLimits limits;
  limits.process = 0s;
  auto r = wait_until_gone(clock, "lab dcs", limits, progress, [&] {
    std::vector<Lingering> left;
    for (int i = 1; i <= 11; ++i) left.push_back({GoneKind::Process, "pid " + std::to_string(i)});
    return left;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "after 0 s still there: 11 processes of lab dcs: pid 1, pid 2, pid 3, pid 4, pid 5, "
            "pid 6, pid 7, pid 8, and 3 more");
}

TEST(WaitGone, KindNamesAndLimits) {
  EXPECT_EQ(gone_kind_name(GoneKind::Process, 2), "processes");
  EXPECT_EQ(gone_kind_name(GoneKind::Namespace), "namespace");
  GoneLimits l;
  EXPECT_EQ(l.of(GoneKind::Machine), 60s);
  EXPECT_EQ(l.of(GoneKind::Link), 10s);
}

}  // namespace
}  // namespace dcslab
