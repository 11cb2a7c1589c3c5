#include "providers/libvirt/accel_probe.h"

#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>
#include <vector>

namespace dcslab {
namespace {

using namespace std::chrono_literals;

// A guest that replies from a script, one observation per look, and records the calls.
class FakeGuest : public ProbeGuest {
 public:
  std::vector<ProbeObservation> script;  // the last one repeats
  bool fail_start = false;
  int starts = 0, looks = 0, stops = 0;

  Expected<void> start() override {
    ++starts;
    if (fail_start) return Failure::error("no kvm domain type");
    return {};
  }
  ProbeObservation observe() override {
    const size_t i = std::min<size_t>(looks++, script.size() - 1);
    return script[i];
  }
  void stop() override { ++stops; }
};

TEST(AccelProbe, JudgeNeedsTheKernelsEndOrASilentEnd) {
  EXPECT_EQ(judge_probe({false, ""}), std::nullopt);
  EXPECT_EQ(judge_probe({false, "Linux version 6.1"}), std::nullopt);
  EXPECT_EQ(judge_probe({false, "...\nKernel panic - not syncing: VFS: Unable to mount"}), true);
  EXPECT_EQ(judge_probe({true, "Linux version 6.1 ..."}), true);
  EXPECT_EQ(judge_probe({true, ""}), false);
}

TEST(AccelProbe, WorkingKvmIsJudgedOnTheFirstPanicLine) {
  FakeClock clock;
  FakeGuest guest;
  guest.script = {{false, ""}, {false, "Linux version"}, {false, "Kernel panic - not syncing"}};
  auto r = run_kvm_probe(guest, clock, 10s, 200ms);
  EXPECT_TRUE(r.kvm_works) << r.detail;
  EXPECT_EQ(guest.looks, 3);
  EXPECT_EQ(guest.stops, 1);
  EXPECT_EQ(clock.sleeps, 2);
  EXPECT_NEAR(r.seconds, 0.4, 1e-9);
}

TEST(AccelProbe, SilentGuestTimesOutAtTheDeadlineAndIsStopped) {
  FakeClock clock;
  FakeGuest guest;
  guest.script = {{false, ""}};
  auto r = run_kvm_probe(guest, clock, 10s, 200ms);
  EXPECT_FALSE(r.kvm_works);
  EXPECT_EQ(r.detail, "a test guest printed nothing in 10 s");
  EXPECT_EQ(guest.stops, 1);
  EXPECT_NEAR(r.seconds, 10.0, 1e-9);
  EXPECT_EQ(guest.looks, 51);  // at 0, 0.2, ..., 10.0 s
}

TEST(AccelProbe, GuestThatFailsToStartIsNotKvm) {
  FakeClock clock;
  FakeGuest guest;
  guest.fail_start = true;
  guest.script = {{false, ""}};
  auto r = run_kvm_probe(guest, clock);
  EXPECT_FALSE(r.kvm_works);
  EXPECT_NE(r.detail.find("no kvm domain type"), std::string::npos);
  EXPECT_EQ(guest.looks, 0);
  EXPECT_EQ(guest.stops, 1);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-accel-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(AccelProbe, AutoFallsBackToTcgWithOneWarningAndCachesPerBoot) {
  TempDir dir;
  int probes = 0;
  AccelInputs in;
  in.requested = Accel::Auto;
  in.kvm_device = true;
  in.cache_file = probe_cache_file(dir.path);
  in.boot_id = "boot-1";
  in.probe = [&] {
    ++probes;
    return ProbeResult{false, "a test guest printed nothing in 10 s", 10};
  };
  auto c = choose_accel(in);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->kvm);
  EXPECT_TRUE(c->probed);
  EXPECT_EQ(c->warning,
            "KVM present but a test guest printed nothing in 10 s; using TCG (set accel: kvm to "
            "insist)");
  // Same boot: the cache answers, no second probe.
  auto again = choose_accel(in);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->kvm);
  EXPECT_FALSE(again->probed);
  EXPECT_EQ(probes, 1);
  // After a reboot the cache no longer applies.
  in.boot_id = "boot-2";
  ASSERT_TRUE(choose_accel(in).ok());
  EXPECT_EQ(probes, 2);
}

TEST(AccelProbe, ForcedKvmFailsWithTheReason) {
  AccelInputs in;
  in.requested = Accel::Kvm;
  in.kvm_device = true;
  in.probe = [] { return ProbeResult{false, "a test guest printed nothing in 10 s", 10}; };
  auto c = choose_accel(in);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("printed nothing in 10 s"), std::string::npos);
  EXPECT_NE(c.error().message.find("accel: tcg"), std::string::npos);
}

TEST(AccelProbe, WorkingKvmIsChosenAndTcgNeverProbes) {
  int probes = 0;
  AccelInputs in;
  in.kvm_device = true;
  in.probe = [&] {
    ++probes;
    return ProbeResult{true, "ok", 1.2};
  };
  auto c = choose_accel(in);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->kvm);
  EXPECT_TRUE(c->warning.empty());
  in.requested = Accel::Tcg;
  auto t = choose_accel(in);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->kvm);
  EXPECT_EQ(probes, 1);
}

TEST(AccelProbe, NoKvmDevice) {
  AccelInputs in;
  in.kvm_device = false;
  in.probe = [] { ADD_FAILURE() << "must not probe without /dev/kvm"; return ProbeResult{}; };
  auto c = choose_accel(in);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->kvm);
  in.requested = Accel::Kvm;
  EXPECT_FALSE(choose_accel(in).ok());
}

}  // namespace
}  // namespace dcslab

namespace dcslab {
namespace {

// The host TSC frequency a TCG guest is told: measured, plausible and repeatable (two
// measurements agree to 0.5 %; a calibration skewed by preemption would not).
TEST(HostTsc, MeasuredFrequencyIsPlausibleAndRepeatable) {
  const auto a = host_tsc_khz();
  if (!a) GTEST_SKIP() << "no constant, non-stop TSC on this host";
  const auto b = host_tsc_khz();
  ASSERT_TRUE(b);
  EXPECT_GT(*a, 100000u);    // 100 MHz
  EXPECT_LT(*a, 10000000u);  // 10 GHz
  const double diff = std::abs(static_cast<double>(*a) - static_cast<double>(*b));
  EXPECT_LT(diff / static_cast<double>(*a), 0.005) << *a << " kHz vs " << *b << " kHz";
}

}  // namespace
}  // namespace dcslab
