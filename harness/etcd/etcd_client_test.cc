#include "etcd/etcd_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <sstream>

#include "base/paths.h"

#include "base/text.h"
#include "testing/fake_etcd_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(TestPki::make()); }
  static void TearDownTestSuite() { delete pki_; }
  static TestPki* pki_;
  TlsClientConfig tls() { return {pki_->ca_pem(), "", ""}; }
  FakeEtcd etcd_;
  std::unique_ptr<TestHttpsServer> server_ =
      std::make_unique<TestHttpsServer>(*pki_, [this](const TestRequest& r) { return etcd_(r); });
  EtcdClient client(const std::string& password = "pw") {
    return EtcdClient({{"dcs-00", "127.0.0.1", server_->port()}}, tls(), "root", password);
  }
};
TestPki* EtcdClientTest::pki_ = nullptr;

TEST_F(EtcdClientTest, AuthenticatesOnceThenPutsAndReads) {
  auto c = client();
  auto p1 = c.put("dcs-00", "/w/key-0", "w-0", 2s);
  ASSERT_TRUE(p1) << p1.error().message;
  auto p2 = c.put("dcs-00", "/w/key-0", "w-1", 2s);
  ASSERT_TRUE(p2) << p2.error().message;
  EXPECT_EQ(p2->revision, p1->revision + 1);
  auto g = c.get("dcs-00", "/w/key-0", false, 2s);
  ASSERT_TRUE(g) << g.error().message;
  ASSERT_EQ(g->kvs.size(), 1u);
  EXPECT_EQ(g->kvs[0].value, "w-1");
  EXPECT_EQ(g->kvs[0].mod_revision, p2->revision);
  EXPECT_EQ(g->kvs[0].version, 2);
  auto missing = c.get("dcs-00", "/w/none", false, 2s);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->kvs.empty());
  EXPECT_EQ(c.authentications(), 1);
  // The wire: base64 keys, the token in Authorization, the password only in authenticate.
  const auto reqs = server_->requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].path, "/v3/auth/authenticate");
  EXPECT_EQ(nlohmann::json::parse(reqs[1].body)["key"], base64_encode("/w/key-0"));
  EXPECT_EQ(reqs[1].headers.at("authorization"), "tok1.7");
  for (std::size_t i = 1; i < reqs.size(); ++i) EXPECT_EQ(reqs[i].body.find("pw"), std::string::npos);
}

// etcd 3.3's gateway has /v3beta/ and no /v3/; 3.5's has no /v3beta/. The client finds
// each member's prefix from a bare 404 and follows a member whose version changes.
TEST_F(EtcdClientTest, FollowsAMembersGatewayPrefixFrom33To35) {
  etcd_.gateway = "/v3beta/";
  auto c = client();
  auto p1 = c.put("dcs-00", "/w/key-0", "w-0", 2s);
  ASSERT_TRUE(p1) << p1.error().message;
  auto p2 = c.put("dcs-00", "/w/key-0", "w-1", 2s);
  ASSERT_TRUE(p2) << p2.error().message;
  EXPECT_EQ(etcd_.paths, (std::vector<std::string>{"/v3/auth/authenticate", "/v3beta/auth/authenticate",
                                                   "/v3beta/kv/put", "/v3beta/kv/put"}));
  etcd_.paths.clear();
  etcd_.gateway = "/v3/";  // the member now runs 3.5
  auto g = c.get("dcs-00", "/w/key-0", false, 2s);
  ASSERT_TRUE(g) << g.error().message;
  ASSERT_EQ(g->kvs.size(), 1u);
  EXPECT_EQ(g->kvs[0].value, "w-1");
  EXPECT_EQ(etcd_.paths, (std::vector<std::string>{"/v3beta/kv/range", "/v3/kv/range"}));
  // A path neither prefix has stays a refusal that names the path asked first.
  etcd_.hashkv_available = false;
  auto h = c.hashkv("dcs-00", 0, 2s);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().kind, EtcdError::Kind::Rejected);
  EXPECT_EQ(h.error().http_status, 404);
  EXPECT_NE(h.error().message.find("/v3/maintenance/hashkv"), std::string::npos) << h.error().message;
  auto p3 = c.put("dcs-00", "/w/key-0", "w-2", 2s);
  ASSERT_TRUE(p3) << p3.error().message;
  EXPECT_EQ(etcd_.paths.back(), "/v3/kv/put");
}

TEST_F(EtcdClientTest, CompareAndSetIsOneTxnOnValueOrModRevision) {
  auto c = client();
  // Absent: a value compare never holds (etcd's rule); mod revision 0 does.
  auto miss = c.cas("dcs-00", "/w/k", EtcdCompare{EtcdCompare::Target::Value, "", 0}, "v1", 2s);
  ASSERT_TRUE(miss) << miss.error().message;
  EXPECT_FALSE(miss->succeeded);
  EXPECT_FALSE(miss->current.has_value());
  auto made = c.cas("dcs-00", "/w/k", EtcdCompare{EtcdCompare::Target::ModRevision, "", 0}, "v1", 2s);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(made->succeeded);
  const std::int64_t rev1 = made->revision;
  EXPECT_GT(rev1, 1);
  auto by_value = c.cas("dcs-00", "/w/k", EtcdCompare{EtcdCompare::Target::Value, "v1", 0}, "v2", 2s);
  ASSERT_TRUE(by_value) << by_value.error().message;
  EXPECT_TRUE(by_value->succeeded);
  EXPECT_EQ(by_value->revision, rev1 + 1);
  // A stale revision: not swapped, and the answer says what the key holds.
  auto stale = c.cas("dcs-00", "/w/k", EtcdCompare{EtcdCompare::Target::ModRevision, "", rev1}, "v3", 2s);
  ASSERT_TRUE(stale) << stale.error().message;
  EXPECT_FALSE(stale->succeeded);
  ASSERT_TRUE(stale->current.has_value());
  EXPECT_EQ(stale->current->value, "v2");
  EXPECT_EQ(stale->current->mod_revision, rev1 + 1);
  auto g = c.get("dcs-00", "/w/k", false, 2s);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kvs.at(0).value, "v2");  // the refused txn wrote nothing
  // The wire: what the fake was asked, as the gateway's JSON spells it.
  std::lock_guard lock(etcd_.mu);
  ASSERT_EQ(etcd_.txns.size(), 4u);
  const auto& t = etcd_.txns[3];
  EXPECT_EQ(t["compare"][0]["key"], base64_encode("/w/k"));
  EXPECT_EQ(t["compare"][0]["target"], "MOD");
  EXPECT_EQ(t["compare"][0]["result"], "EQUAL");
  EXPECT_EQ(t["compare"][0]["mod_revision"], std::to_string(rev1));
  EXPECT_EQ(t["success"][0]["request_put"]["value"], base64_encode("v3"));
  EXPECT_EQ(t["failure"][0]["request_range"]["key"], base64_encode("/w/k"));
  EXPECT_EQ(etcd_.txns[2]["compare"][0]["target"], "VALUE");
  EXPECT_EQ(etcd_.txns[2]["compare"][0]["value"], base64_encode("v1"));
}

TEST_F(EtcdClientTest, ACompareAndSetWithoutAnAnswerIsUnknown) {
  auto c = client();
  etcd_.txn_faults = {"apply_then_drop", "unavailable"};
  auto dropped = c.cas("dcs-00", "/w/k", EtcdCompare{EtcdCompare::Target::ModRevision, "", 0}, "v1", 2s);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, EtcdError::Kind::Unknown);
  auto timed_out = c.cas("dcs-00", "/w/k2", EtcdCompare{EtcdCompare::Target::ModRevision, "", 0}, "v1", 2s);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().kind, EtcdError::Kind::Unknown);
  std::lock_guard lock(etcd_.mu);
  EXPECT_EQ(etcd_.kvs.at("/w/k").value, "v1");  // both were applied: indeterminate, not failed
  EXPECT_EQ(etcd_.kvs.at("/w/k2").value, "v1");
}

TEST_F(EtcdClientTest, AnExpiredTokenIsRenewedOnce) {
  auto c = client();
  ASSERT_TRUE(c.put("dcs-00", "a", "1", 2s));
  {
    std::lock_guard lock(etcd_.mu);
    etcd_.tokens.clear();  // a member restart forgets its tokens
  }
  auto p = c.put("dcs-00", "a", "2", 2s);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(c.authentications(), 2);
  EXPECT_EQ(etcd_.kvs["a"].value, "2");
}

TEST_F(EtcdClientTest, AWrongPasswordIsRejectedAndNothingIsPut) {
  auto c = client("wrong");
  auto p = c.put("dcs-00", "a", "1", 2s);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, EtcdError::Kind::Rejected);
  EXPECT_NE(p.error().message.find("authentication failed"), std::string::npos) << p.error().message;
  EXPECT_TRUE(etcd_.kvs.empty());
}

TEST_F(EtcdClientTest, ErrorsAreClassifiedByWhetherTheyCouldHaveApplied) {
  auto c = client();
  {
    std::lock_guard lock(etcd_.mu);
    etcd_.put_faults = {"unavailable", "apply_then_drop"};
  }
  auto timed_out = c.put("dcs-00", "a", "1", 2s);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().kind, EtcdError::Kind::Unknown);
  EXPECT_EQ(timed_out.error().grpc_code, 14);
  EXPECT_NE(timed_out.error().message.find("request timed out"), std::string::npos);
  auto dropped = c.put("dcs-00", "a", "2", 2s);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, EtcdError::Kind::Unknown);
  EXPECT_EQ(etcd_.kvs["a"].value, "2");  // both took effect: "unknown" was right
  // A path the gateway lacks: rejected, with the HTTP status.
  etcd_.hashkv_available = false;  // no request in flight: the server thread waits
  auto h = c.hashkv("dcs-00", 0, 2s);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().kind, EtcdError::Kind::Rejected);
  EXPECT_EQ(h.error().http_status, 404);
  etcd_.hashkv_available = true;
  auto h2 = c.hashkv("dcs-00", 0, 2s);
  ASSERT_TRUE(h2) << h2.error().message;
  EXPECT_EQ(h2->hash, 12345u);
  EXPECT_EQ(h2->compact_revision, -1);
}

TEST_F(EtcdClientTest, RangeOfEveryKeyAndStatus) {
  auto c = client();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(c.put("dcs-00", "k" + std::to_string(i), "v", 2s));
  auto all = c.range("dcs-00", std::string(1, '\0'), std::string(1, '\0'), 0, true, 2s);
  ASSERT_TRUE(all) << all.error().message;  // chunked: more than 3 keys
  EXPECT_EQ(all->kvs.size(), 6u);
  auto s = c.status("dcs-00", 2s);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->version, "3.4.23");
  EXPECT_EQ(s->revision, 7);
  EXPECT_EQ(s->raft_applied_index, 17);
  const auto reqs = server_->requests();
  const auto body = nlohmann::json::parse(reqs[reqs.size() - 2].body);
  EXPECT_EQ(body["range_end"], "AA==");
  EXPECT_EQ(body["serializable"], true);
}

TEST_F(EtcdClientTest, AnUnknownEndpointIsNotSent) {
  auto c = client();
  auto p = c.put("dcs-09", "a", "1", 2s);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, EtcdError::Kind::NotSent);
  EXPECT_TRUE(server_->requests().empty());
}

// The transport's judgment carries over: nothing left this process, so nothing applied.
TEST_F(EtcdClientTest, ARefusedConnectionIsNotSentAndNamesTheMember) {
  const int port = server_->port();
  server_.reset();  // nothing listens there now
  EtcdClient c({{"dcs-00", "127.0.0.1", port}}, tls(), "", "");
  auto p = c.put("dcs-00", "a", "1", 2s);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, EtcdError::Kind::NotSent);
  EXPECT_EQ(p.error().message.rfind("dcs-00: cannot connect to 127.0.0.1:", 0), 0u) << p.error().message;
  EXPECT_EQ(p.error().http_status, 0);
}

// A recorded stream of etcd 3.4.23's gateway (fixtures/watch/), cut into pieces at odd
// places (inside objects, strings, numbers): every response whole, in order.
std::vector<std::string> recorded(const std::string& name, std::size_t piece) {
  std::ifstream in(source_dir() / "fixtures" / "watch" / name);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string all = buf.str();
  EXPECT_FALSE(all.empty()) << name;
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < all.size(); i += piece) pieces.push_back(all.substr(i, piece));
  return pieces;
}

TEST(WatchStreamParser, ReadsObjectsFedAByteAtATimeWithBracesInStrings) {
  WatchStreamParser p;
  const std::string text =
      "{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":true}}\n"
      "{\"result\":{\"canceled\":true,\"cancel_reason\":\"a } and a \\\" {\"}}\n";
  std::vector<EtcdWatchResponse> got;
  for (char c : text) {
    p.feed(std::string_view(&c, 1));
    while (auto r = p.next()) {
      ASSERT_TRUE(*r) << r->error();
      got.push_back(**r);
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].created);
  EXPECT_EQ(got[0].revision, 7);
  EXPECT_TRUE(got[1].canceled);
  EXPECT_EQ(got[1].cancel_reason, "a } and a \" {");
  p.feed("{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}");
  auto e = p.next();
  ASSERT_TRUE(e && !*e);
  EXPECT_EQ(e->error(), "the stream failed: etcdserver: no leader (code 14)");
}

TEST_F(EtcdClientTest, WatchReadsARecordedStreamCutAnywhere) {
  for (std::size_t piece : {1u, 7u, 37u, 4096u}) {
    etcd_.scripted_watches.push_back(recorded("etcd-3.4.23-from-2.jsonl", piece));
    auto c = client();
    std::atomic<bool> stop{false};
    std::vector<EtcdWatchResponse> got;
    auto r = c.watch("dcs-00", "/p/", "/p0", 2, 2s, 2s, stop, [&](const EtcdWatchResponse& w) {
      got.push_back(w);
      return got.size() < 4;
    });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, HttpStream::End::Stopped);
    ASSERT_EQ(got.size(), 4u) << "pieces of " << piece;
    EXPECT_TRUE(got[0].created);
    EXPECT_EQ(got[0].revision, 5);
    EXPECT_TRUE(got[0].events.empty());
    // Catching up: revisions 2..5 in one response, the txn's two puts both at 5.
    ASSERT_EQ(got[1].events.size(), 5u);
    EXPECT_EQ(got[1].events[0].kv.key, "/p/a");
    EXPECT_EQ(got[1].events[0].kv.value, "1");
    EXPECT_EQ(got[1].events[0].kv.mod_revision, 2);
    EXPECT_FALSE(got[1].events[0].deleted);
    EXPECT_TRUE(got[1].events[2].deleted);
    EXPECT_EQ(got[1].events[2].kv.key, "/p/a");
    EXPECT_EQ(got[1].events[2].kv.mod_revision, 4);
    EXPECT_EQ(got[1].events[3].kv.mod_revision, 5);
    EXPECT_EQ(got[1].events[4].kv.mod_revision, 5);
    EXPECT_EQ(got[1].events[4].kv.value, "4");
    EXPECT_EQ(got[2].events.at(0).kv.mod_revision, 6);
    EXPECT_EQ(got[3].events.at(0).kv.mod_revision, 8);  // 7 was another key's
  }
  // The wire: one create_request, base64 key and range end, the revision as a string,
  // the token in Authorization.
  ASSERT_EQ(etcd_.watches.size(), 4u);
  EXPECT_EQ(etcd_.watches[0]["key"], base64_encode("/p/"));
  EXPECT_EQ(etcd_.watches[0]["range_end"], base64_encode("/p0"));
  EXPECT_EQ(etcd_.watches[0]["start_revision"], "2");
  for (const auto& req : server_->requests())
    if (req.path == "/v3/watch") EXPECT_EQ(req.headers.count("authorization"), 1u);
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionIsCanceled) {
  etcd_.scripted_watches.push_back(recorded("etcd-3.4.23-compacted.jsonl", 11));
  auto c = client();
  std::atomic<bool> stop{false};
  std::vector<EtcdWatchResponse> got;
  auto r = c.watch("dcs-00", "/p/", "/p0", 2, 2s, 2s, stop, [&](const EtcdWatchResponse& w) {
    got.push_back(w);
    return !w.canceled;
  });
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].created);
  EXPECT_TRUE(got[1].canceled);
  EXPECT_EQ(got[1].compact_revision, 4);
  EXPECT_EQ(got[1].revision, 0);  // the header has none
}

TEST_F(EtcdClientTest, ALiveWatchSeesPutsAndACutStreamIsUnknown) {
  auto c = client();
  ASSERT_TRUE(c.put("dcs-00", "/w/a", "v1", 2s));
  const std::int64_t from = etcd_.revision + 1;
  etcd_.watch_cut_after = 2;
  std::atomic<bool> stop{false};
  std::vector<EtcdEvent> events;
  auto writer = client();
  std::thread puts([&] {
    for (int i = 2; i <= 4; ++i) {
      std::this_thread::sleep_for(20ms);
      (void)writer.put("dcs-00", i == 3 ? "/other" : "/w/b", "v" + std::to_string(i), 2s);
    }
  });
  auto r = c.watch("dcs-00", "/w/", "/w0", from, 2s, 2s, stop, [&](const EtcdWatchResponse& w) {
    for (const auto& e : w.events) events.push_back(e);
    return true;
  });
  puts.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, EtcdError::Kind::Unknown);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.value, "v2");
  EXPECT_EQ(events[1].kv.value, "v4");
  EXPECT_EQ(events[1].kv.mod_revision, events[0].kv.mod_revision + 2);
}

}  // namespace
}  // namespace dcslab
