#include "pg/pg_writer.h"

#include <gtest/gtest.h>

#include "testing/fake_pg_client.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

struct WriterTest : ::testing::Test {
  FakeClock clock;
  std::shared_ptr<FakePgClient> client = std::make_shared<FakePgClient>(clock);
  PgWriterOptions options() {
    PgWriterOptions o;
    o.name = "w";
    o.run_id = "R";
    o.timeout = 1500ms;
    return o;
  }
};

TEST_F(WriterTest, AnAcknowledgedInsertRecordsTheNodeTimelineAndSync) {
  PgWriter w(options(), client, clock);
  client->connects.push_back({true, {"10.0.0.1", 5432}, "", 40ms});
  client->execs.push_back(FakePgClient::ack("pg-00", 2, true, 7ms));
  client->execs.push_back(FakePgClient::ack("pg-00", 0x1f, false, 3ms));
  w.step();
  w.step();
  const PgHistory h = w.history();
  ASSERT_EQ(h.writes.size(), 2u);
  const PgWrite& a = h.writes[0];
  EXPECT_EQ(a.outcome, PgOutcome::Acknowledged);
  EXPECT_EQ(a.node, "pg-00");
  EXPECT_EQ(a.timeline, 2);
  EXPECT_TRUE(a.sync);
  EXPECT_TRUE(a.connected);
  EXPECT_EQ(a.endpoint, "10.0.0.1:5432");
  EXPECT_EQ(a.lsn, "0/3000060");
  EXPECT_DOUBLE_EQ(a.start_ms, 0);
  EXPECT_DOUBLE_EQ(a.end_ms, 47);  // the connect is part of the write that needed it
  EXPECT_EQ(h.writes[1].timeline, 31);
  EXPECT_FALSE(h.writes[1].connected);
  EXPECT_FALSE(h.writes[1].sync);
  EXPECT_EQ(client->connect_calls, 1);
  // What was sent: the row, and the server asked who it is and on which timeline.
  EXPECT_EQ(client->params[0], (std::vector<std::string>{"w/R", "1", "w-1"}));
  EXPECT_EQ(client->params[1], (std::vector<std::string>{"w/R", "2", "w-2"}));
  EXPECT_NE(client->statements[0].find("INSERT INTO dcslab_writes (client, seq, value) VALUES ($1, $2, $3)"),
            std::string::npos);
  EXPECT_NE(client->statements[0].find("substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), std::string::npos);
  EXPECT_NE(client->statements[0].find("current_setting('dcslab.node', true)"), std::string::npos);
  EXPECT_EQ(client->timeouts[0], 1500ms);
  EXPECT_EQ(h.client, "w/R");
  EXPECT_EQ(h.conninfo, client->conninfo());
}

TEST_F(WriterTest, WithoutTheSettingTheNodeComesFromTheAddressMap) {
  PgWriterOptions o = options();
  o.node_names = {{"10.0.0.1:5432", "pg-00"}, {"10.0.0.2", "pg-01"}};
  PgWriter w(o, client, clock);
  auto e = FakePgClient::ack("", 1);
  e.reply.rows[0][0] = std::nullopt;  // dcslab.node not set
  client->execs.push_back(e);
  e.reply.rows[0][1] = "10.0.0.2";
  client->execs.push_back(e);
  e.reply.rows[0][1] = "10.0.0.3";
  client->execs.push_back(e);
  w.step();
  w.step();
  w.step();
  const PgHistory h = w.history();
  EXPECT_EQ(h.writes[0].node, "pg-00");
  EXPECT_EQ(h.writes[1].node, "pg-01");
  EXPECT_EQ(h.writes[2].node, "10.0.0.3:5432");  // unnamed: the address says which
}

TEST_F(WriterTest, AReadOnlyRefusalIsFailedAndTheConnectionKept) {
  PgWriter w(options(), client, clock);
  client->execs.push_back(FakePgClient::error(PgError::Kind::Rejected,
                                              "cannot execute INSERT in a read-only transaction", "25006"));
  client->execs.push_back(FakePgClient::ack("pg-00", 1));
  client->execs.push_back(FakePgClient::error(PgError::Kind::Rejected,
                                              "cannot execute INSERT in a read-only transaction", "25006"));
  w.step();
  w.step();
  w.step();
  const PgHistory h = w.history();
  EXPECT_EQ(h.writes[2].outcome, PgOutcome::Failed);
  EXPECT_EQ(h.writes[2].node, "pg-00");  // after an ack on this connection, the server's name
  EXPECT_EQ(h.writes[0].outcome, PgOutcome::Failed);
  EXPECT_EQ(h.writes[0].sqlstate, "25006");
  EXPECT_EQ(h.writes[0].error, "cannot execute INSERT in a read-only transaction");
  EXPECT_EQ(h.writes[0].node, "10.0.0.1:5432");  // the connection's node refused it
  EXPECT_EQ(h.writes[1].node, "pg-00");
  EXPECT_EQ(h.writes[1].outcome, PgOutcome::Acknowledged);
  EXPECT_EQ(client->connect_calls, 1);
}

TEST_F(WriterTest, ALostAnswerIsIndeterminateAndTheNextWriteReconnects) {
  PgWriter w(options(), client, clock);
  client->connects.push_back({true, {"10.0.0.1", 5432}, "", 0ms});
  client->connects.push_back({true, {"10.0.0.2", 5432}, "", 0ms});
  client->execs.push_back(FakePgClient::ack("pg-00", 1));
  client->execs.push_back(FakePgClient::error(PgError::Kind::Unknown, "no answer within 1500 ms", "", 1500ms));
  client->execs.push_back(FakePgClient::ack("pg-01", 2));
  w.step();
  w.step();
  w.step();
  const PgHistory h = w.history();
  EXPECT_EQ(h.writes[1].outcome, PgOutcome::Indeterminate);
  EXPECT_DOUBLE_EQ(h.writes[1].end_ms - h.writes[1].start_ms, 1500);
  EXPECT_TRUE(h.writes[2].connected);
  EXPECT_EQ(h.writes[2].endpoint, "10.0.0.2:5432");
  EXPECT_EQ(client->connect_calls, 2);
  EXPECT_EQ(check_pg_history(h).tenures.size(), 2u);
}

TEST_F(WriterTest, NoConnectionIsAFailedWriteAndNothingIsSent) {
  PgWriter w(options(), client, clock);
  client->connects.push_back({false, {}, "connection to server at \"10.0.0.1\", port 5432 failed: session is read-only", 30ms});
  client->execs.push_back(
      FakePgClient::error(PgError::Kind::NotSent, "the server had closed the connection: terminating connection"));
  w.step();
  EXPECT_TRUE(client->statements.empty());
  w.step();  // connects (default: ok), the server had closed it meanwhile
  const PgHistory h = w.history();
  ASSERT_EQ(h.writes.size(), 2u);
  EXPECT_EQ(h.writes[0].outcome, PgOutcome::Failed);
  EXPECT_NE(h.writes[0].error.find("no connection: connection to server"), std::string::npos);
  EXPECT_DOUBLE_EQ(h.writes[0].end_ms, 30);
  EXPECT_TRUE(h.writes[0].endpoint.empty());
  EXPECT_EQ(h.writes[1].outcome, PgOutcome::Failed);
  EXPECT_EQ(h.writes[0].seq + 1, h.writes[1].seq);  // every attempt is a new row
}

TEST_F(WriterTest, TheFinalReadWaitsForAPrimaryAndJoinsTheHistory) {
  PgWriter w(options(), client, clock);
  client->execs.push_back(FakePgClient::ack("pg-00", 1));
  client->execs.push_back(FakePgClient::ack("pg-00", 1));
  w.step();
  w.step();
  client->connects.push_back({false, {}, "no primary", 100ms});
  client->connects.push_back({false, {}, "no primary", 100ms});
  client->connects.push_back({true, {"10.0.0.2", 5432}, "", 100ms});
  FakePgClient::Exec id;
  id.reply.rows.push_back({std::string("pg-01"), std::string("10.0.0.2"), std::string("5432"), std::string("00000002")});
  client->execs.push_back(id);
  FakePgClient::Exec rows;
  rows.reply.rows.push_back({std::string("1"), std::string("w-1")});
  client->execs.push_back(rows);
  const PgFinalRead r = w.read_back(10s);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.node, "pg-01");
  EXPECT_EQ(r.timeline, 2);
  EXPECT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(client->disconnect_calls, 1);  // a new connection, to today's primary
  EXPECT_EQ(clock.sleeps, 2);
  EXPECT_EQ(client->params.back(), (std::vector<std::string>{"w/R"}));
  const PgHistory h = w.history();
  ASSERT_EQ(h.final_reads.size(), 1u);
  const PgCheckResult c = check_pg_history(h);
  EXPECT_EQ(c.lost, 1);  // w-2 is not there
  EXPECT_TRUE(c.passed());  // asynchronous
}

TEST_F(WriterTest, AFinalReadThatNeverAnswersIsRecordedAsSuch) {
  PgWriter w(options(), client, clock);
  for (int i = 0; i < 10; ++i) client->connects.push_back({false, {}, "no primary", 1000ms});
  const PgFinalRead r = w.read_back(3s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("no connection: no primary"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("attempts)"), std::string::npos) << r.error;
  EXPECT_EQ(w.history().final_reads.size(), 1u);
}

TEST_F(WriterTest, PrepareMakesTheTableAndATableNameMustBePlain) {
  PgWriter w(options(), client, clock);
  client->execs.push_back(FakePgClient::Exec{});
  ASSERT_TRUE(w.prepare());
  EXPECT_EQ(client->statements[0].rfind("CREATE TABLE IF NOT EXISTS dcslab_writes (", 0), 0u) << client->statements[0];
  PgWriterOptions o = options();
  o.table = "x; DROP TABLE y";
  EXPECT_THROW(PgWriter(o, client, clock), BadInput);
  EXPECT_TRUE(PgWriter::valid_table_name("_w2"));
  EXPECT_FALSE(PgWriter::valid_table_name("W"));
  EXPECT_FALSE(PgWriter::valid_table_name("2w"));
}

TEST_F(WriterTest, TheThreadWritesEveryIntervalUntilStopped) {
  PgWriterOptions o = options();
  o.interval = 20ms;
  PgWriter w(o, client, clock);
  for (int i = 0; i < 1000; ++i) client->execs.push_back(FakePgClient::ack("pg-00", 1));
  w.start();
  EXPECT_TRUE(w.running());
  std::this_thread::sleep_for(150ms);
  w.stop();
  w.stop();  // idempotent
  EXPECT_FALSE(w.running());
  const int n = static_cast<int>(w.history().writes.size());
  EXPECT_GE(n, 3);
  EXPECT_LE(n, 10);
  EXPECT_EQ(n, w.ticks());
}

}  // namespace
}  // namespace dcslab
