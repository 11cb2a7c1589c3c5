#include "base/tcp.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace dcslab {

namespace {

using AddrInfo = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

// Waits for `events` on fd; false when the deadline passed first.
bool wait_for(int fd, short events, Deadline deadline, int* revents) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) {
      *revents = p.revents;
      return true;
    }
    if (n == 0) return false;
    if (errno != EINTR) {
      *revents = POLLERR;
      return true;
    }
  }
}

}  // namespace

int ms_left(Deadline deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 24LL * 3600 * 1000));
}

Expected<Fd> tcp_connect(const std::string& host, int port, Deadline deadline) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &raw); rc != 0)
    return Failure::error("cannot resolve " + host + ": " + gai_strerror(rc));
  const AddrInfo list(raw, freeaddrinfo);
  Failure last = Failure::error("no address for " + host);
  for (const addrinfo* a = list.get(); a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!fd) {
      last = Failure::error("socket: " + std::string(std::strerror(errno)));
      continue;
    }
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      const int e = errno;
      last = (e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH)
                 ? Failure::refused("cannot connect to " + where + ": " + std::strerror(e))
                 : Failure::error("cannot connect to " + where + ": " + std::strerror(e));
      continue;
    }
    int revents = 0;
    if (!wait_for(fd.get(), POLLOUT, deadline, &revents))
      return Failure::timeout("cannot connect to " + where + ": no answer by the deadline");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = (err == ECONNREFUSED || err == ENETUNREACH || err == EHOSTUNREACH)
                 ? Failure::refused("cannot connect to " + where + ": " + std::strerror(err))
                 : Failure::error("cannot connect to " + where + ": " + std::strerror(err));
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  return last;
}

Expected<void> tcp_send_all(const Fd& fd, std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int revents = 0;
      if (!wait_for(fd.get(), POLLOUT, deadline, &revents))
        return Failure::timeout("the peer took nothing by the deadline");
      continue;
    }
    return Failure::error(std::string("send: ") + std::strerror(errno));
  }
  return {};
}

Expected<void> tcp_receive(const Fd& fd, std::string* out, bool* eof, Deadline deadline) {
  *eof = false;
  for (;;) {
    char buf[16384];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      out->append(buf, static_cast<std::size_t>(n));
      return {};
    }
    if (n == 0) {
      *eof = true;
      return {};
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return Failure::error(std::string("recv: ") + std::strerror(errno));
    int revents = 0;
    if (!wait_for(fd.get(), POLLIN, deadline, &revents))
      return Failure::timeout("no answer by the deadline");
  }
}

}  // namespace dcslab
