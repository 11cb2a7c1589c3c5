// A PostgreSQL connection through libpq, made as applications make theirs: one multi-host
// connection string (host=a,b,c port=5432 target_session_attrs=read-write
// connect_timeout=N), so libpq picks the node, the way an application would after a
// failover. Every call has a deadline:
//
//   connect  libpq's own blocking connect with connect_timeout, which libpq applies to
//            each host in turn (at least 2 s each; it is also the timeout for the
//            startup and authentication and, with read-write, the `SHOW
//            transaction_read_only` check). A connect thus ends within hosts x
//            connect_timeout, plus name resolution (give addresses, as the lab does).
//            libpq's non-blocking connect (PQconnectPoll) has no per-host timeout at all:
//            a black-holed first host would take the whole deadline and the others never
//            be tried, which is not what applications see.
//   exec     non-blocking: the statement is sent and its answer awaited with poll() on
//            PQsocket against the deadline, so a server that hangs (SIGSTOP, a partition
//            after the send) costs at most the deadline; the connection is then dropped
//            (a late answer must not be taken for the next statement's). The server also
//            gets statement_timeout (the `options` of the connection), which frees it
//            when the client has gone. It does not cover a commit's wait for a
//            synchronous standby (PostgreSQL disarms it before the commit; measured): only
//            the client's deadline ends that wait.
//
// How a statement ended, as a writer must judge it (could it have taken effect?):
//   NotSent   nothing reached the server: no connection, or the server had already
//             closed it (a FATAL while idle, seen before sending)
//   Rejected  the server answered ERROR: the statement's transaction aborted, nothing
//             was applied (read-only transaction 25006, statement timeout 57014, ...)
//   Unknown   sent, and no clear answer: the connection broke, the deadline passed, or
//             the server ended the session (FATAL/PANIC: a session may be terminated
//             after its commit, while it waits for a synchronous standby)
// Notices (WARNING and below) are kept with the reply: "canceling wait for synchronous
// replication" comes with a commit that is local only.
//
// The password goes to libpq only (the password keyword, never the connection text
// this file prints), and libpq's messages do not contain it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace dcslab {

struct PgHost {
  std::string host;  // an address (or a name, resolved by libpq, without a deadline)
  int port = 5432;
};

struct PgConnectOptions {
  std::vector<PgHost> hosts;
  std::string dbname = "postgres";
  std::string user = "postgres";
  std::string password;                              // empty: none (trust, peer, pgpass)
  std::string target_session_attrs = "read-write";   // libpq's: any, read-write, primary, ...
  std::chrono::seconds connect_timeout{2};           // per host (libpq rounds up to 2 s)
  std::chrono::milliseconds statement_timeout{2000}; // the server's; 0: not set
  std::string application_name = "dcslab";
  std::string sslmode;                               // empty: libpq's default (prefer)
};

// The connection string without the password: what histories and reports show.
std::string pg_conninfo_text(const PgConnectOptions& o);

struct PgError {
  enum class Kind { NotSent, Rejected, Unknown };
  Kind kind = Kind::Unknown;
  std::string message;   // libpq's or the server's primary message (one line)
  std::string sqlstate;  // the server's code; empty when libpq made the error
  std::string severity;  // ERROR, FATAL, PANIC; empty when libpq made the error
};
const char* pg_error_kind_name(PgError::Kind k);

struct PgReply {
  std::optional<PgError> error;                 // none: the statement succeeded
  std::string command;                          // "INSERT 0 1", "SELECT 3"
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // text format; nullopt: NULL
  std::vector<std::string> notices;             // "WARNING: ..." as the server sent them
  explicit operator bool() const { return !error; }
};

// Which server a connection reached, as libpq saw it.
struct PgEndpoint {
  std::string host;
  int port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

// One connection. Not thread-safe: one user thread.
class PgSession {
 public:
  // Connects (see above). Failure::timeout when libpq gave up on every host for time,
  // Failure::refused otherwise; the message is libpq's, per host.
  static Expected<PgSession> connect(const PgConnectOptions& options);

  PgSession(PgSession&&) noexcept;
  PgSession& operator=(PgSession&&) noexcept;
  ~PgSession();

  // One statement with text parameters ($1, $2, ...), within `timeout` (see above). After
  // an Unknown error, or when the server closed the connection, the session is no longer
  // usable (usable() false): make a new one.
  PgReply exec(const std::string& sql, const std::vector<std::string>& params,
               std::chrono::milliseconds timeout);

  bool usable() const;
  const PgEndpoint& endpoint() const { return endpoint_; }

 private:
  struct State;
  explicit PgSession(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
  PgEndpoint endpoint_;
};

}  // namespace dcslab
