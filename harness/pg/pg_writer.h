// A background PostgreSQL writer: inserts one new row (client, seq, value) every interval
// through one connection made as applications make theirs (pg_conn.h: a multi-host
// string with target_session_attrs=read-write), reconnecting when it broke, and records
// every insert (start, end, outcome, the node and timeline that took it) in a PgHistory
// for the checker (pg_history.h). The counterpart of etcd's Writer: what runs while a
// scenario injects faults into a Patroni cluster.
//
// Each tick: connect first when there is no connection (libpq picks the writable node;
// a connect that fails is a failed write, nothing was sent), then
//   INSERT INTO <table> (client, seq, value) VALUES ($1, $2, $3)
//   RETURNING current_setting('dcslab.node', true), host(inet_server_addr()),
//             inet_server_port(), substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8),
//             pg_current_wal_lsn(), <synchronous replication configured>
// The node is what the server says it is: the custom setting dcslab.node when the lab
// sets it (Patroni: postgresql.parameters), else the server's address and port mapped
// through `node_names`. The timeline is the primary's WAL insert timeline, from the
// current WAL file's name: exact the moment a promotion ends and as cheap as
// pg_current_wal_lsn() (Patroni 3.0.2 reads its own timeline the same way).
// pg_control_checkpoint()'s timeline_id is not: it is the last checkpoint's, and the
// checkpoint a promotion requests is spread (checkpoint_completion_target): measured, it
// said 2 for 270 s after a promotion to timeline 3 (ARCHITECTURE.md).
//
// Rows are the client <name>/<run>'s, <run> the writer's start time: a second run on the
// same cluster never reads the first one's rows.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/periodic.h"
#include "pg/pg_conn.h"
#include "pg/pg_history.h"

namespace dcslab {

// The seam the writer uses, so it is tested against a fake: one connection at a time.
class PgClient {
 public:
  virtual ~PgClient() = default;
  // Opens a connection where the connection string leads (libpq's choice of host).
  virtual Expected<PgEndpoint> connect() = 0;
  virtual bool connected() const = 0;
  virtual PgEndpoint endpoint() const = 0;  // of the open connection
  virtual PgReply exec(const std::string& sql, const std::vector<std::string>& params,
                       std::chrono::milliseconds timeout) = 0;
  virtual void disconnect() = 0;
  virtual std::string conninfo() const = 0;  // without the password
};

// The real one: libpq (pg_conn.h).
class LibpqClient : public PgClient {
 public:
  explicit LibpqClient(PgConnectOptions options) : options_(std::move(options)) {}
  Expected<PgEndpoint> connect() override;
  bool connected() const override { return session_ && session_->usable(); }
  PgEndpoint endpoint() const override { return session_ ? session_->endpoint() : PgEndpoint{}; }
  PgReply exec(const std::string& sql, const std::vector<std::string>& params,
               std::chrono::milliseconds timeout) override;
  void disconnect() override { session_.reset(); }
  std::string conninfo() const override { return pg_conninfo_text(options_); }

 private:
  PgConnectOptions options_;
  std::optional<PgSession> session_;
};

struct PgWriterOptions {
  std::string name = "pg-writer";
  std::string run_id;                        // empty: the start time, UTC (20260101T120000Z)
  std::string table = "dcslab_writes";       // [a-z_][a-z0-9_]*, made when missing
  std::chrono::milliseconds interval{100};
  std::chrono::milliseconds timeout{2000};   // per statement, on the client
  std::map<std::string, std::string> node_names;  // "addr:port" or "addr" -> node name
  bool synchronous = false;                  // the cluster is meant to commit synchronously
};

class PgWriter {
 public:
  // `clock` times the writes (a test's FakeClock moves only when the fake client moves it).
  // BadInput when the table name is not a plain lower-case identifier.
  PgWriter(PgWriterOptions options, std::shared_ptr<PgClient> client, Clock& clock);
  ~PgWriter();  // stops the thread
  PgWriter(const PgWriter&) = delete;
  PgWriter& operator=(const PgWriter&) = delete;

  // Connects and makes the table when it is missing: a writer that cannot write at all
  // fails here, before any fault. Not recorded in the history.
  Expected<void> prepare();

  void start();   // the background thread: step() every interval until stop()
  void stop();    // waits for the write in flight; idempotent
  bool running() const { return ticker_.running(); }
  void step();    // one write (see above); tests call it without a thread

  // After stop(): every row of this client, read from the primary libpq finds on a new
  // connection, tried until one answers or `within` has passed on the clock. Joins the
  // history as its final read (the last attempt, when none answered).
  PgFinalRead read_back(std::chrono::milliseconds within);

  // A fault window on the history's clock (now_ms() when it began and ended).
  void mark_fault(const std::string& name, double start_ms, double end_ms);

  PgHistory history() const;
  double now_ms();  // ms since the writer was made, on its clock
  Clock::time_point origin() const { return t0_; }  // that time zero (for a role sampler)
  const PgWriterOptions& options() const { return options_; }
  const std::string& client_id() const { return history_.client; }
  int ticks() const { return ticks_; }
  double seconds_running() const;

  static bool valid_table_name(const std::string& name);

 private:
  std::string node_name(const std::optional<std::string>& setting, const std::string& addr, int port,
                        const PgEndpoint& endpoint) const;
  PgFinalRead read_once();

  PgWriterOptions options_;
  std::shared_ptr<PgClient> client_;
  Clock& clock_;
  Clock::time_point t0_;
  std::string insert_sql_;
  std::int64_t seq_ = 1;
  std::string connection_node_;  // what the server of the open connection said it is
  int ticks_ = 0;
  mutable std::mutex mu_;
  PgHistory history_;
  PeriodicThread ticker_;  // calls step(); the destructor stops it before any member goes
};

}  // namespace dcslab
