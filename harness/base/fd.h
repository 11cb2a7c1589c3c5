// One owner for a file descriptor (a pipe end, a socket, a lock file, a file being
// written): it closes what it holds when it goes, moves but never copies, and
// release() hands the descriptor on. As ccache's util/fd.hpp; every descriptor the
// harness keeps open past one statement lives in one of these, so an early return
// cannot leak it.
#pragma once

#include <unistd.h>

#include <utility>

namespace dcslab {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  int operator*() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

  // The descriptor, no longer owned: the caller closes it.
  int release() { return std::exchange(fd_, -1); }
  // Closes the one held, if any, and holds `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now and says whether close(2) succeeded: on some file systems a write's
  // failure shows only there. False (errno set) also when nothing was held.
  bool close() {
    if (fd_ < 0) return false;
    return ::close(std::exchange(fd_, -1)) == 0;
  }

 private:
  int fd_ = -1;
};

}  // namespace dcslab
