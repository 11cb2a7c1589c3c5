// The writer, the client and the checker against real PostgreSQL 15 servers on loopback
// (testing/pg_test_server.h): writes read back through a multi-host string, refusals
// that are failed and never lost, a hung backend that costs the deadline, a server
// stopped mid-run, a promotion (a new timeline in the history), an old primary that was
// never fenced (a split brain the checker catches), and the loss that asynchronous
// replication allows and the warning synchronous replication gives when its wait is
// cancelled. Skipped only when PostgreSQL 15 is not installed.
//
// DCSLAB_PG_HISTORY_DIR=<folder> saves each test's history there (how the recorded
// histories in fixtures/pg-writes/ were made).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "base/clock.h"
#include "pg/pg_writer.h"
#include "testing/pg_test_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

#define SKIP_WITHOUT_POSTGRESQL()                                         \
  do {                                                                    \
    if (const std::string why = PgTestServer::missing(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

std::unique_ptr<PgTestServer> primary(const std::string& node) {
  std::string err;
  auto s = PgTestServer::primary(node, &err);
  EXPECT_TRUE(s) << "cannot start PostgreSQL " << node << ": " << err;
  return s;
}

std::unique_ptr<PgTestServer> standby(PgTestServer& of, const std::string& node) {
  std::string err;
  auto s = of.standby(node, &err);
  EXPECT_TRUE(s) << "cannot make the standby " << node << ": " << err;
  return s;
}

PgConnectOptions options(const std::vector<const PgTestServer*>& servers, const std::string& app) {
  PgConnectOptions o = servers.front()->options();
  o.hosts.clear();
  for (const auto* s : servers) o.hosts.push_back(s->host());
  o.application_name = app;
  return o;
}

// Waits (on the real clock) until `cond` holds; false after `limit`.
bool wait_until(std::chrono::milliseconds limit, const std::string& what, const std::function<bool()>& cond) {
  return static_cast<bool>(poll_until<bool>(RealClock::instance(), limit, 20ms, what,
                                            [&](std::string*) -> std::optional<bool> {
                                              if (cond()) return true;
                                              return std::nullopt;
                                            }));
}

int count(const PgHistory& h, PgOutcome o, const std::string& node = "") {
  int n = 0;
  for (const auto& w : h.writes) n += w.outcome == o && (node.empty() || w.node == node);
  return n;
}

// Steps the writer until its last write has outcome `o` (on `node`), at most `steps` times.
bool step_until(PgWriter& w, PgOutcome o, const std::string& node, int steps = 200) {
  for (int i = 0; i < steps; ++i) {
    w.step();
    const PgHistory h = w.history();
    if (h.writes.back().outcome == o && (node.empty() || h.writes.back().node == node)) return true;
    RealClock::instance().sleep_for(20ms);
  }
  return false;
}

std::string outcomes(const PgHistory& h) {
  std::string s;
  for (const auto& w : h.writes)
    s += std::string(w.outcome == PgOutcome::Acknowledged ? "A" : w.outcome == PgOutcome::Failed ? "F" : "I") +
         (w.outcome == PgOutcome::Acknowledged ? "(" + w.node + "/" + std::to_string(w.timeline) + ")" : "") + " ";
  return s;
}

void save(const PgHistory& h, const PgCheckResult& r) {
  const char* dir = std::getenv("DCSLAB_PG_HISTORY_DIR");
  if (!dir || !*dir) return;
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::ofstream(std::string(dir) + "/" + name + ".json") << pg_history_json(h, &r);
}

std::string backend_pid(PgTestServer& s, const std::string& app) {
  return s.value("SELECT pid FROM pg_stat_activity WHERE application_name = '" + app + "'");
}

TEST(PgLoopback, WritesThroughAMultiHostStringAreReadBack) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  // The first host is dead (nothing listens): libpq goes on to the live one.
  PgConnectOptions o = a->options();
  const int dead = PgTestServer::free_port();
  o.hosts = {{"127.0.0.1", dead}, a->host()};
  auto alone = PgSession::connect([&] { auto d = o; d.hosts = {{"127.0.0.1", dead}}; return d; }());
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().kind, Failure::Kind::Refused);
  EXPECT_NE(alone.error().message.find("Connection refused"), std::string::npos) << alone.error().message;

  auto client = std::make_shared<LibpqClient>(o);
  PgWriterOptions wo;
  wo.name = "loop";
  wo.interval = 20ms;
  PgWriter w(wo, client, RealClock::instance());
  auto prepared = w.prepare();
  ASSERT_TRUE(prepared) << prepared.error().message;
  w.start();
  EXPECT_TRUE(wait_until(20s, "20 acknowledged writes", [&] { return count(w.history(), PgOutcome::Acknowledged) >= 20; }));
  w.stop();
  const PgFinalRead f = w.read_back(10s);
  ASSERT_TRUE(f.ok) << f.error;
  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.failed + r.indeterminate, 0) << outcomes(h);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(static_cast<int>(f.rows.size()), r.acknowledged);
  ASSERT_EQ(r.tenures.size(), 1u);
  EXPECT_EQ(r.tenures[0].str(), "pg-a/timeline 1");  // the server's dcslab.node, its timeline
  EXPECT_EQ(f.node, "pg-a");
  EXPECT_EQ(f.timeline, 1);
  for (const auto& wr : h.writes) EXPECT_EQ(wr.endpoint, "127.0.0.1:" + std::to_string(a->port()));
  for (const auto& wr : h.writes) EXPECT_FALSE(wr.connected);  // prepare()'s connection, all along
  // The connection string is there, the password nowhere.
  EXPECT_NE(h.conninfo.find("host=127.0.0.1,127.0.0.1 port=" + std::to_string(dead) + "," + std::to_string(a->port())),
            std::string::npos) << h.conninfo;
  EXPECT_NE(h.conninfo.find("target_session_attrs=read-write"), std::string::npos);
  EXPECT_EQ(pg_history_json(h, &r).find(a->password()), std::string::npos);
}

TEST(PgLoopback, ReadOnlyRefusalsAreFailedNotLost) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto client = std::make_shared<LibpqClient>(options({a.get()}, "dcslab-ro-test"));
  PgWriter w(PgWriterOptions{}, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  for (int i = 0; i < 3; ++i) w.step();
  ASSERT_EQ(count(w.history(), PgOutcome::Acknowledged), 3) << outcomes(w.history());

  ASSERT_TRUE(a->sql("ALTER SYSTEM SET default_transaction_read_only = on"));
  ASSERT_TRUE(a->sql("SELECT pg_reload_conf()"));
  // The writer's backend reads the new setting between statements.
  ASSERT_TRUE(step_until(w, PgOutcome::Failed, "")) << outcomes(w.history());
  for (int i = 0; i < 3; ++i) w.step();
  // A new connection would not even be made: libpq asks and refuses a read-only session.
  auto fresh = PgSession::connect(a->options());
  ASSERT_FALSE(fresh);
  EXPECT_NE(fresh.error().message.find("read-only"), std::string::npos) << fresh.error().message;

  ASSERT_TRUE(a->sql("ALTER SYSTEM RESET default_transaction_read_only"));
  ASSERT_TRUE(a->sql("SELECT pg_reload_conf()"));
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-a")) << outcomes(w.history());
  ASSERT_TRUE(w.read_back(10s).ok);

  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_GE(r.failed, 4);
  EXPECT_EQ(r.indeterminate, 0) << outcomes(h);
  EXPECT_EQ(r.unexplained, 0);  // no refused row is there
  EXPECT_EQ(r.lost, 0);
  for (const auto& wr : h.writes)
    if (wr.outcome == PgOutcome::Failed) {
      EXPECT_EQ(wr.sqlstate, "25006");
      EXPECT_EQ(wr.error, "cannot execute INSERT in a read-only transaction");
      EXPECT_EQ(wr.node, "pg-a");  // what the connection's server said before
      EXPECT_FALSE(wr.connected);  // a refusal keeps the connection
    }
}

TEST(PgLoopback, AHungBackendCostsTheDeadlineAndIsIndeterminate) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto client = std::make_shared<LibpqClient>(options({a.get()}, "dcslab-hung-test"));
  PgWriterOptions wo;
  wo.timeout = 700ms;
  PgWriter w(wo, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  w.step();
  const std::string pid = backend_pid(*a, "dcslab-hung-test");
  ASSERT_FALSE(pid.empty());
  ::kill(std::stoi(pid), SIGSTOP);
  const auto t0 = std::chrono::steady_clock::now();
  w.step();
  const auto took = std::chrono::steady_clock::now() - t0;
  ::kill(std::stoi(pid), SIGCONT);
  EXPECT_GE(took, 690ms);
  EXPECT_LT(took, 1500ms);
  PgHistory h = w.history();
  ASSERT_EQ(h.writes.size(), 2u);
  EXPECT_EQ(h.writes[1].outcome, PgOutcome::Indeterminate);
  EXPECT_EQ(h.writes[1].error, "no answer within 700 ms");
  // Resumed, the backend still runs the insert it had received: an indeterminate write
  // may well be applied, which is why the checker never judges one.
  EXPECT_TRUE(wait_until(10s, "the resumed backend's commit", [&] {
    return a->value("SELECT count(*) FROM dcslab_writes WHERE client = '" + h.client + "' AND seq = 2") == "1";
  }));
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-a"));
  EXPECT_TRUE(w.history().writes.back().connected);  // after an unknown end, a new connection
  ASSERT_TRUE(w.read_back(10s).ok);
  h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.indeterminate, 1);
  EXPECT_EQ(r.indeterminate_applied, 1);
}

TEST(PgLoopback, AServerStoppedMidRunGivesFailedAndIndeterminateWritesNeverLost) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto client = std::make_shared<LibpqClient>(options({a.get()}, "dcslab-stop-test"));
  PgWriterOptions wo;
  wo.interval = 20ms;
  wo.timeout = 1000ms;
  PgWriter w(wo, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  w.start();
  ASSERT_TRUE(wait_until(20s, "10 acknowledged writes", [&] { return count(w.history(), PgOutcome::Acknowledged) >= 10; }));
  const double down = w.now_ms();
  ASSERT_TRUE(a->stop("immediate"));  // a crash: SIGQUIT to every backend
  const std::size_t at_stop = w.history().writes.size();
  EXPECT_TRUE(wait_until(20s, "5 writes on a stopped server", [&] { return w.history().writes.size() >= at_stop + 5; }));
  std::string err;
  ASSERT_TRUE(a->start(&err)) << err;
  const double up = w.now_ms();
  w.mark_fault("stop -m immediate", down, up);
  const int acks = count(w.history(), PgOutcome::Acknowledged);
  EXPECT_TRUE(wait_until(20s, "acknowledged writes after the restart", [&] {
    return count(w.history(), PgOutcome::Acknowledged) >= acks + 5;
  }));
  w.stop();
  ASSERT_TRUE(w.read_back(10s).ok);
  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary() << "\n" << outcomes(h);
  EXPECT_GE(r.failed, 3) << outcomes(h);  // no connection while it was down
  EXPECT_EQ(r.lost, 0);                   // crash recovery keeps every commit
  EXPECT_EQ(r.unexplained, 0);
  ASSERT_EQ(r.tenures.size(), 1u);        // a restart is no promotion: same timeline
  // The longest time without an ack spans the writes that failed while it was down
  // (pg_ctl start returns after the server already takes writes: not a bound).
  double first_bad = 1e18, last_bad = 0;
  for (const auto& wr : h.writes)
    if (wr.outcome != PgOutcome::Acknowledged) {
      first_bad = std::min(first_bad, wr.start_ms);
      last_bad = std::max(last_bad, wr.end_ms);
    }
  EXPECT_LE(r.longest.from_ms, first_bad);
  EXPECT_GE(r.longest.to_ms, last_bad);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].tenure_before, "pg-a/timeline 1");
  EXPECT_EQ(r.faults[0].tenure_after, "pg-a/timeline 1");
  for (const auto& wr : h.writes)
    if (wr.outcome != PgOutcome::Acknowledged) {
      EXPECT_FALSE(wr.error.empty());
    }
}

TEST(PgLoopback, APromotedStandbyIsANewTimelineAndNothingIsLost) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto b = standby(*a, "pg-b");
  ASSERT_TRUE(b);
  auto client = std::make_shared<LibpqClient>(options({a.get(), b.get()}, "dcslab-failover-test"));
  PgWriterOptions wo;
  wo.interval = 20ms;
  wo.timeout = 1000ms;
  PgWriter w(wo, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  w.start();
  ASSERT_TRUE(wait_until(20s, "10 acknowledged writes", [&] { return count(w.history(), PgOutcome::Acknowledged) >= 10; }));
  // A switchover by hand: the primary stops cleanly (its standby has every record), then
  // the standby is promoted.
  const double t0 = w.now_ms();
  ASSERT_TRUE(a->stop("fast"));
  std::string err;
  ASSERT_TRUE(b->promote(&err)) << err;
  w.mark_fault("stop pg-a, promote pg-b", t0, w.now_ms());
  EXPECT_TRUE(wait_until(20s, "10 writes on pg-b", [&] { return count(w.history(), PgOutcome::Acknowledged, "pg-b") >= 10; }));
  w.stop();
  const PgFinalRead f = w.read_back(10s);
  ASSERT_TRUE(f.ok) << f.error;
  EXPECT_EQ(f.node, "pg-b");
  EXPECT_EQ(f.timeline, 2);
  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary();
  ASSERT_EQ(r.tenures.size(), 2u) << outcomes(h);
  EXPECT_EQ(r.tenures[0].str(), "pg-a/timeline 1");
  EXPECT_EQ(r.tenures[1].str(), "pg-b/timeline 2");  // exact from the first write after promotion
  EXPECT_EQ(r.split_brain, 0);
  EXPECT_EQ(r.lost, 0);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].tenure_after, "pg-b/timeline 2");
  std::printf("failover on loopback: %s\n  longest %.1f ms (lower %.1f), fault to recovery %.1f ms\n",
              r.summary().c_str(), r.longest.ms(), r.longest.lower_ms, r.faults[0].recovery_ms);
}

TEST(PgLoopback, AnOldPrimaryNeverFencedIsASplitBrain) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto b = standby(*a, "pg-b");
  ASSERT_TRUE(b);
  auto client = std::make_shared<LibpqClient>(options({a.get(), b.get()}, "dcslab-split-test"));
  PgWriter w(PgWriterOptions{}, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  for (int i = 0; i < 3; ++i) w.step();
  ASSERT_TRUE(wait_until(10s, "pg-b has the rows", [&] {
    return b->value("SELECT count(*) FROM dcslab_writes WHERE client = '" + w.client_id() + "'") == "3";
  }));
  // pg-b is promoted while pg-a still runs: two primaries, pg-b on timeline 2.
  std::string err;
  ASSERT_TRUE(b->promote(&err)) << err;
  ASSERT_TRUE(a->stop("immediate"));
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-b")) << outcomes(w.history());
  for (int i = 0; i < 2; ++i) w.step();
  // pg-a comes back, still a primary; the writer's next connection goes there again.
  ASSERT_TRUE(a->start(&err)) << err;
  ASSERT_TRUE(b->sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                     "'dcslab-split-test'"));
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-a")) << outcomes(w.history());
  ASSERT_TRUE(w.read_back(10s).ok);
  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.split_brain, 1) << r.summary() << "\n" << outcomes(h);
  EXPECT_EQ(r.timeline_forks, 0);
  EXPECT_EQ(r.final_node, "pg-a/timeline 1");
  EXPECT_EQ(r.lost, count(h, PgOutcome::Acknowledged, "pg-b"));  // pg-b's rows are not on pg-a
  EXPECT_GE(r.lost, 1);
}

TEST(PgLoopback, AsynchronousReplicationLosesTheTailAndTheCheckerOnlyCountsIt) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto b = standby(*a, "pg-b");
  ASSERT_TRUE(b);
  auto client = std::make_shared<LibpqClient>(options({a.get(), b.get()}, "dcslab-async-test"));
  PgWriter w(PgWriterOptions{}, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  for (int i = 0; i < 3; ++i) w.step();
  ASSERT_TRUE(wait_until(10s, "pg-b has the rows", [&] {
    return b->value("SELECT count(*) FROM dcslab_writes WHERE client = '" + w.client_id() + "'") == "3";
  }));
  // The primary's WAL sender stops sending: commits go on, unreplicated.
  const std::string sender = a->value("SELECT pid FROM pg_stat_replication");
  ASSERT_FALSE(sender.empty());
  ::kill(std::stoi(sender), SIGSTOP);
  for (int i = 0; i < 4; ++i) w.step();
  // The primary dies with them; pg-b is promoted.
  ::kill(std::stoi(sender), SIGKILL);
  a->stop("immediate");
  std::string err;
  ASSERT_TRUE(b->promote(&err)) << err;
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-b")) << outcomes(w.history());
  ASSERT_TRUE(w.read_back(10s).ok);
  const PgHistory h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.lost, 4) << r.summary() << "\n" << outcomes(h);
  EXPECT_EQ(r.lost_sync, 0);
  EXPECT_EQ(r.acknowledged_sync, 0);
  EXPECT_EQ(r.split_brain, 0);
}

TEST(PgLoopback, SynchronousCommitsAreKeptAndACancelledWaitIsOnlyALocalCommit) {
  SKIP_WITHOUT_POSTGRESQL();
  auto a = primary("pg-a");
  ASSERT_TRUE(a);
  auto b = standby(*a, "pg-b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->sql("ALTER SYSTEM SET synchronous_standby_names = '*'"));
  ASSERT_TRUE(a->sql("SELECT pg_reload_conf()"));
  ASSERT_TRUE(wait_until(10s, "pg-b synchronous", [&] {
    return a->value("SELECT sync_state FROM pg_stat_replication") == "sync";
  }));
  // The server would cancel a statement after 500 ms; the client waits 1500 ms.
  PgConnectOptions o = options({a.get(), b.get()}, "dcslab-sync-test");
  o.statement_timeout = 500ms;
  auto client = std::make_shared<LibpqClient>(o);
  PgWriterOptions wo;
  wo.timeout = 1500ms;
  wo.synchronous = true;
  PgWriter w(wo, client, RealClock::instance());
  ASSERT_TRUE(w.prepare());
  for (int i = 0; i < 3; ++i) w.step();
  // The standby stops receiving: a commit now waits for it.
  const std::string receiver = b->value("SELECT pid FROM pg_stat_wal_receiver");
  ASSERT_FALSE(receiver.empty());
  ::kill(std::stoi(receiver), SIGSTOP);
  // A cancel (an application's, a pooler's) ends the wait: PostgreSQL acknowledges the
  // local commit with a WARNING.
  std::thread cancel([&] {
    RealClock::instance().sleep_for(300ms);
    a->sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'dcslab-sync-test'");
  });
  w.step();
  cancel.join();
  PgHistory h = w.history();
  ASSERT_EQ(h.writes.size(), 4u);
  EXPECT_EQ(h.writes[3].outcome, PgOutcome::Acknowledged) << outcomes(h) << h.writes[3].error;
  ASSERT_FALSE(h.writes[3].notices.empty());
  EXPECT_NE(h.writes[3].notices[0].find("WARNING: canceling wait for synchronous replication"), std::string::npos)
      << h.writes[3].notices[0];
  // statement_timeout does not end that wait (PostgreSQL disarms it before the commit):
  // the client's deadline does, and the write is indeterminate.
  const auto t0 = std::chrono::steady_clock::now();
  w.step();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1490ms);
  h = w.history();
  EXPECT_EQ(h.writes[4].outcome, PgOutcome::Indeterminate) << outcomes(h);
  EXPECT_EQ(h.writes[4].error, "no answer within 1500 ms");
  // The primary dies before the standby has them; the standby is promoted.
  ::kill(std::stoi(receiver), SIGKILL);
  a->stop("immediate");
  std::string err;
  ASSERT_TRUE(b->promote(&err)) << err;
  ASSERT_TRUE(step_until(w, PgOutcome::Acknowledged, "pg-b")) << outcomes(w.history());
  ASSERT_TRUE(w.read_back(10s).ok);
  h = w.history();
  const PgCheckResult r = check_pg_history(h);
  save(h, r);
  // The three synchronous commits are there; the one with the warning is not, and counts
  // as lost without failing the check: the server said it was local only.
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.lost, 1) << r.summary() << "\n" << outcomes(h);
  EXPECT_EQ(r.lost_sync, 0);
  // pg-b names no synchronous standby of its own: its commits are asynchronous.
  EXPECT_EQ(r.acknowledged_sync, 3);
}

}  // namespace
}  // namespace dcslab
