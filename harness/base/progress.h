// Progress on slow work: what is happening and what is being waited for. On a terminal
// a live line is rewritten in place; otherwise (CI logs) each change is one line, and
// waits report at most every few seconds so logs stay readable.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace dcslab {

class Progress {
 public:
  virtual ~Progress() = default;
  // A phase starts ("creating network dcslab-dcs").
  virtual void phase(const std::string& message) = 0;
  // Still waiting for something, `elapsed` of at most `limit`.
  virtual void waiting(const std::string& what, std::chrono::seconds elapsed,
                       std::chrono::seconds limit) = 0;
  // A result worth a line of its own ("dcs-01 SSH ready in 21.3 s").
  virtual void done(const std::string& message) = 0;
};

class ConsoleProgress : public Progress {
 public:
  explicit ConsoleProgress(bool quiet = false);
  void phase(const std::string& message) override;
  void waiting(const std::string& what, std::chrono::seconds elapsed,
               std::chrono::seconds limit) override;
  void done(const std::string& message) override;

 private:
  void clear_live_line();
  std::mutex mu_;
  bool tty_;
  bool quiet_;
  bool live_ = false;
  std::chrono::steady_clock::time_point last_wait_line_{};
};

// Discards everything; for tests and scripted use.
class NullProgress : public Progress {
 public:
  void phase(const std::string&) override {}
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string&) override {}
};

}  // namespace dcslab
