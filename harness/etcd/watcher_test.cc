// The Watcher against the fake etcd's live watches (testing/fake_etcd_server.h): every
// write after the start is delivered once, in order; a cut stream is re-watched through
// the next member from the last revision + 1; a compacted start ends the watch; stop()
// ends every stream at once. The record passes (or fails) the watch check.
#include "etcd/watcher.h"

#include <gtest/gtest.h>

#include "testing/fake_etcd_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

class WatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(TestPki::make()); }
  static void TearDownTestSuite() { delete pki_; }
  static TestPki* pki_;
  FakeEtcd etcd_;
  std::unique_ptr<TestHttpsServer> server_ =
      std::make_unique<TestHttpsServer>(*pki_, [this](const TestRequest& r) { return etcd_(r); });
  // Two names for the one fake member: the watcher's turn from one to the next shows.
  std::unique_ptr<EtcdClient> client() {
    return std::make_unique<EtcdClient>(
        std::vector<EtcdEndpoint>{{"dcs-00", "127.0.0.1", server_->port()}, {"dcs-01", "127.0.0.1", server_->port()}},
        TlsClientConfig{pki_->ca_pem(), "", ""}, "root", "pw");
  }
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count(); }
  WatcherOptions options(std::vector<std::string> eps) {
    WatcherOptions o;
    o.name = "wa";
    o.writer = "w1";
    o.prefix = "/w/";
    o.endpoints = std::move(eps);
    o.idle = 2s;
    o.retry = 50ms;
    return o;
  }
  // Puts `n` values under /w/ (and one elsewhere), recorded as the writer would.
  KvHistory put(EtcdClient& c, int n) {
    KvHistory h;
    for (int i = 0; i < n; ++i) {
      KvOp op;
      op.key = "/w/key-" + std::to_string(i % 2);
      op.value = "w1-" + std::to_string(i);
      op.call = now_ms();
      auto r = c.put("dcs-00", op.key, *op.value, 2s);
      op.ret = now_ms();
      EXPECT_TRUE(r) << r.error().message;
      op.revision = r ? r->revision : 0;
      op.name = "#" + std::to_string(i + 1);
      h.ops.push_back(op);
      if (i == 1) (void)c.put("dcs-00", "/elsewhere", "x", 2s);
      std::this_thread::sleep_for(10ms);
    }
    return h;
  }
  // Until every watch delivered `revision` (or 5 s).
  static void until_reached(const Watcher& w, std::int64_t revision) {
    for (int i = 0; i < 500 && w.reached() < revision; ++i) std::this_thread::sleep_for(10ms);
  }
};
TestPki* WatcherTest::pki_ = nullptr;

TEST_F(WatcherTest, EveryWriteAfterTheStartIsDeliveredOnceThroughEachWatch) {
  auto c = client();
  ASSERT_TRUE(c->put("dcs-00", "/w/before", "old", 2s));  // before the start: not delivered
  Watcher w(options({"dcs-00", "dcs-01"}), [this] { return client(); }, [this] { return now_ms(); },
            RealClock::instance());
  auto from = w.start();
  ASSERT_TRUE(from) << from.error().message;
  EXPECT_EQ(*from, etcd_.revision + 1);
  const KvHistory h = put(*c, 6);
  until_reached(w, h.ops.back().revision);
  w.stop();
  const WatchHistory rec = w.history();
  ASSERT_EQ(rec.watches.size(), 2u);
  for (const auto& watch : rec.watches) {
    ASSERT_EQ(watch.events.size(), 6u) << watch.id;
    EXPECT_EQ(watch.events.front().value, "w1-0");
    EXPECT_EQ(watch.sessions.front().start_revision, *from);
    EXPECT_EQ(watch.sessions.back().end, "stopped");
  }
  EXPECT_EQ(rec.watches[0].sessions.front().endpoint, "dcs-00");
  EXPECT_EQ(rec.watches[1].sessions.front().endpoint, "dcs-01");
  const WatchCheckResult r = check_watches(rec, h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.events, 12);
}

TEST_F(WatcherTest, ACutStreamIsReWatchedFromTheLastRevisionPlusOne) {
  etcd_.watch_cut_after = 2;  // every stream breaks after two event responses
  auto c = client();
  Watcher w(options({"dcs-00"}), [this] { return client(); }, [this] { return now_ms(); },
            RealClock::instance());
  ASSERT_TRUE(w.start());
  // A member that cuts every stream after two responses: three sessions at least.
  const KvHistory h = put(*c, 6);
  until_reached(w, h.ops.back().revision);
  w.stop();
  const Watch watch = w.history().watches.at(0);
  ASSERT_EQ(watch.events.size(), 6u);
  ASSERT_GE(watch.sessions.size(), 3u);
  // Each re-watch starts right after the last delivered revision.
  for (std::size_t i = 1; i < watch.sessions.size(); ++i) {
    std::int64_t last = 0;
    for (const auto& e : watch.events)
      if (e.session < static_cast<int>(i)) last = std::max(last, e.revision);
    EXPECT_EQ(watch.sessions[i].start_revision, last + 1) << "session " << i;
  }
  // Only one member was named: every re-watch is through it.
  EXPECT_EQ(watch.sessions[1].endpoint, "dcs-00");
  EXPECT_NE(watch.sessions[0].end.find("dcs-00"), std::string::npos) << watch.sessions[0].end;
  const WatchCheckResult r = check_watches(w.history(), h);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_GE(r.resumed, 2);
  // Every watch request the fake got: the first from the start, then from last + 1.
  ASSERT_GE(etcd_.watches.size(), 3u);
  EXPECT_EQ(etcd_.watches[0]["key"], base64_encode("/w/"));
  EXPECT_EQ(etcd_.watches[0]["range_end"], base64_encode("/w0"));
}

TEST_F(WatcherTest, AReWatchIntoACompactedRevisionEndsTheWatchAndIsUnverified) {
  auto c = client();
  Watcher w(options({"dcs-00"}), [this] { return client(); }, [this] { return now_ms(); },
            RealClock::instance());
  etcd_.compacted = 1000;  // everything: the first watch is already refused
  ASSERT_TRUE(w.start());
  for (int i = 0; i < 200 && w.history().watches[0].sessions.empty(); ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);
  const WatchHistory rec = w.history();
  w.stop();
  ASSERT_EQ(rec.watches[0].sessions.size(), 1u);  // not retried
  EXPECT_EQ(rec.watches[0].sessions[0].compact_revision, 1000);
  EXPECT_EQ(rec.watches[0].sessions[0].end, "canceled: compacted up to revision 1000");
  const WatchCheckResult r = check_watches(rec, KvHistory{});
  EXPECT_EQ(r.unverified, 2) << r.summary();  // compacted, and no event at all
}

TEST_F(WatcherTest, StopEndsSilentStreamsAtOnce) {
  Watcher w(options({"dcs-00", "dcs-01", "dcs-00"}), [this] { return client(); },
            [this] { return now_ms(); }, RealClock::instance());
  ASSERT_TRUE(w.start());
  std::this_thread::sleep_for(100ms);
  const auto t = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t, 1s);  // not the 2 s idle limit
}

TEST_F(WatcherTest, NoMemberAnsweringIsAnErrorAtStart) {
  WatcherOptions o = options({"dcs-00"});
  Watcher w(o, [] {
    return std::make_unique<EtcdClient>(std::vector<EtcdEndpoint>{{"dcs-00", "127.0.0.1", 1}},
                                        TlsClientConfig{}, "", "");
  }, [] { return 0.0; }, RealClock::instance());
  auto r = w.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no member told the revision to watch from"), std::string::npos);
  EXPECT_NE(r.error().message.find("dcs-00"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace dcslab
