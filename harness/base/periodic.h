// A thread that calls a function every `interval` (counted from the start of each call)
// until stop(), which wakes it at once and joins it. Both writers (etcd/, pg/) tick
// through one. The thread is made on the caller's thread, so it runs in the caller's
// network namespace (a lab's, for the writers).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace dcslab {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;
  ~PeriodicThread() { stop(); }

  // Starts calling `tick`; does nothing if already running.
  void start(std::chrono::milliseconds interval, std::function<void()> tick);
  // Wakes the thread and waits for the call in progress, if any, to end.
  void stop();
  bool running() const { return thread_.joinable(); }
  // Seconds from start() to stop() (to now while running); 0 before start().
  double seconds_running() const;

 private:
  std::chrono::steady_clock::time_point started_{}, stopped_{};
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace dcslab
