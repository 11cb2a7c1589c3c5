#include "base/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace dcslab {

ConsoleProgress::ConsoleProgress(bool quiet) : tty_(::isatty(STDERR_FILENO) != 0), quiet_(quiet) {}

void ConsoleProgress::clear_live_line() {
  if (live_) {
    std::fputs("\r\033[K", stderr);
    live_ = false;
  }
}

void ConsoleProgress::phase(const std::string& message) {
  if (quiet_) return;
  std::lock_guard lock(mu_);
  clear_live_line();
  spdlog::info("{}", message);
}

void ConsoleProgress::waiting(const std::string& what, std::chrono::seconds elapsed,
                              std::chrono::seconds limit) {
  if (quiet_) return;
  std::lock_guard lock(mu_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K  waiting for %s (%llds of %llds)", what.c_str(),
                 static_cast<long long>(elapsed.count()), static_cast<long long>(limit.count()));
    std::fflush(stderr);
    live_ = true;
    return;
  }
  // Without a terminal (CI logs), one line at most every 10 s.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_wait_line_ < std::chrono::seconds(10)) return;
  last_wait_line_ = now;
  spdlog::info("waiting for {} ({}s of {}s)", what, elapsed.count(), limit.count());
}

void ConsoleProgress::done(const std::string& message) {
  if (quiet_) return;
  std::lock_guard lock(mu_);
  clear_live_line();
  spdlog::info("{}", message);
}

}  // namespace dcslab
