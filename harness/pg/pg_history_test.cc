#include "pg/pg_history.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/paths.h"
#include "pg/role_sampler.h"

namespace dcslab {
namespace {

// Histories written by hand: one write every 100 ms unless said otherwise.
struct Builder {
  PgHistory h;
  std::int64_t next = 1;
  PgWrite& add(PgOutcome o, const std::string& node, int timeline, double start, double end) {
    PgWrite w;
    w.id = next;
    w.seq = next;
    ++next;
    w.value = "w-" + std::to_string(w.seq);
    w.outcome = o;
    w.node = node;
    w.timeline = o == PgOutcome::Acknowledged ? timeline : 0;
    w.start_ms = start;
    w.end_ms = end;
    if (o != PgOutcome::Acknowledged) w.error = "scripted";
    h.writes.push_back(w);
    return h.writes.back();
  }
  PgWrite& ack(const std::string& node, int timeline, double start, double end = -1, bool sync = false) {
    PgWrite& w = add(PgOutcome::Acknowledged, node, timeline, start, end < 0 ? start + 5 : end);
    w.sync = sync;
    return w;
  }
  PgWrite& failed(double start, double end = -1) { return add(PgOutcome::Failed, "", 0, start, end < 0 ? start + 5 : end); }
  PgWrite& indeterminate(const std::string& node, double start, double end = -1) {
    return add(PgOutcome::Indeterminate, node, 0, start, end < 0 ? start + 5 : end);
  }
  // A final read on `node` showing every acknowledged and indeterminate row but `missing`.
  void final_read(const std::string& node, int timeline, const std::vector<std::int64_t>& missing = {},
                  bool with_indeterminate = true) {
    PgFinalRead r;
    r.ok = true;
    r.node = node;
    r.timeline = timeline;
    r.start_ms = r.end_ms = 100000;
    for (const auto& w : h.writes) {
      if (std::find(missing.begin(), missing.end(), w.seq) != missing.end()) continue;
      if (w.outcome == PgOutcome::Acknowledged || (with_indeterminate && w.outcome == PgOutcome::Indeterminate))
        r.rows.emplace_back(w.seq, w.value);
    }
    h.final_reads.push_back(r);
  }
};

int count(const PgCheckResult& r, const std::string& kind) {
  int n = 0;
  for (const auto& f : r.findings) n += f.kind == kind;
  return n;
}

const PgFinding* first(const PgCheckResult& r, const std::string& kind) {
  for (const auto& f : r.findings)
    if (f.kind == kind) return &f;
  return nullptr;
}

TEST(PgHistory, AFailoverIsOnePrimaryAfterAnother) {
  Builder b;
  for (int i = 0; i < 5; ++i) b.ack("pg-00", 1, i * 100.0);
  b.indeterminate("pg-00", 500, 2500);  // the kill: sent, no answer
  for (int i = 0; i < 4; ++i) b.failed(2600 + i * 100.0);
  for (int i = 0; i < 5; ++i) b.ack("pg-01", 2, 3000 + i * 100.0);
  b.final_read("pg-01", 2);
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.split_brain, 0);
  EXPECT_EQ(r.timeline_forks, 0);
  ASSERT_EQ(r.tenures.size(), 2u);
  EXPECT_EQ(r.tenures[0].str(), "pg-00/timeline 1");
  EXPECT_EQ(r.tenures[1].str(), "pg-01/timeline 2");
  EXPECT_EQ(r.tenures[1].acknowledged, 5);
  EXPECT_EQ(r.acknowledged, 10);
  EXPECT_EQ(r.failed, 4);
  EXPECT_EQ(r.indeterminate, 1);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.indeterminate_applied, 1);
}

TEST(PgHistory, ASeededSplitBrainIsCaught) {
  // pg-00 keeps accepting writes after pg-01 was promoted: A, B, A.
  Builder b;
  for (int i = 0; i < 3; ++i) b.ack("pg-00", 1, i * 100.0);
  b.ack("pg-01", 2, 300);
  b.ack("pg-01", 2, 400);
  b.ack("pg-00", 1, 500);
  b.final_read("pg-01", 2, {6});
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.split_brain, 1) << r.summary();
  EXPECT_EQ(r.timeline_forks, 0);
  const PgFinding* f = first(r, "split_brain");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->failure);
  // It names both primaries and the writes that prove it.
  EXPECT_NE(f->message.find("pg-00/timeline 1 and pg-01/timeline 2"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("write #6"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("write #4"), std::string::npos) << f->message;
  // The old primary's last row is not on the new one: lost, but asynchronous here.
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(r.lost_sync, 0);
}

TEST(PgHistory, OverlappingConcurrentWritesThatCanBeOrderedAreNotASplitBrain) {
  // Two clients' writes merged: pg-00's slow acks overlap pg-01's first one in time, but
  // every pg-00 commit can have come before pg-01's (each write started before pg-01's
  // ended): one primary after the other.
  Builder b;
  b.ack("pg-00", 1, 0, 50);
  b.ack("pg-00", 1, 15, 40);
  b.ack("pg-01", 2, 10, 20);
  b.ack("pg-01", 2, 60, 70);
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_EQ(r.split_brain, 0) << r.summary();
  // pg-00 starting a write after pg-01 acknowledged one is the proof, not the overlap.
  b.ack("pg-00", 1, 75, 80);
  EXPECT_EQ(check_pg_history(b.h).split_brain, 1);
}

TEST(PgHistory, TwoNodesOnOneTimelineAreAFork) {
  Builder b;
  for (int i = 0; i < 3; ++i) b.ack("pg-00", 1, i * 100.0);
  b.failed(300);
  for (int i = 0; i < 3; ++i) b.ack("pg-01", 1, 400 + i * 100.0);  // promoted, yet timeline 1
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.split_brain, 0);
  EXPECT_EQ(r.timeline_forks, 1);
  ASSERT_NE(first(r, "timeline_fork"), nullptr);
  EXPECT_NE(first(r, "timeline_fork")->message.find("two nodes acknowledged writes on timeline 1"),
            std::string::npos);
  // A later primary on a lower timeline is another lineage too.
  Builder c;
  c.ack("pg-00", 3, 0);
  c.ack("pg-01", 2, 100);
  EXPECT_EQ(check_pg_history(c.h).timeline_forks, 1);
}

TEST(PgHistory, ALostAcknowledgedWriteFailsInSynchronousMode) {
  Builder b;
  b.h.synchronous = true;
  for (int i = 0; i < 6; ++i) b.ack("pg-00", 1, i * 100.0, -1, true);
  b.indeterminate("pg-00", 600, 2600);
  for (int i = 0; i < 3; ++i) b.ack("pg-01", 2, 3000 + i * 100.0, -1, true);
  b.final_read("pg-01", 2, {5, 6, 7}, /*with_indeterminate=*/false);
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.lost, 2) << r.summary();  // 5 and 6; 7 was indeterminate
  EXPECT_EQ(r.lost_sync, 2);
  EXPECT_EQ(r.acknowledged_sync, 9);
  ASSERT_EQ(count(r, "lost"), 1);
  const PgFinding* f = first(r, "lost");
  EXPECT_TRUE(f->failure);
  EXPECT_EQ(f->writes, (std::vector<std::int64_t>{5, 6}));
  EXPECT_NE(f->message.find("2 acknowledged write(s) of pg-00/timeline 1 missing from the final read on "
                            "pg-01/timeline 2"),
            std::string::npos)
      << f->message;
}

TEST(PgHistory, ALostWriteIsCountedNotFailedWithAsynchronousReplication) {
  Builder b;
  for (int i = 0; i < 6; ++i) b.ack("pg-00", 1, i * 100.0);
  for (int i = 0; i < 3; ++i) b.ack("pg-01", 2, 3000 + i * 100.0);
  b.final_read("pg-01", 2, {5, 6});
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.lost, 2);
  EXPECT_EQ(r.lost_sync, 0);
  const PgFinding* f = first(r, "lost");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->failure);
  EXPECT_NE(f->message.find("asynchronous replication"), std::string::npos);
  // In synchronous mode, commits that were not synchronous are counted the same way:
  // no standby named then, or the server warned the wait was cancelled.
  b.h.synchronous = true;
  b.h.writes[4].sync = false;
  b.h.writes[5].sync = true;
  b.h.writes[5].notices = {"WARNING: canceling wait for synchronous replication due to user request"};
  const PgCheckResult s = check_pg_history(b.h);
  EXPECT_TRUE(s.passed()) << s.summary();
  EXPECT_EQ(s.lost, 2);
  EXPECT_EQ(s.lost_sync, 0);
}

TEST(PgHistory, IndeterminateWritesAreNeverFlagged) {
  // Indeterminate writes on another node between pg-00's acks, absent or present at the
  // end: neither a split brain, nor a tenure, nor lost.
  Builder b;
  b.h.synchronous = true;
  b.ack("pg-00", 1, 0, -1, true);
  b.indeterminate("pg-01", 100, 2100);
  b.ack("pg-00", 1, 2200, -1, true);
  b.indeterminate("pg-01", 2300, 4300);
  b.indeterminate("pg-00", 4400, 6400);
  b.ack("pg-00", 1, 6500, -1, true);
  b.final_read("pg-00", 1, {4});  // one indeterminate row there, one not
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.split_brain, 0);
  EXPECT_EQ(r.timeline_forks, 0);
  EXPECT_EQ(r.tenures.size(), 1u);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.indeterminate, 3);
  EXPECT_EQ(r.indeterminate_applied, 2);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST(PgHistory, AFailedWriteThatShowsUpIsUnexplained) {
  Builder b;
  b.ack("pg-00", 1, 0);
  b.failed(100).error = "cannot execute INSERT in a read-only transaction";
  b.ack("pg-00", 1, 200);
  b.final_read("pg-00", 1);
  b.h.final_reads.back().rows.emplace_back(2, "w-2");
  b.h.final_reads.back().rows.emplace_back(99, "w-99");
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.unexplained, 2) << r.summary();
  EXPECT_NE(r.findings[0].message.find("told it failed: cannot execute INSERT in a read-only transaction"),
            std::string::npos)
      << r.findings[0].message;
}

TEST(PgHistory, NoFinalReadIsUnverifiedAndFailsOnlyInSynchronousMode) {
  Builder b;
  b.ack("pg-00", 1, 0);
  PgFinalRead none;
  none.error = "no connection: connection refused";
  b.h.final_reads.push_back(none);
  PgCheckResult r = check_pg_history(b.h);
  EXPECT_EQ(r.unverified, 1);
  EXPECT_FALSE(r.final_read);
  EXPECT_TRUE(r.passed());
  b.h.synchronous = true;
  r = check_pg_history(b.h);
  EXPECT_FALSE(r.passed());
  EXPECT_NE(first(r, "unverified")->message.find("connection refused"), std::string::npos);
}

TEST(PgHistory, TheLongestTimeWithoutAPrimaryAndPerFaultFigures) {
  Builder b;
  // Acks every 100 ms (5 ms each) up to 400; the primary is killed at 450; connects fail
  // until the new primary's first ack, started at 8200 and acknowledged at 8260.
  for (int i = 0; i < 5; ++i) b.ack("pg-00", 1, i * 100.0);
  b.indeterminate("pg-00", 500, 2500);
  for (double t = 2600; t < 8200; t += 700) b.failed(t, t + 600);
  b.ack("pg-01", 2, 8200, 8260);
  b.ack("pg-01", 2, 8300, 8305);
  b.h.faults.push_back({"kill pg-00", 450, 450});
  // A later network fault that changes nothing: acks go on through it.
  for (int i = 0; i < 10; ++i) b.ack("pg-01", 2, 8400 + i * 100.0);
  b.h.faults.push_back({"partition pg-02", 8500, 9000});
  PgCheckResult r = check_pg_history(b.h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_DOUBLE_EQ(r.longest.from_ms, 405);
  EXPECT_DOUBLE_EQ(r.longest.to_ms, 8260);
  EXPECT_DOUBLE_EQ(r.longest.ms(), 7855);
  EXPECT_DOUBLE_EQ(r.longest.lower_ms, 7795);  // to the start of the write that succeeded
  EXPECT_EQ(r.longest.after_write, 5);
  EXPECT_FALSE(r.longest.open);
  EXPECT_DOUBLE_EQ(r.leading.ms(), 5);
  ASSERT_EQ(r.faults.size(), 2u);
  const PgFaultFigures& kill = r.faults[0];
  EXPECT_DOUBLE_EQ(kill.longest.ms(), 7855);
  EXPECT_DOUBLE_EQ(kill.recovery_ms, 8260 - 450);
  EXPECT_EQ(kill.tenure_before, "pg-00/timeline 1");
  EXPECT_EQ(kill.tenure_after, "pg-01/timeline 2");
  EXPECT_EQ(kill.indeterminate, 1);
  EXPECT_EQ(kill.failed, 8);
  EXPECT_EQ(kill.acknowledged, 1);
  const PgFaultFigures& part = r.faults[1];
  EXPECT_DOUBLE_EQ(part.longest.ms(), 100);
  EXPECT_EQ(part.tenure_before, part.tenure_after);
  EXPECT_EQ(part.failed, 0);
  EXPECT_EQ(part.acknowledged, 6);  // started at 8500 .. 9000

  // A bound: 7.855 s is above 5 s.
  PgCheckOptions o;
  o.max_unavailable_ms = 5000;
  r = check_pg_history(b.h, o);
  EXPECT_FALSE(r.passed());
  EXPECT_TRUE(r.unavailable);
  ASSERT_NE(first(r, "unavailable"), nullptr);
  EXPECT_NE(first(r, "unavailable")->message.find("after write #5 until write #15"), std::string::npos)
      << first(r, "unavailable")->message;
}

TEST(PgHistory, AFaultsEffectMayComeAfterItsWindow) {
  // A kill sent at 1000 whose command returned at 1100: the primary's backend still
  // acknowledged writes until 1505, then nothing until the new primary at 21000.
  Builder b;
  for (int i = 0; i < 16; ++i) b.ack("pg-01", 1, i * 100.0);
  b.indeterminate("pg-01", 1600);
  for (double t = 1700; t < 20900; t += 100) b.failed(t, t + 40);
  b.ack("pg-02", 2, 20950, 21000);
  b.h.faults.push_back({"kill -9 pg-01", 1000, 1100});
  const PgCheckResult r = check_pg_history(b.h);
  ASSERT_EQ(r.faults.size(), 1u);
  const PgFaultFigures& f = r.faults[0];
  EXPECT_DOUBLE_EQ(f.longest.from_ms, 1505);
  EXPECT_DOUBLE_EQ(f.longest.to_ms, 21000);
  EXPECT_DOUBLE_EQ(f.recovery_ms, 20000);
  EXPECT_EQ(f.tenure_before, "pg-01/timeline 1");
  EXPECT_EQ(f.tenure_after, "pg-02/timeline 2");
  EXPECT_EQ(f.indeterminate, 1);
  EXPECT_EQ(f.acknowledged, 6 + 1);  // 1000 .. 1500, and the recovering one
  // A second fault bounds the first one's reach: a gap that begins after it is its own.
  b.h.faults.push_back({"later", 1200, 1200});
  const PgCheckResult s = check_pg_history(b.h);
  EXPECT_DOUBLE_EQ(s.faults[0].longest.ms(), 100);
  EXPECT_DOUBLE_EQ(s.faults[1].longest.to_ms, 21000);
}

TEST(PgHistory, NoWriteAfterTheLastAckIsAnOpenWindow) {
  Builder b;
  b.ack("pg-00", 1, 0);
  b.ack("pg-00", 1, 100);
  b.failed(200, 2200);
  b.failed(2300, 4300);
  const PgCheckResult r = check_pg_history(b.h);
  EXPECT_TRUE(r.longest.open);
  EXPECT_DOUBLE_EQ(r.longest.from_ms, 105);
  EXPECT_DOUBLE_EQ(r.longest.to_ms, 4300);
  EXPECT_NE(r.summary().find("(open: none after it)"), std::string::npos) << r.summary();
  // Nothing acknowledged at all: the whole run.
  Builder c;
  c.failed(0, 2000);
  c.failed(2100, 4100);
  const PgCheckResult s = check_pg_history(c.h);
  EXPECT_TRUE(s.longest.open);
  EXPECT_DOUBLE_EQ(s.longest.ms(), 4100);
}

TEST(PgHistory, JsonRoundTripKeepsTheVerdict) {
  Builder b;
  b.h.name = "w";
  b.h.client = "w/20260101T000000Z";
  b.h.synchronous = true;
  for (int i = 0; i < 3; ++i) b.ack("pg-00", 1, i * 100.0, -1, true).lsn = "0/30000" + std::to_string(i);
  b.ack("pg-01", 2, 300, -1, true);
  b.ack("pg-00", 1, 400, -1, true).notices = {"WARNING: canceling wait for synchronous replication"};
  b.failed(500).sqlstate = "25006";
  b.final_read("pg-01", 2, {2});
  b.h.faults.push_back({"kill", 250, 250});
  const PgCheckResult before = check_pg_history(b.h);
  const std::string text = pg_history_json(b.h, &before);
  auto parsed = parse_pg_history(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const PgCheckResult after = check_pg_history(*parsed);
  EXPECT_EQ(after.summary(), before.summary());
  EXPECT_EQ(after.findings.size(), before.findings.size());
  EXPECT_EQ(parsed->writes[4].notices, b.h.writes[4].notices);
  EXPECT_EQ(parsed->writes[5].sqlstate, "25006");
  EXPECT_EQ(parsed->final_reads[0].rows.size(), 4u);
  EXPECT_NE(text.find("\"passed\": false"), std::string::npos);
}

TEST(PgHistory, BadHistoriesNameWhatIsWrong) {
  auto bad = [](const std::string& text) {
    auto h = parse_pg_history(text);
    EXPECT_FALSE(h);
    return h ? std::string() : h.error().message;
  };
  EXPECT_NE(bad("[").find("not JSON"), std::string::npos);
  EXPECT_NE(bad("{}").find("writes: missing"), std::string::npos);
  const std::string w0 = R"({"id":1,"seq":1,"start_ms":0,"end_ms":1,"outcome":"acknowledged","node":"a","timeline":1})";
  EXPECT_NE(bad(R"({"writes":[)" + w0 + R"(,{"id":2,"seq":2,"start_ms":0,"end_ms":1,"outcome":"maybe"}]})")
                .find("writes[1].outcome: \"maybe\""),
            std::string::npos);
  EXPECT_NE(bad(R"({"writes":[)" + w0 + "," + w0 + "]}").find("writes[1].id: 1 twice"), std::string::npos);
  EXPECT_NE(bad(R"({"writes":[{"id":1,"seq":1,"start_ms":0,"end_ms":1,"outcome":"acknowledged"}]})")
                .find("writes[0]: an acknowledged write needs its node"),
            std::string::npos);
  EXPECT_NE(bad(R"({"writes":[{"id":1,"seq":1,"start_ms":5,"end_ms":1,"outcome":"failed"}]})")
                .find("writes[0]: end_ms is before start_ms"),
            std::string::npos);
}

// The recorded histories (fixtures/pg-writes/, README there says how each was made).

PgHistory load(const std::string& name) {
  std::ifstream in(source_dir() / "fixtures/pg-writes" / name);
  std::stringstream buf;
  buf << in.rdbuf();
  auto h = parse_pg_history(buf.str());
  EXPECT_TRUE(h) << name << ": " << (h ? "" : h.error().message);
  return h ? *h : PgHistory{};
}

TEST(PgHistory, RecordedSplitBrainIsCaught) {
  const PgHistory h = load("split-brain.json");
  const PgCheckResult r = check_pg_history(h);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.split_brain, 1) << r.summary();
  EXPECT_EQ(r.timeline_forks, 0);
  ASSERT_EQ(r.tenures.size(), 2u);
  EXPECT_EQ(r.tenures[0].str(), "pg-a/timeline 1");
  EXPECT_EQ(r.tenures[1].str(), "pg-b/timeline 2");
  // pg-b's rows are not on pg-a, where the final read went; asynchronous: counted only.
  EXPECT_EQ(r.lost, r.tenures[1].acknowledged);
  EXPECT_EQ(r.lost_sync, 0);
}

TEST(PgHistory, RecordedAsynchronousFailoverLossIsCounted) {
  const PgHistory h = load("async-failover-loss.json");
  const PgCheckResult r = check_pg_history(h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.lost, 4);
  EXPECT_EQ(r.lost_sync, 0);
  EXPECT_EQ(r.split_brain, 0);
  EXPECT_EQ(r.final_node, "pg-b/timeline 2");
  // The same history declared synchronous still passes: none of its commits was.
  PgHistory s = h;
  s.synchronous = true;
  EXPECT_TRUE(check_pg_history(s).passed());
}

TEST(PgHistory, RecordedSynchronousRunKeepsItsCommitsAndCountsTheWarnedOne) {
  const PgHistory h = load("sync-cancelled-wait.json");
  ASSERT_TRUE(h.synchronous);
  const PgCheckResult r = check_pg_history(h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.acknowledged_sync, 3);
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(r.lost_sync, 0);
  EXPECT_EQ(r.indeterminate, 1);
  // Had the server not warned, that loss would be a synchronous commit lost: a failure.
  PgHistory bad = h;
  for (auto& w : bad.writes) w.notices.clear();
  const PgCheckResult b = check_pg_history(bad);
  EXPECT_FALSE(b.passed());
  EXPECT_EQ(b.lost_sync, 1);
}

TEST(PgHistory, RecordedFailoverIsOnePrimaryAfterAnother) {
  const PgHistory h = load("failover.json");
  const PgCheckResult r = check_pg_history(h);
  EXPECT_TRUE(r.passed()) << r.summary();
  ASSERT_EQ(r.tenures.size(), 2u);
  EXPECT_LT(r.tenures[0].timeline, r.tenures[1].timeline);
  EXPECT_EQ(r.lost, 0);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_EQ(r.faults[0].tenure_before, r.tenures[0].str());
  EXPECT_EQ(r.faults[0].tenure_after, r.tenures[1].str());
  EXPECT_GT(r.faults[0].recovery_ms, 0);
}

// Real Patroni 3.0.2 clusters on loopback (README.md there): the writer's history and the
// role sampler's timeline of one run, on one clock.

RoleTimeline load_roles(const std::string& name) {
  std::ifstream in(source_dir() / "fixtures/pg-writes" / name);
  std::stringstream buf;
  buf << in.rdbuf();
  auto t = parse_role_timeline(buf.str());
  EXPECT_TRUE(t) << name << ": " << (t ? "" : t.error().message);
  return t ? *t : RoleTimeline{};
}

TEST(PgHistory, RecordedPatroniFailoverAfterAKill) {
  const PgCheckResult r = check_pg_history(load("patroni-kill-leader-writes.json"));
  const RoleTimeline t = load_roles("patroni-kill-leader-roles.json");
  EXPECT_TRUE(r.passed()) << r.summary();
  ASSERT_EQ(r.tenures.size(), 2u);
  EXPECT_EQ(r.tenures[0].str(), "pg-01/timeline 1");
  EXPECT_EQ(r.tenures[1].str(), "pg-02/timeline 2");
  EXPECT_EQ(r.split_brain, 0);
  // The killed postmaster's backend still acknowledged one insert that never reached the
  // new primary: lost, and counted only (asynchronous replication).
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(r.lost_sync, 0);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_GT(r.faults[0].recovery_ms, 15000);  // the leader key's ttl of 20 s, less a loop
  EXPECT_LT(r.faults[0].recovery_ms, 25000);
  // The sampler saw the same: pg-01 gone, pg-02 leader on timeline 2, none in between
  // for about as long as no write was acknowledged.
  const auto changes = t.changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].node, "pg-01");
  EXPECT_EQ(changes[0].to, PatroniRole::Unreachable);
  EXPECT_EQ(changes[1].node, "pg-02");
  EXPECT_EQ(changes[1].to, PatroniRole::Leader);
  EXPECT_EQ(changes[1].timeline, r.tenures[1].timeline);
  EXPECT_TRUE(t.two_leaders().empty());
  const auto none = t.no_leader();
  ASSERT_EQ(none.size(), 1u);
  EXPECT_NEAR(none[0].ms(), r.longest.ms(), 1000);
}

TEST(PgHistory, RecordedPatroniEtcdLossHasNoPrimaryUntilTheDcsReturns) {
  const PgCheckResult r = check_pg_history(load("patroni-etcd-loss-writes.json"));
  const RoleTimeline t = load_roles("patroni-etcd-loss-roles.json");
  EXPECT_TRUE(r.passed()) << r.summary();
  // Without failsafe the leader demotes itself, and the same node is promoted again (a
  // new timeline) once etcd answers.
  ASSERT_EQ(r.tenures.size(), 2u);
  EXPECT_EQ(r.tenures[0].node, r.tenures[1].node);
  EXPECT_EQ(r.tenures[0].timeline + 1, r.tenures[1].timeline);
  EXPECT_EQ(r.split_brain + r.timeline_forks + r.lost, 0);
  ASSERT_EQ(r.faults.size(), 1u);
  const PgFaultFigures& f = r.faults[0];
  EXPECT_GT(f.longest.from_ms, f.start_ms);  // writes went on for a while (ttl, retries)
  EXPECT_GT(f.longest.to_ms, f.end_ms);      // and came back only after etcd did
  bool demoted = false;
  for (const auto& c : t.changes()) demoted |= c.from == PatroniRole::Leader && c.to == PatroniRole::Demoted;
  EXPECT_TRUE(demoted);
  EXPECT_TRUE(t.two_leaders().empty());
}

}  // namespace
}  // namespace dcslab
