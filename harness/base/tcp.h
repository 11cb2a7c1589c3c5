// TCP with a deadline, from this process (so from whatever network namespace it is in):
// connect, send, and wait for bytes, each bounded by one steady-clock deadline, so a
// peer that black-holes packets or accepts and never answers costs the caller at most
// the time it allowed.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace dcslab {

using Deadline = std::chrono::steady_clock::time_point;

// A connected, non-blocking socket to host:port (a name or an address; every address
// it resolves to is tried in turn until the deadline). Failure kinds: Refused (nothing
// listens: connection refused, unreachable), Timeout (no answer by the deadline), Error.
Expected<Fd> tcp_connect(const std::string& host, int port, Deadline deadline);

// Writes all of `data`; Timeout when the peer stops reading before the deadline.
Expected<void> tcp_send_all(const Fd& fd, std::string_view data, Deadline deadline);

// Appends what arrives (at least one byte) to *out; *eof when the peer closed instead.
// Timeout when nothing came by the deadline.
Expected<void> tcp_receive(const Fd& fd, std::string* out, bool* eof, Deadline deadline);

// Milliseconds left until the deadline, never negative (for poll()).
int ms_left(Deadline deadline);

}  // namespace dcslab
