#include "base/periodic.h"

namespace dcslab {

void PeriodicThread::start(std::chrono::milliseconds interval, std::function<void()> tick) {
  if (thread_.joinable()) return;
  stop_ = false;
  started_ = std::chrono::steady_clock::now();
  stopped_ = {};
  thread_ = std::thread([this, interval, tick = std::move(tick)] {
    while (!stop_) {
      const auto begun = std::chrono::steady_clock::now();
      tick();
      std::unique_lock lock(wake_mu_);
      wake_.wait_until(lock, begun + interval, [this] { return stop_.load(); });
    }
  });
}

void PeriodicThread::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  stopped_ = std::chrono::steady_clock::now();
}

double PeriodicThread::seconds_running() const {
  if (started_ == std::chrono::steady_clock::time_point{}) return 0;
  const auto end =
      stopped_ == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now() : stopped_;
  return std::chrono::duration<double>(end - started_).count();
}

}  // namespace dcslab
