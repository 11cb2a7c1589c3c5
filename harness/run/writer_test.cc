#include "etcd/writer.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/paths.h"
#include "check/dcslab_history.h"
#include "check/history_file.h"
#include "check/linearizability.h"
#include "testing/fake_etcd_server.h"
#include "run/writer_steps.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

// Records every call; answers from a per-endpoint script (default: success), and moves
// the fake clock by 5 ms per call so operations have a duration.
class FakeKv : public KvApi {
 public:
  explicit FakeKv(FakeClock& clock) : clock_(clock) {}
  struct Call {
    std::string kind, endpoint, key, value;
  };
  std::vector<Call> calls;
  std::map<std::string, std::deque<EtcdError>> put_errors;  // endpoint -> next failures
  std::map<std::string, std::deque<EtcdError>> cas_errors;
  std::map<std::string, std::pair<std::string, std::int64_t>> store;
  std::int64_t revision = 1;

  EtcdResult<EtcdPutReply> put(const std::string& ep, const std::string& key, const std::string& value,
                               std::chrono::milliseconds) override {
    calls.push_back({"put", ep, key, value});
    clock_.advance(5ms);
    auto& q = put_errors[ep];
    if (!q.empty()) {
      EtcdError e = q.front();
      q.pop_front();
      return e;
    }
    store[key] = {value, ++revision};
    return EtcdPutReply{revision};
  }
  // A txn against the same store: compare, then put or report what is there.
  EtcdResult<EtcdCasReply> cas(const std::string& ep, const std::string& key, const EtcdCompare& c,
                               const std::string& value, std::chrono::milliseconds) override {
    calls.push_back({c.target == EtcdCompare::Target::Value ? "cas-value:" + c.value
                                                            : "cas-mod:" + std::to_string(c.mod_revision),
                     ep, key, value});
    clock_.advance(5ms);
    auto& q = cas_errors[ep];
    if (!q.empty()) {
      EtcdError e = q.front();
      q.pop_front();
      return e;
    }
    const auto it = store.find(key);
    const bool holds = c.target == EtcdCompare::Target::Value
                           ? it != store.end() && it->second.first == c.value
                           : (it == store.end() ? 0 : it->second.second) == c.mod_revision;
    EtcdCasReply r;
    r.succeeded = holds;
    if (holds) {
      store[key] = {value, ++revision};
    } else if (it != store.end()) {
      EtcdKv kv;
      kv.key = key;
      kv.value = it->second.first;
      kv.mod_revision = it->second.second;
      r.current = kv;
    }
    r.revision = revision;
    return r;
  }
  EtcdResult<EtcdRangeReply> get(const std::string& ep, const std::string& key, bool serializable,
                                 std::chrono::milliseconds) override {
    calls.push_back({serializable ? "sget" : "get", ep, key, ""});
    clock_.advance(5ms);
    EtcdRangeReply r;
    r.revision = revision;
    if (auto it = store.find(key); it != store.end()) {
      EtcdKv kv;
      kv.key = key;
      kv.value = it->second.first;
      kv.mod_revision = it->second.second;
      r.kvs.push_back(kv);
    }
    return r;
  }

 private:
  FakeClock& clock_;
};

WriterOptions options() {
  WriterOptions o;
  o.name = "w1";
  o.run_id = "R";
  o.endpoints = {"dcs-00", "dcs-01", "dcs-02"};
  o.keys = 4;
  return o;
}

TEST(Writer, PutsRoundRobinAndReadsBackThroughAnotherMember) {
  FakeClock clock;
  auto kv = std::make_shared<FakeKv>(clock);
  Writer w(options(), kv, clock);
  for (int i = 0; i < 5; ++i) w.step();
  const History h = w.history();
  ASSERT_EQ(h.ops.size(), 10u);
  EXPECT_EQ(h.prefix, "/dcslab/writes/w1/R/");
  const std::vector<std::string> put_via = {"dcs-00", "dcs-01", "dcs-02", "dcs-00", "dcs-01"};
  const std::vector<std::string> read_via = {"dcs-01", "dcs-02", "dcs-00", "dcs-01", "dcs-02"};
  for (int i = 0; i < 5; ++i) {
    const Op& p = h.ops[2 * i];
    const Op& g = h.ops[2 * i + 1];
    EXPECT_EQ(p.kind, OpKind::Put);
    EXPECT_EQ(p.key, "/dcslab/writes/w1/R/key-" + std::to_string(i % 4));
    EXPECT_EQ(p.value, "w1-" + std::to_string(i));
    EXPECT_EQ(p.endpoint, put_via[i]);
    EXPECT_EQ(p.status, OpStatus::Ok);
    EXPECT_EQ(p.revision, i + 2);
    EXPECT_EQ(p.end_ms - p.start_ms, 5.0);
    EXPECT_EQ(g.kind, OpKind::Get);
    EXPECT_EQ(g.endpoint, read_via[i]);
    EXPECT_TRUE(g.found);
    EXPECT_EQ(g.value, p.value);
    EXPECT_EQ(g.revision, p.revision);
    EXPECT_GE(g.start_ms, p.end_ms);
  }
  EXPECT_EQ(kv->calls[1].kind, "get");  // linearizable, not serializable
  EXPECT_TRUE(check_history(h).passed());
}

TEST(Writer, AnUnreachableMemberIsSkippedAndATimeoutIsIndeterminate) {
  FakeClock clock;
  auto kv = std::make_shared<FakeKv>(clock);
  WriterOptions o = options();
  o.reads = false;
  o.down_for = 1s;
  Writer w(o, kv, clock);
  kv->put_errors["dcs-00"] = {{EtcdError::Kind::NotSent, "dcs-00: cannot connect: Connection refused"}};
  kv->put_errors["dcs-01"] = {{EtcdError::Kind::Unknown, "dcs-01: no answer within 2000 ms"}};
  w.step();  // dcs-00 refused -> dcs-01 at once, new value: times out
  w.step();  // starts at dcs-01 (round robin), ok
  w.step();  // dcs-02 ok
  w.step();  // dcs-00 is still skipped (down for 1 s): dcs-01 first
  clock.advance(2s);
  w.step();  // dcs-01, dcs-02, then dcs-00 again: it is back in the rotation
  w.step();
  w.step();
  const History h = w.history();
  ASSERT_EQ(h.ops.size(), 8u);
  EXPECT_EQ(h.ops[0].endpoint, "dcs-00");
  EXPECT_EQ(h.ops[0].status, OpStatus::Failed);
  EXPECT_EQ(h.ops[1].endpoint, "dcs-01");
  EXPECT_EQ(h.ops[1].status, OpStatus::Indeterminate);
  EXPECT_NE(h.ops[1].value, h.ops[0].value);  // every attempt writes its own value
  EXPECT_EQ(h.ops[1].error, "dcs-01: no answer within 2000 ms");
  EXPECT_EQ(h.ops[2].endpoint, "dcs-01");
  EXPECT_EQ(h.ops[3].endpoint, "dcs-02");
  EXPECT_EQ(h.ops[4].endpoint, "dcs-01");  // dcs-00's turn, but it is down: it goes last
  EXPECT_EQ(h.ops[4].status, OpStatus::Ok);
  EXPECT_EQ(h.ops[7].endpoint, "dcs-00");
  EXPECT_EQ(h.ops[7].status, OpStatus::Ok);
  const CheckResult r = check_history(h);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.indeterminate, 1);
  EXPECT_EQ(r.acknowledged, 6);
}

TEST(Writer, ACasShareCompareAndSetsAgainstWhatTheWriterLastKnew) {
  FakeClock clock;
  auto kv = std::make_shared<FakeKv>(clock);
  WriterOptions o = options();
  o.keys = 1;
  o.reads = false;
  o.cas = 0.5;  // every second write
  Writer w(o, kv, clock);
  const std::string k = "/dcslab/writes/w1/R/key-0";
  w.step();  // seq 0: put w1-0 (revision 2)
  w.step();  // seq 1: cas on the value "w1-0" -> w1-1: swaps (revision 3)
  kv->put_errors["dcs-02"] = {{EtcdError::Kind::Unknown, "dcs-02: no answer within 2000 ms"}};
  w.step();  // seq 2: put w1-2 through dcs-02: no answer...
  kv->store[k] = {"w1-2", ++kv->revision};  // ...and it took effect (revision 4)
  w.step();  // seq 3: cas on mod revision 3 (what the writer last knew): does not swap
  w.step();  // seq 4: put w1-4 (revision 5)
  w.step();  // seq 5: cas on the value "w1-4": swaps (revision 6)
  const History h = w.history();
  ASSERT_EQ(h.ops.size(), 6u);
  EXPECT_EQ(h.ops[1].kind, OpKind::Cas);
  EXPECT_EQ(h.ops[1].expect_value, "w1-0");
  EXPECT_FALSE(h.ops[1].expect_revision.has_value());
  EXPECT_TRUE(h.ops[1].swapped);
  EXPECT_EQ(h.ops[1].revision, 3);
  EXPECT_EQ(h.ops[2].status, OpStatus::Indeterminate);
  EXPECT_EQ(h.ops[3].kind, OpKind::Cas);
  EXPECT_EQ(h.ops[3].status, OpStatus::Ok);
  ASSERT_TRUE(h.ops[3].expect_revision.has_value());
  EXPECT_EQ(*h.ops[3].expect_revision, 3);
  EXPECT_FALSE(h.ops[3].swapped);
  EXPECT_EQ(h.ops[3].revision, 0);
  EXPECT_EQ(h.ops[5].expect_value, "w1-4");  // learnt from the put's answer
  EXPECT_TRUE(h.ops[5].swapped);
  // What the fake was asked: compare by value, then by revision, then by value.
  std::vector<std::string> asked;
  for (const auto& c : kv->calls) asked.push_back(c.kind);
  EXPECT_EQ(asked, (std::vector<std::string>{"put", "cas-value:w1-0", "put", "cas-mod:3", "put",
                                             "cas-value:w1-4"}));
  EXPECT_EQ(kv->store[k].first, "w1-5");
  const CheckResult r = check_history(h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.cas, 3);
  EXPECT_EQ(r.cas_swapped, 2);
  EXPECT_EQ(r.cas_not_swapped, 1);
  EXPECT_NE(r.summary().find("; cas 3: swapped 2, not swapped 1, failed 0, indeterminate 0"), std::string::npos);
  // The checker judges the cas ops: linearizable as recorded (the unanswered put explains
  // the cas that did not swap)...
  EXPECT_EQ(check_linearizable(kv_history(h)).verdict, Verdict::Linearizable);
  // ...and the saved JSON says the same to the offline reader.
  const KvHistory saved = read_dcslab_history(history_json(h), "h.json");
  ASSERT_EQ(saved.ops.size(), 6u);
  EXPECT_EQ(saved.ops[3].kind, KvKind::Cas);
  EXPECT_EQ(saved.ops[3].expected_revision, std::optional<std::int64_t>(3));
  EXPECT_FALSE(saved.ops[3].swapped);
  EXPECT_EQ(saved.ops[1].expected, std::optional<std::string>("w1-0"));
  EXPECT_EQ(check_linearizable(saved).verdict, Verdict::Linearizable);
  // A cas that claimed to swap against a value already overwritten is caught.
  History forged = h;
  forged.ops[3].expect_revision.reset();
  forged.ops[3].expect_value = "w1-0";  // overwritten by #2, acknowledged before #4 began
  forged.ops[3].swapped = true;
  forged.ops[3].revision = 5;
  forged.ops[4].revision = 6;
  forged.ops[5].revision = 7;
  const LinearizabilityResult bad = check_linearizable(kv_history(forged));
  ASSERT_EQ(bad.verdict, Verdict::NotLinearizable) << bad.report();
  EXPECT_NE(bad.report().find("cas #4"), std::string::npos) << bad.report();
}

TEST(Writer, ACasWithoutAnAnswerIsIndeterminateAndAnUnreachableMemberIsSkipped) {
  FakeClock clock;
  auto kv = std::make_shared<FakeKv>(clock);
  WriterOptions o = options();
  o.keys = 1;
  o.reads = false;
  o.cas = 1;  // every write
  Writer w(o, kv, clock);
  kv->cas_errors["dcs-00"] = {{EtcdError::Kind::NotSent, "dcs-00: cannot connect: Connection refused"}};
  w.step();  // dcs-00 refused -> dcs-01 at once: the key is absent, revision 0 holds
  kv->cas_errors["dcs-01"] = {{EtcdError::Kind::Unknown, "dcs-01: no answer within 2000 ms"}};
  w.step();  // dcs-01's turn (dcs-00 is skipped, down): no answer
  const History h = w.history();
  ASSERT_EQ(h.ops.size(), 3u);
  EXPECT_EQ(h.ops[0].status, OpStatus::Failed);
  EXPECT_EQ(h.ops[1].endpoint, "dcs-01");
  EXPECT_EQ(h.ops[1].expect_revision, std::optional<std::int64_t>(0));
  EXPECT_TRUE(h.ops[1].swapped);
  EXPECT_EQ(h.ops[2].status, OpStatus::Indeterminate);
  EXPECT_EQ(h.ops[2].error, "dcs-01: no answer within 2000 ms");
  EXPECT_EQ(h.ops[2].expect_value, "w1-1");  // what the swapped cas wrote
  const CheckResult r = check_history(h);
  EXPECT_EQ(r.cas_failed, 1);
  EXPECT_EQ(r.cas_indeterminate, 1);
  EXPECT_EQ(check_linearizable(kv_history(h)).verdict, Verdict::Linearizable);
}

TEST(Writer, TheThreadWritesEveryIntervalUntilStopped) {
  static FakeClock op_clock;  // the fake moves it; the writer times with the real one
  auto kv = std::make_shared<FakeKv>(op_clock);
  WriterOptions o = options();
  o.interval = 20ms;
  Writer w(o, kv, RealClock::instance());
  w.start();
  EXPECT_TRUE(w.running());
  std::this_thread::sleep_for(250ms);
  w.stop();
  EXPECT_FALSE(w.running());
  const int ticks = w.ticks();
  EXPECT_GE(ticks, 5);
  EXPECT_LE(ticks, 14);
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(w.ticks(), ticks);  // stopped means stopped
  w.stop();                     // idempotent
}

// check_writes through a fake etcd gateway on loopback: final reads, hashes, artifact.
TEST(Writers, CheckReadsBackEveryKeyAndSavesTheHistory) {
  const TestPki pki = TestPki::make();
  FakeEtcd etcd;
  etcd.hashkv_available = false;  // like 3.4: the digest of a range is compared instead
  TestHttpsServer server(pki, [&](const TestRequest& r) { return etcd(r); });
  // Three "members", all the same server: an undivided cluster.
  std::vector<EtcdEndpoint> eps;
  for (const char* n : {"dcs-00", "dcs-01", "dcs-02"}) eps.push_back({n, "127.0.0.1", server.port()});
  auto client = std::make_shared<EtcdClient>(eps, TlsClientConfig{pki.ca_pem(), "", ""}, "root", "pw");
  WriterOptions o = options();
  auto writer = std::make_unique<Writer>(o, client, RealClock::instance());
  for (int i = 0; i < 6; ++i) writer->step();
  Writers writers;
  writers.add_for_test("w1", std::move(writer), client);

  const auto dir = std::filesystem::temp_directory_path() / ("dcslab-writers-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Redactor redactor;
  redactor.add("pw");
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", dir, redactor, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_TRUE(failures.empty());
  EXPECT_EQ(command, "check_writes w1");
  EXPECT_NE(r->out.find("acknowledged 6, failed 0, indeterminate 0; reads 6 (final 12); lost 0"),
            std::string::npos)
      << r->out;
  EXPECT_NE(r->out.find("dcs-02 range-sha256 "), std::string::npos) << r->out;
  const auto file = dir / "writes-faults-w1.json";
  ASSERT_TRUE(std::filesystem::exists(file));
  std::ifstream in(file);
  std::stringstream buf;
  buf << in.rdbuf();
  auto h = parse_history(buf.str());
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->hashes.size(), 3u);
  EXPECT_EQ(h->hashes[0].hash, h->hashes[2].hash);
  EXPECT_EQ(buf.str().find("\"pw\""), std::string::npos);

  // A key lost behind the client's back is caught.
  {
    std::lock_guard lock(etcd.mu);
    etcd.kvs.erase(etcd.kvs.begin());
  }
  CheckWritesSpec again = spec;
  auto writer2 = std::make_unique<Writer>(o, client, RealClock::instance());
  for (int i = 0; i < 6; ++i) writer2->step();
  {
    std::lock_guard lock(etcd.mu);
    etcd.kvs.erase(etcd.kvs.begin());
  }
  writers.add_for_test("w1", std::move(writer2), client);
  failures.clear();
  auto bad = writers.check(again, "faults", dir, redactor, &command, &failures);
  ASSERT_TRUE(bad) << bad.error().message;
  EXPECT_EQ(bad->exit_status, 1) << bad->out;
  ASSERT_FALSE(failures.empty());
  EXPECT_EQ(failures[0], "check_writes: lost keys 1");
  std::filesystem::remove_all(dir);
}

// A clock that moves a millisecond every time it is read: any time budget runs out.
class SteppingClock : public Clock {
 public:
  time_point now() override { return t_ += std::chrono::milliseconds(1); }
  void sleep_for(duration d) override { t_ += d; }

 private:
  time_point t_{};
};

// Three "members" on one fake gateway, a writer that made `steps` ticks, in `writers`.
struct FakeCluster {
  TestPki pki = TestPki::make();
  FakeEtcd etcd;
  TestHttpsServer server{pki, [this](const TestRequest& r) { return etcd(r); }};
  std::shared_ptr<EtcdClient> client;
  FakeCluster() {
    std::vector<EtcdEndpoint> eps;
    for (const char* n : {"dcs-00", "dcs-01", "dcs-02"}) eps.push_back({n, "127.0.0.1", server.port()});
    client = std::make_shared<EtcdClient>(eps, TlsClientConfig{pki.ca_pem(), "", ""}, "root", "pw");
  }
  Writer* add(Writers& writers, WriterOptions o, int steps) {
    auto writer = std::make_unique<Writer>(o, client, RealClock::instance());
    for (int i = 0; i < steps; ++i) writer->step();
    Writer* w = writer.get();
    writers.add_for_test(o.name, std::move(writer), client, [this] { return new_client(); });
    return w;
  }
  std::unique_ptr<EtcdClient> new_client() {
    return std::make_unique<EtcdClient>(client->endpoints(), TlsClientConfig{pki.ca_pem(), "", ""}, "root", "pw");
  }
};

std::string read_text(const std::filesystem::path& f) {
  std::ifstream in(f);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(Writers, ModelLinearizablePassesALinearizableRunAndSavesTheVerdict) {
  FakeCluster c;
  Writers writers;
  c.add(writers, options(), 12);
  const auto dir = std::filesystem::temp_directory_path() / ("dcslab-model-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  spec.model = CheckWritesSpec::Model::Linearizable;
  spec.budget = 30s;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", dir, Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_TRUE(failures.empty());
  EXPECT_NE(r->out.find("linearizability (budget 30s, took "), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("s): linearizable"), std::string::npos) << r->out;
  const std::string saved = read_text(dir / "writes-faults-w1.json");
  const auto j = nlohmann::json::parse(saved);
  ASSERT_TRUE(j.contains("linearizability")) << saved.substr(0, 400);
  EXPECT_EQ(j["linearizability"]["verdict"], "linearizable");
  // 12 puts, 12 reads back, 4 keys x 3 members of final reads: every op went to the checker.
  EXPECT_EQ(j["linearizability"]["ops"], 12 + 12 + 12);
  // The saved history is what `dcslab check history` re-checks, with the same verdict.
  EXPECT_EQ(check_history_file(dir / "writes-faults-w1.json").verdict, Verdict::Linearizable);
  std::filesystem::remove_all(dir);
}

// The timeline's data, out of the page check_writes saved.
nlohmann::json timeline_data(const std::filesystem::path& page) {
  const std::string text = read_text(page);
  const std::string open = "<script type=\"application/json\" id=\"data\">";
  const auto a = text.find(open);
  const auto b = text.find("</script>", a);
  EXPECT_NE(a, std::string::npos);
  return nlohmann::json::parse(text.substr(a + open.size(), b - a - open.size()));
}

TEST(Writers, CheckDrawsTheHistoryWithItsFaultsAndFindings) {
  FakeCluster c;
  Writers writers;
  c.add(writers, options(), 8);
  auto crash = writers.now_all();
  ASSERT_EQ(crash.size(), 1u);
  writers.mark_faults(FaultKind::Crash, "dcs-01", crash);
  writers.mark_faults(FaultKind::Kill, "dcs-02", writers.now_all());
  writers.mark_faults(FaultKind::Start, "dcs-01", writers.now_all());
  {
    std::lock_guard lock(c.etcd.mu);
    c.etcd.kvs.erase(c.etcd.kvs.begin());  // a key lost behind the writer's back
  }
  const auto dir = std::filesystem::temp_directory_path() / ("dcslab-timeline-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", dir, Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 1) << r->out;
  const auto page = dir / "writes-faults-w1.html";
  EXPECT_NE(r->out.find("timeline: " + page.string()), std::string::npos) << r->out;
  const auto d = timeline_data(page);
  const auto saved = parse_history(read_text(dir / "writes-faults-w1.json"));
  ASSERT_TRUE(saved);
  EXPECT_EQ(d["ops"].size(), saved->ops.size());
  ASSERT_EQ(d["faults"].size(), 2u);
  EXPECT_EQ(d["faults"][0]["label"], "dcs-01 crashed");
  EXPECT_EQ(d["faults"][1]["label"], "kill on dcs-02");
  EXPECT_LE(d["faults"][0]["from"].get<double>(), d["faults"][1]["from"].get<double>());
  EXPECT_GE(d["faults"][0]["to"].get<double>(), d["faults"][1]["to"].get<double>());
  bool lost = false;
  for (const auto& f : d["findings"])
    if (f["kind"] == "lost") lost = !f["ops"].empty();  // pointing at the final read that showed it
  EXPECT_TRUE(lost) << d["findings"].dump();
  EXPECT_TRUE(d["bad"].get<bool>());
  std::filesystem::remove_all(dir);
}

TEST(FaultBands, PairEachFaultWithWhatUndoesItOnTheSameNode) {
  const std::vector<FaultMark> marks = {
      {FaultKind::Crash, "dcs-01", 100, 110}, {FaultKind::Partition, "dcs-02", 200, 205},
      {FaultKind::Crash, "dcs-01", 250, 251},  // already down: the first crash counts
      {FaultKind::Start, "dcs-01", 300, 340}, {FaultKind::Heal, "dcs-00", 350, 351},  // nothing to heal
      {FaultKind::Pause, "dcs-00", 400, 401}};
  const auto bands = fault_bands(marks, 1000);
  ASSERT_EQ(bands.size(), 3u);
  EXPECT_EQ(bands[0].label, "dcs-01 crashed");
  EXPECT_EQ(bands[0].from, 100);
  EXPECT_EQ(bands[0].to, 340);   // until its start step was done
  EXPECT_EQ(bands[1].label, "dcs-02 partitioned");
  EXPECT_EQ(bands[1].to, 1000);  // never healed: to the history's end
  EXPECT_EQ(bands[2].label, "dcs-00 paused");
}

TEST(Writers, WithoutAModelNoLinearizabilityCheckRuns) {
  FakeCluster c;
  Writers writers;
  c.add(writers, options(), 3);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", "", Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_EQ(r->out.find("linearizability"), std::string::npos) << r->out;
}

TEST(Writers, ATinyBudgetIsUndecidedAndFailsTheStep) {
  FakeCluster c;
  Writers writers;
  c.add(writers, options(), 6);
  SteppingClock clock;
  writers.set_model_clock_for_test(&clock);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  spec.model = CheckWritesSpec::Model::Linearizable;
  spec.budget = 1ms;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", "", Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 1) << r->out;  // the writer's own checks pass; undecided is no pass
  EXPECT_NE(r->out.find("lost 0, stale 0, unexplained 0, diverged 0"), std::string::npos) << r->out;
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("check_writes: undecided: the linearizability checker's budget (1ms) ran out", 0), 0u)
      << failures[0];
  EXPECT_NE(r->out.find("s): undecided"), std::string::npos) << r->out;
}

// A writer with compare-and-sets through the fake gateway's txn, judged by the model.
TEST(Writers, CasRunThroughTheGatewayIsLinearizable) {
  FakeCluster c;
  Writers writers;
  WriterOptions o = options();
  o.cas = 0.4;
  c.add(writers, o, 20);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 5s;
  spec.model = CheckWritesSpec::Model::Linearizable;
  std::string command;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", "", Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_NE(r->out.find("writer w1: 12 puts and 8 cas in "), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("; cas 8: swapped 8, not swapped 0"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("s): linearizable"), std::string::npos) << r->out;
  std::lock_guard lock(c.etcd.mu);
  EXPECT_EQ(c.etcd.txns.size(), 8u);
}

WatcherSpec watcher_spec(const std::string& op_name = "wa") {
  WatcherSpec w;
  w.name = op_name;
  w.writer = "w1";
  w.endpoints = {"dcs-00", "dcs-01", "dcs-02"};
  w.idle = 2s;
  return w;
}

// A watcher of the writer, through streams the fake cuts every three responses: the
// watches re-watch and deliver every write; check_writes judges them and saves the record.
TEST(Writers, CheckWritesJudgesTheWatchersOfTheWriter) {
  FakeCluster c;
  c.etcd.watch_cut_after = 3;
  Writers writers;
  WriterOptions o = options();
  o.cas = 0.3;
  Writer* writer = c.add(writers, o, 1);
  std::string command;
  auto started = writers.start_watcher(watcher_spec(), &command);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->exit_status, 0);
  const std::string prefix = writer->history().prefix;
  EXPECT_NE(started->out.find("watching " + prefix + " from revision "), std::string::npos) << started->out;
  EXPECT_NE(command.find("watcher wa starts: 3 watches of " + prefix), std::string::npos) << command;
  for (int i = 0; i < 12; ++i) writer->step();  // after the watcher's start: each must be delivered

  const auto dir = std::filesystem::temp_directory_path() / ("dcslab-watch-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 20s;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", dir, Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_NE(r->out.find("watcher wa: watches 3, sessions "), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("reordered 0, duplicated 0, split 0, missed 0, resume-missed 0"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("watcher wa caught up with revision"), std::string::npos) << r->out;
  auto saved = parse_watch_history(read_text(dir / "watches-faults-wa.json"));
  ASSERT_TRUE(saved) << saved.error().message;
  ASSERT_EQ(saved->watches.size(), 3u);
  int acked = 0;
  for (const auto& op : writer->history().ops)
    acked += op.kind != OpKind::Get && op.status == OpStatus::Ok && (op.kind == OpKind::Put || op.swapped) &&
             op.start_ms > 0;
  for (const auto& w : saved->watches) {
    EXPECT_GE(w.sessions.size(), 2u) << w.id;  // cut every three responses: re-watched
    EXPECT_GE(static_cast<int>(w.events.size()), 11) << w.id;  // the 12 ticks' acknowledged writes
  }
  EXPECT_NE(read_text(dir / "watches-faults-wa.json").find("\"passed\": true"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// A write under the writer's prefix that the writer never made shows up in every watch:
// check_writes fails and names it.
TEST(Writers, AnEventNoWriteExplainsFailsCheckWrites) {
  FakeCluster c;
  Writers writers;
  Writer* writer = c.add(writers, options(), 1);
  std::string command;
  ASSERT_TRUE(writers.start_watcher(watcher_spec(), &command));
  for (int i = 0; i < 4; ++i) writer->step();
  auto intruder = c.new_client();
  ASSERT_TRUE(intruder->put("dcs-00", writer->history().prefix + "key-0", "not-the-writers", 2s));
  writer->step();
  CheckWritesSpec spec;
  spec.name = "w1";
  spec.timeout = 20s;
  std::vector<std::string> failures;
  auto r = writers.check(spec, "faults", "", Redactor{}, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 1) << r->out;
  ASSERT_FALSE(failures.empty());
  bool named = false;
  for (const auto& f : failures)
    named = named || (f.rfind("unexplained: wa-", 0) == 0 && f.find("\"not-the-writers\"") != std::string::npos &&
                      f.find("no write of the history wrote that value") != std::string::npos);
  EXPECT_TRUE(named) << r->out;
}

// The corpus' read pair: today's checks pass it; the model does not, and says why.
TEST(CheckModel, ACorpusAnomalyTheWritersChecksMissFailsWithItsShortestPrefix) {
  const auto file = source_dir() / "fixtures" / "histories" / "read-pair.json";
  auto written = parse_history(read_text(file));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(check_history(*written).passed());
  const ModelCheck m = check_model(read_dcslab_history_file(file), 10s);
  EXPECT_FALSE(m.passed());
  EXPECT_EQ(m.result.verdict, Verdict::NotLinearizable);
  ASSERT_GE(m.failures.size(), 2u);
  EXPECT_EQ(m.failures[0].rfind("check_writes: not linearizable: not linearizable: read-pair", 0), 0u)
      << m.failures[0];
  EXPECT_NE(m.failures[1].find("shortest"), std::string::npos) << m.failures[1];
  EXPECT_NE(m.report.find("#5"), std::string::npos) << m.report;  // the read that went back
  // The same history through the writer's types gives the same verdict.
  EXPECT_EQ(check_model(kv_history(*written), 10s).result.verdict, Verdict::NotLinearizable);
}

TEST(WriterCert, HasNoCommonNameAndChainsToTheCa) {
  const TestPki pki = TestPki::make();
  auto key = generate_key(KeySpec{KeySpec::Type::EcP256, 0});
  ASSERT_TRUE(key);
  auto cert = issue_client_cert(pki.ca, **key, writer_cert_options());
  ASSERT_TRUE(cert) << cert.error().message;
  const CertInfo info = describe(**cert);
  EXPECT_EQ(info.subject, "O=dcslab-writer");
  EXPECT_EQ(info.ext_key_usage, std::vector<std::string>{"clientAuth"});
  EXPECT_TRUE(verify_chain(*pki.ca.cert, **cert));
  EXPECT_TRUE(check_key_matches(**cert, **key));
}

TEST(WriterCert, DigestDependsOnEveryField) {
  EtcdKv a{"k", "v", 2, 3, 1, 0};
  const std::string base = kv_digest({a});
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(kv_digest({a}), base);
  EtcdKv b = a;
  b.mod_revision = 4;
  EXPECT_NE(kv_digest({b}), base);
  b = a;
  b.value = "w";
  EXPECT_NE(kv_digest({b}), base);
  // Lengths are part of it: ("ab","c") is not ("a","bc").
  EXPECT_NE(kv_digest({EtcdKv{"ab", "c", 1, 1, 1, 0}}), kv_digest({EtcdKv{"a", "bc", 1, 1, 1, 0}}));
}

}  // namespace
}  // namespace dcslab
