#include "pg/pg_conn.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>

#include "base/tcp.h"  // Deadline, ms_left
#include "base/text.h"

namespace dcslab {

namespace {

using PgConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// libpq's messages span lines ("connection to server at ... failed: ...\n\tIs the
// server running ...?\n" once per host); a history holds one line.
std::string one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p; ++p) {
    if (*p == '\n' || *p == '\r' || *p == '\t') {
      if (!out.empty() && out.back() != ' ') out += p[0] == '\n' && p[1] && p[1] != '\t' ? "; " : " ";
    } else {
      out += *p;
    }
  }
  return trim(out);
}

std::string field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

}  // namespace

const char* pg_error_kind_name(PgError::Kind k) {
  switch (k) {
    case PgError::Kind::NotSent: return "not-sent";
    case PgError::Kind::Rejected: return "rejected";
    case PgError::Kind::Unknown: return "unknown";
  }
  return "?";
}

std::string pg_conninfo_text(const PgConnectOptions& o) {
  std::vector<std::string> hosts, ports;
  for (const auto& h : o.hosts) {
    hosts.push_back(h.host);
    ports.push_back(std::to_string(h.port));
  }
  std::string s = "host=" + join(hosts, ",") + " port=" + join(ports, ",") + " dbname=" + o.dbname +
                  " user=" + o.user;
  if (!o.target_session_attrs.empty()) s += " target_session_attrs=" + o.target_session_attrs;
  s += " connect_timeout=" + std::to_string(o.connect_timeout.count());
  if (o.statement_timeout.count() > 0)
    s += " options='-c statement_timeout=" + std::to_string(o.statement_timeout.count()) + "'";
  if (!o.sslmode.empty()) s += " sslmode=" + o.sslmode;
  if (!o.application_name.empty()) s += " application_name=" + o.application_name;
  return s;
}

struct PgSession::State {
  PgConnPtr conn{nullptr, PQfinish};
  std::vector<std::string> notices;

  static void on_notice(void* arg, const PGresult* r) {
    auto* self = static_cast<State*>(arg);
    const std::string sev = field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    self->notices.push_back((sev.empty() ? "NOTICE" : sev) + ": " +
                            one_line(field(r, PG_DIAG_MESSAGE_PRIMARY).c_str()));
  }
};

PgSession::PgSession(std::unique_ptr<State> s) : s_(std::move(s)) {}
PgSession::PgSession(PgSession&&) noexcept = default;
PgSession& PgSession::operator=(PgSession&&) noexcept = default;
PgSession::~PgSession() = default;

bool PgSession::usable() const { return s_ && s_->conn && PQstatus(s_->conn.get()) == CONNECTION_OK; }

Expected<PgSession> PgSession::connect(const PgConnectOptions& o) {
  if (o.hosts.empty()) return Failure::error("no PostgreSQL host to connect to");
  std::vector<std::string> hosts, ports;
  for (const auto& h : o.hosts) {
    hosts.push_back(h.host);
    ports.push_back(std::to_string(h.port));
  }
  std::vector<std::pair<std::string, std::string>> kv = {
      {"host", join(hosts, ",")},
      {"port", join(ports, ",")},
      {"dbname", o.dbname},
      {"user", o.user},
      {"connect_timeout", std::to_string(o.connect_timeout.count())},
      {"application_name", o.application_name},
  };
  if (!o.password.empty()) kv.emplace_back("password", o.password);
  if (!o.target_session_attrs.empty()) kv.emplace_back("target_session_attrs", o.target_session_attrs);
  if (o.statement_timeout.count() > 0)
    kv.emplace_back("options", "-c statement_timeout=" + std::to_string(o.statement_timeout.count()));
  if (!o.sslmode.empty()) kv.emplace_back("sslmode", o.sslmode);
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  auto s = std::make_unique<State>();
  s->conn.reset(PQconnectdbParams(keys.data(), values.data(), 0));
  if (!s->conn) return Failure::error("libpq: out of memory");
  if (PQstatus(s->conn.get()) != CONNECTION_OK) {
    const std::string msg = one_line(PQerrorMessage(s->conn.get()));
    // Every host timed out (a black hole, a hung server): say so; otherwise refused.
    const bool timed_out = msg.find("timeout expired") != std::string::npos &&
                           msg.find("refused") == std::string::npos;
    return timed_out ? Failure::timeout(msg) : Failure::refused(msg);
  }
  PQsetnonblocking(s->conn.get(), 1);
  PQsetNoticeReceiver(s->conn.get(), &State::on_notice, s.get());
  PgSession session(std::move(s));
  const char* host = PQhost(session.s_->conn.get());
  const char* port = PQport(session.s_->conn.get());
  session.endpoint_.host = host ? host : "";
  session.endpoint_.port = port ? std::atoi(port) : 0;
  return session;
}

PgReply PgSession::exec(const std::string& sql, const std::vector<std::string>& params,
                        std::chrono::milliseconds timeout) {
  PgReply reply;
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  auto fail = [&](PgError::Kind kind, std::string message) {
    reply.error = PgError{kind, std::move(message), "", ""};
    if (kind != PgError::Kind::Rejected && s_) s_->conn.reset();  // never reused after that
    return std::move(reply);
  };
  if (!usable()) return fail(PgError::Kind::NotSent, "no connection");
  PGconn* c = s_->conn.get();

  // A session the server ended while it was idle (a restart, a demotion) has its FATAL
  // and the close waiting: nothing is sent on it.
  if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK)
    return fail(PgError::Kind::NotSent, "the server had closed the connection: " + one_line(PQerrorMessage(c)));
  s_->notices.clear();

  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (PQsendQueryParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) == 0)
    return fail(PgError::Kind::Unknown, "could not send: " + one_line(PQerrorMessage(c)));

  const std::string no_answer = "no answer within " + std::to_string(timeout.count()) + " ms";
  // Waits for the socket; false at the deadline.
  auto wait = [&](short events) {
    for (;;) {
      pollfd p{PQsocket(c), events, 0};
      const int n = ::poll(&p, 1, ms_left(deadline));
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) return true;  // let libpq find the error
    }
  };
  for (;;) {
    const int f = PQflush(c);
    if (f == 0) break;
    if (f < 0) return fail(PgError::Kind::Unknown, "could not send: " + one_line(PQerrorMessage(c)));
    if (!wait(POLLOUT | POLLIN)) return fail(PgError::Kind::Unknown, no_answer + " (still sending)");
    if (PQconsumeInput(c) == 0) return fail(PgError::Kind::Unknown, one_line(PQerrorMessage(c)));
  }

  for (;;) {
    while (PQisBusy(c)) {
      if (!wait(POLLIN)) return fail(PgError::Kind::Unknown, no_answer);
      // The connection broke mid-statement (the server's FATAL, if any, is in the message).
      if (PQconsumeInput(c) == 0) return fail(PgError::Kind::Unknown, one_line(PQerrorMessage(c)));
    }
    PgResultPtr r(PQgetResult(c), PQclear);
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      if (reply.error) continue;
      reply.command = PQcmdStatus(r.get());
      const int cols = PQnfields(r.get()), rows = PQntuples(r.get());
      for (int j = 0; j < cols; ++j) reply.columns.emplace_back(PQfname(r.get(), j));
      for (int i = 0; i < rows; ++i) {
        std::vector<std::optional<std::string>> row;
        for (int j = 0; j < cols; ++j)
          row.push_back(PQgetisnull(r.get(), i, j) ? std::nullopt
                                                   : std::optional<std::string>(PQgetvalue(r.get(), i, j)));
        reply.rows.push_back(std::move(row));
      }
    } else if (!reply.error) {
      PgError e;
      e.severity = field(r.get(), PG_DIAG_SEVERITY_NONLOCALIZED);
      e.sqlstate = field(r.get(), PG_DIAG_SQLSTATE);
      const std::string primary = field(r.get(), PG_DIAG_MESSAGE_PRIMARY);
      e.message = one_line(primary.empty() ? PQresultErrorMessage(r.get()) : primary.c_str());
      // ERROR aborts the statement's transaction: nothing applied. FATAL and PANIC end
      // the session, possibly after its commit; libpq's own errors (no SQLSTATE) mean the
      // answer was lost.
      e.kind = (e.severity == "ERROR" && !e.sqlstate.empty()) ? PgError::Kind::Rejected
                                                                : PgError::Kind::Unknown;
      reply.error = std::move(e);
    }
  }
  reply.notices = s_->notices;
  // An answer stands even when the connection broke right after it; the session does not.
  if (PQstatus(c) != CONNECTION_OK || (reply.error && reply.error->kind == PgError::Kind::Unknown))
    s_->conn.reset();
  return reply;
}

}  // namespace dcslab
