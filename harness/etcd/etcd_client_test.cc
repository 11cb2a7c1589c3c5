#include "base/text.h"
#include "etcd/etcd_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/fake_etcd_server.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

class HttpsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(TestPki::make()); }
  static void TearDownTestSuite() { delete pki_; }
  static TestPki* pki_;
  TlsClientConfig tls() { return {pki_->ca_pem(), "", ""}; }
};
TestPki* HttpsClientTest::pki_ = nullptr;

TEST_F(HttpsClientTest, PostsJsonAndKeepsTheConnection) {
  TestHttpsServer server(*pki_, [](const TestRequest& r) {
    return TestResponse{200, "{\"echo\":" + r.body + "}"};
  });
  HttpsClient c(tls());
  auto a = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{\"k\":1}", {{"Authorization", "t.1"}}, 2s);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "{\"echo\":{\"k\":1}}");
  auto b = c.post("127.0.0.1", server.port(), "/v3/kv/range", "{}", {}, 2s);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(c.connections_opened(), 1);
  EXPECT_EQ(server.connections(), 1);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/v3/kv/put");
  EXPECT_EQ(reqs[0].headers.at("authorization"), "t.1");
  EXPECT_EQ(reqs[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(reqs[1].headers.count("authorization"), 0u);
}

TEST_F(HttpsClientTest, ReadsChunkedAnswers) {
  std::string big(5000, 'x');
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return TestResponse{200, big, "application/json", true}; });
  HttpsClient c(tls());
  for (int i = 0; i < 2; ++i) {
    auto r = c.post("127.0.0.1", server.port(), "/v3/kv/range", "{}", {}, 2s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, big);
  }
  EXPECT_EQ(server.connections(), 1);  // the chunked end was found: the connection is reused
}

TEST_F(HttpsClientTest, ReconnectsWhenTheServerClosed) {
  TestHttpsServer server(*pki_, [](const TestRequest&) {
    TestResponse r{200, "{}"};
    r.close = true;
    return r;
  });
  HttpsClient c(tls());
  for (int i = 0; i < 3; ++i) {
    auto r = c.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s);
    ASSERT_TRUE(r) << i << ": " << r.error().message;
  }
  EXPECT_EQ(c.connections_opened(), 3);
  EXPECT_EQ(server.connections(), 3);
}

TEST_F(HttpsClientTest, NoAnswerInTimeIsUnknown) {
  TestHttpsServer server(*pki_, [](const TestRequest&) {
    TestResponse r{200, "{}"};
    r.delay = 1500ms;
    return r;
  });
  HttpsClient c(tls());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 300ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, EtcdError::Kind::Unknown) << r.error().message;
  EXPECT_NE(r.error().message.find("no answer within 300 ms"), std::string::npos) << r.error().message;
  EXPECT_LT(took, 1200ms);
}

TEST_F(HttpsClientTest, ADroppedConnectionAfterTheRequestIsUnknown) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{.drop = true}; });
  HttpsClient c(tls());
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, EtcdError::Kind::Unknown) << r.error().message;
}

TEST_F(HttpsClientTest, RefusedIsNotSent) {
  int port;
  {
    TestHttpsServer gone(*pki_, [](const TestRequest&) { return TestResponse{}; });
    port = gone.port();
  }  // closed: nothing listens there now
  HttpsClient c(tls());
  auto r = c.post("127.0.0.1", port, "/v3/kv/put", "{}", {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, EtcdError::Kind::NotSent);
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:"), std::string::npos) << r.error().message;
}

TEST_F(HttpsClientTest, AServerOfAnotherCaIsNotSent) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{}; });
  const TestPki other = TestPki::make();
  HttpsClient c({other.ca_pem(), "", ""});
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, EtcdError::Kind::NotSent);
  EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << r.error().message;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpsClientTest, PresentsTheClientCertificate) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{200, "{}"}; }, "require");
  HttpsClient without(tls());
  auto refused = without.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s);
  EXPECT_FALSE(refused);
  CertOptions co;
  co.key = KeySpec{KeySpec::Type::EcP256, 0};
  auto client = issue_cert(pki_->ca, CertSubject{"dcs-00", "192.168.56.10", "dcs-00.x"}, co);
  ASSERT_TRUE(client);
  HttpsClient with({pki_->ca_pem(), cert_pem(*client->cert), key_pem(*client->key)});
  auto ok = with.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(server.last_client_subject(), "CN=dcs-00");
}

class EtcdClientTest : public HttpsClientTest {
 protected:
  FakeEtcd etcd_;
  std::unique_ptr<TestHttpsServer> server_ =
      std::make_unique<TestHttpsServer>(*pki_, [this](const TestRequest& r) { return etcd_(r); });
  EtcdClient client(const std::string& password = "pw") {
    return EtcdClient({{"dcs-00", "127.0.0.1", server_->port()}}, tls(), "root", password);
  }
};

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

}  // namespace
}  // namespace dcslab
