// OpenSSL writes to a socket with write(2): a server that closed first would raise
// SIGPIPE and end dcslab. A SigpipeBlock blocks SIGPIPE for the calling thread while it
// lives, and consumes one that became pending meanwhile before unblocking.
#pragma once

#include <signal.h>
#include <time.h>

namespace dcslab {

class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigpending(&before_);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&before_, SIGPIPE)) {
      timespec zero{0, 0};
      sigtimedwait(&set_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t set_{}, old_{}, before_{};
};

}  // namespace dcslab
