// Steppable waits. Every poll loop in dcslab (wait for SSH, for a port, retries) is a
// step function driven by poll_until with a Clock, so unit tests use FakeClock and
// never sleep.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "base/error.h"

namespace dcslab {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual time_point now() = 0;
  virtual void sleep_for(duration d) = 0;
};

class RealClock : public Clock {
 public:
  time_point now() override { return std::chrono::steady_clock::now(); }
  void sleep_for(duration d) override { std::this_thread::sleep_for(d); }
  static RealClock& instance() {
    static RealClock clock;
    return clock;
  }
};

// A clock that only moves when slept on, and records how often it was.
class FakeClock : public Clock {
 public:
  time_point now() override { return now_; }
  void sleep_for(duration d) override {
    now_ += d;
    ++sleeps;
  }
  void advance(duration d) { now_ += d; }
  int sleeps = 0;

 private:
  time_point now_{};
};

// Calls step until it returns a value, or until `limit` has passed on `clock`, sleeping
// `interval` between calls. The step returns std::nullopt for "not yet" and may note
// why in *last_reason, which the timeout message then carries ("waiting for X: Y").
template <typename T>
Expected<T> poll_until(Clock& clock, Clock::duration limit, Clock::duration interval,
                       const std::string& what,
                       const std::function<std::optional<T>(std::string* last_reason)>& step) {
  const auto start = clock.now();
  std::string reason;
  for (;;) {
    if (auto v = step(&reason)) return std::move(*v);
    const auto elapsed = clock.now() - start;
    if (elapsed >= limit) {
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(limit).count();
      std::string msg = "timed out after " + std::to_string(secs) + " s waiting for " + what;
      if (!reason.empty()) msg += " (last: " + reason + ")";
      return Failure::timeout(msg);
    }
    clock.sleep_for(std::min<Clock::duration>(interval, limit - elapsed));
  }
}

}  // namespace dcslab
