#include "base/interrupt.h"

#include <signal.h>
#include <unistd.h>

namespace dcslab {

std::atomic<bool> g_interrupted{false};

namespace {
void on_interrupt(int) {
  if (g_interrupted.exchange(true)) _exit(3);
}
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace dcslab
