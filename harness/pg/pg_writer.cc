#include "pg/pg_writer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "base/text.h"

namespace dcslab {

namespace {

// The server's identity columns, first in every RETURNING and identity query.
constexpr const char* kIdentity =
    "current_setting('dcslab.node', true), host(inet_server_addr()), inet_server_port()";

// The primary's WAL insert timeline: the first 8 hex digits of the current WAL file's name.
constexpr const char* kTimeline = "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)";

// Whether this commit waits for a synchronous standby: one is named, and the session's
// synchronous_commit waits for it (remote_write: the standby has it, if only in memory).
constexpr const char* kSync =
    "current_setting('synchronous_standby_names') <> '' AND "
    "current_setting('synchronous_commit') IN ('on', 'remote_apply', 'remote_write')";

int parse_timeline(const std::optional<std::string>& hex) {
  if (!hex || hex->empty()) return 0;
  char* end = nullptr;
  const long v = std::strtol(hex->c_str(), &end, 16);
  return end && *end == '\0' ? static_cast<int>(v) : 0;
}

const std::optional<std::string>& cell(const PgReply& r, std::size_t col) {
  static const std::optional<std::string> none;
  return r.rows.empty() || col >= r.rows.front().size() ? none : r.rows.front()[col];
}

}  // namespace

Expected<PgEndpoint> LibpqClient::connect() {
  session_.reset();
  auto s = PgSession::connect(options_);
  if (!s) return s.error();
  session_.emplace(std::move(*s));
  return session_->endpoint();
}

PgReply LibpqClient::exec(const std::string& sql, const std::vector<std::string>& params,
                          std::chrono::milliseconds timeout) {
  if (!session_) {
    PgReply r;
    r.error = PgError{PgError::Kind::NotSent, "no connection", "", ""};
    return r;
  }
  return session_->exec(sql, params, timeout);
}

bool PgWriter::valid_table_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

PgWriter::PgWriter(PgWriterOptions options, std::shared_ptr<PgClient> client, Clock& clock)
    : options_(std::move(options)), client_(std::move(client)), clock_(clock), t0_(clock.now()) {
  if (!valid_table_name(options_.table))
    throw BadInput("table: \"" + options_.table + "\" is not a plain lower-case SQL name ([a-z_][a-z0-9_]*)");
  if (options_.run_id.empty()) options_.run_id = utc_compact(std::chrono::system_clock::now());
  history_.name = options_.name;
  history_.client = options_.name + "/" + options_.run_id;
  history_.table = options_.table;
  history_.conninfo = client_->conninfo();
  history_.interval_ms = static_cast<double>(options_.interval.count());
  history_.synchronous = options_.synchronous;
  insert_sql_ = "INSERT INTO " + options_.table + " (client, seq, value) VALUES ($1, $2, $3) RETURNING " +
                kIdentity + ", " + kTimeline + ", pg_current_wal_lsn()::text, " + kSync;
}

PgWriter::~PgWriter() { stop(); }

double PgWriter::now_ms() { return std::chrono::duration<double, std::milli>(clock_.now() - t0_).count(); }

double PgWriter::seconds_running() const { return ticker_.seconds_running(); }

std::string PgWriter::node_name(const std::optional<std::string>& setting, const std::string& addr, int port,
                                const PgEndpoint& endpoint) const {
  if (setting && !setting->empty()) return *setting;
  // The server's own address when it gave one; the client's view of the connection only
  // when it did not (a Unix socket) or for a write that got no answer.
  const bool server = !addr.empty();
  const std::string a = server ? addr : endpoint.host;
  const int p = server ? port : endpoint.port;
  if (a.empty()) return "";
  const auto& names = options_.node_names;
  for (const std::string& k : {a + ":" + std::to_string(p), a})
    if (auto it = names.find(k); it != names.end()) return it->second;
  return a + ":" + std::to_string(p);
}

Expected<void> PgWriter::prepare() {
  if (!client_->connected())
    if (auto c = client_->connect(); !c) return Failure{c.error().kind, "cannot connect: " + c.error().message};
  const std::string ddl = "CREATE TABLE IF NOT EXISTS " + options_.table +
                          " (client text NOT NULL, seq bigint NOT NULL, value text NOT NULL,"
                          " written_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
                          " PRIMARY KEY (client, seq))";
  PgReply r = client_->exec(ddl, {}, std::max(options_.timeout, std::chrono::milliseconds(5000)));
  // Two writers making the table at once: one of them loses the race on the catalog.
  if (!r && r.error->sqlstate == "23505") r = client_->exec(ddl, {}, options_.timeout);
  if (!r)
    return Failure::error("cannot make the table " + options_.table + " on " + client_->endpoint().str() + ": " +
                          r.error->message);
  return {};
}

void PgWriter::step() {
  ++ticks_;
  PgWrite w;
  w.seq = seq_++;
  w.value = options_.name + "-" + std::to_string(w.seq);
  w.start_ms = now_ms();
  if (!client_->connected()) {
    auto c = client_->connect();
    if (!c) {
      w.end_ms = now_ms();
      w.outcome = PgOutcome::Failed;
      w.error = "no connection: " + c.error().message;
      std::lock_guard lock(mu_);
      w.id = static_cast<std::int64_t>(history_.writes.size()) + 1;
      history_.writes.push_back(std::move(w));
      return;
    }
    w.connected = true;
    connection_node_.clear();
  }
  const PgEndpoint ep = client_->endpoint();
  w.endpoint = ep.str();
  const PgReply r = client_->exec(insert_sql_, {history_.client, std::to_string(w.seq), w.value}, options_.timeout);
  w.end_ms = now_ms();
  w.notices = r.notices;
  if (r) {
    w.outcome = PgOutcome::Acknowledged;
    const auto& port = cell(r, 2);
    w.node = node_name(cell(r, 0), cell(r, 1).value_or(""), port ? std::atoi(port->c_str()) : 0, ep);
    w.timeline = parse_timeline(cell(r, 3));
    w.lsn = cell(r, 4).value_or("");
    w.sync = cell(r, 5).value_or("f") == "t";
    if (r.rows.empty()) w.error = "the insert returned no row (node and timeline unknown)";
    connection_node_ = w.node;
  } else {
    w.outcome = r.error->kind == PgError::Kind::Unknown ? PgOutcome::Indeterminate : PgOutcome::Failed;
    // Who refused or went silent: what the server said on this connection before, else
    // the address libpq connected to.
    w.node = connection_node_.empty() ? node_name(std::nullopt, "", 0, ep) : connection_node_;
    w.error = r.error->message;
    w.sqlstate = r.error->sqlstate;
  }
  std::lock_guard lock(mu_);
  w.id = static_cast<std::int64_t>(history_.writes.size()) + 1;
  history_.writes.push_back(std::move(w));
}

PgFinalRead PgWriter::read_once() {
  PgFinalRead f;
  f.start_ms = now_ms();
  const auto timeout = std::max(options_.timeout, std::chrono::milliseconds(10000));
  if (!client_->connected()) {
    if (auto c = client_->connect(); !c) {
      f.error = "no connection: " + c.error().message;
      f.end_ms = now_ms();
      return f;
    }
  }
  const PgEndpoint ep = client_->endpoint();
  f.endpoint = ep.str();
  const PgReply id = client_->exec(std::string("SELECT ") + kIdentity +
                                       ", CASE WHEN pg_is_in_recovery() THEN NULL ELSE " + kTimeline + " END",
                                   {}, timeout);
  if (!id) {
    f.error = id.error->message;
    f.end_ms = now_ms();
    return f;
  }
  const auto& port = cell(id, 2);
  f.node = node_name(cell(id, 0), cell(id, 1).value_or(""), port ? std::atoi(port->c_str()) : 0, ep);
  f.timeline = parse_timeline(cell(id, 3));
  const PgReply rows =
      client_->exec("SELECT seq, value FROM " + options_.table + " WHERE client = $1 ORDER BY seq",
                    {history_.client}, timeout);
  f.end_ms = now_ms();
  if (!rows) {
    f.error = rows.error->message;
    return f;
  }
  for (const auto& row : rows.rows)
    if (row.size() == 2 && row[0] && row[1]) f.rows.emplace_back(std::atoll(row[0]->c_str()), *row[1]);
  f.ok = true;
  return f;
}

PgFinalRead PgWriter::read_back(std::chrono::milliseconds within) {
  // A new connection: the one the writer had may be to a node that is no longer primary.
  client_->disconnect();
  PgFinalRead last;
  int attempts = 0;
  auto got = poll_until<PgFinalRead>(clock_, within, std::chrono::milliseconds(500),
                                     "a final read of " + history_.client,
                                     [&](std::string* why) -> std::optional<PgFinalRead> {
                                       ++attempts;
                                       PgFinalRead r = read_once();
                                       if (r.ok) return r;
                                       *why = r.error;
                                       last = std::move(r);
                                       return std::nullopt;
                                     });
  PgFinalRead result = got ? std::move(*got) : std::move(last);
  if (!got) result.error += " (" + std::to_string(attempts) + " attempts)";
  std::lock_guard lock(mu_);
  history_.final_reads.push_back(result);
  return result;
}

void PgWriter::mark_fault(const std::string& name, double start_ms, double end_ms) {
  std::lock_guard lock(mu_);
  history_.faults.push_back({name, start_ms, end_ms});
}

PgHistory PgWriter::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

void PgWriter::start() { ticker_.start(options_.interval, [this] { step(); }); }

void PgWriter::stop() { ticker_.stop(); }

}  // namespace dcslab
