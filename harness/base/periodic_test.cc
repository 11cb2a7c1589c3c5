#include "base/periodic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

namespace dcslab {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicThread, TicksUntilStoppedAndStopWakesItAtOnce) {
  PeriodicThread t;
  EXPECT_EQ(t.seconds_running(), 0);
  std::atomic<int> ticks{0};
  // An hour between ticks: only stop()'s wake-up can end the wait after the first.
  t.start(std::chrono::hours(1), [&] { ++ticks; });
  EXPECT_TRUE(t.running());
  while (ticks == 0) std::this_thread::sleep_for(1ms);
  const auto before = std::chrono::steady_clock::now();
  t.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_FALSE(t.running());
  EXPECT_EQ(ticks, 1);
  const double ran = t.seconds_running();
  EXPECT_GT(ran, 0);
  EXPECT_EQ(t.seconds_running(), ran);  // stopped: the figure no longer grows
}

TEST(PeriodicThread, CallsAgainAfterEachInterval) {
  PeriodicThread t;
  std::atomic<int> ticks{0};
  t.start(1ms, [&] { ++ticks; });
  t.start(std::chrono::hours(1), [&] { ticks += 100; });  // already running: ignored
  while (ticks < 3) std::this_thread::sleep_for(1ms);
  t.stop();
  EXPECT_LT(ticks, 100);
}

}  // namespace
}  // namespace dcslab
