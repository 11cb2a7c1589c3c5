// HttpsClient against a TLS server on loopback (testing/https_server.h): keep-alive,
// chunked answers, reconnects, deadlines, and which failures could have reached the server.
#include "tls/https_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/https_server.h"

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
  EXPECT_EQ(r.error().kind, HttpError::Kind::Unknown) << r.error().message;
  EXPECT_NE(r.error().message.find("no answer within 300 ms"), std::string::npos) << r.error().message;
  EXPECT_LT(took, 1200ms);
}

TEST_F(HttpsClientTest, ADroppedConnectionAfterTheRequestIsUnknown) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{.drop = true}; });
  HttpsClient c(tls());
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, HttpError::Kind::Unknown) << r.error().message;
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
  EXPECT_EQ(r.error().kind, HttpError::Kind::NotSent);
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:"), std::string::npos) << r.error().message;
}

TEST_F(HttpsClientTest, AServerOfAnotherCaIsNotSent) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{}; });
  const TestPki other = TestPki::make();
  HttpsClient c({other.ca_pem(), "", ""});
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, HttpError::Kind::NotSent);
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

TEST_F(HttpsClientTest, AnErrorStatusIsAnAnswerNotAFailure) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{503, "{\"code\":14}"}; });
  HttpsClient c(tls());
  auto r = c.post("127.0.0.1", server.port(), "/v3/kv/put", "{}", {}, 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "{\"code\":14}");
  EXPECT_EQ(r->headers.count("connection"), 0u);  // only what the server sent
}

TEST_F(HttpsClientTest, BadTlsMaterialIsNotSentAndNothingConnects) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{}; });
  HttpsClient no_ca({"not a certificate", "", ""});
  auto a = no_ca.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, HttpError::Kind::NotSent);
  EXPECT_EQ(a.error().message, "the CA holds no PEM certificate");
  // A key of another certificate.
  CertOptions co;
  co.key = KeySpec{KeySpec::Type::EcP256, 0};
  auto one = issue_cert(pki_->ca, CertSubject{"dcs-00", "192.168.56.10", "dcs-00.x"}, co);
  auto two = issue_cert(pki_->ca, CertSubject{"dcs-01", "192.168.56.11", "dcs-01.x"}, co);
  ASSERT_TRUE(one && two);
  HttpsClient mismatched({pki_->ca_pem(), cert_pem(*one->cert), key_pem(*two->key)});
  auto b = mismatched.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, HttpError::Kind::NotSent);
  EXPECT_EQ(b.error().message, "the client key does not belong to the client certificate");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpsClientTest, TheServerMustNameTheVerifiedName) {
  TestHttpsServer server(*pki_, [](const TestRequest&) { return TestResponse{200, "{}"}; });
  HttpsClient c(tls());
  auto wrong = c.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s, "192.168.56.10");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, HttpError::Kind::NotSent);
  EXPECT_NE(wrong.error().message.find("TLS handshake with 127.0.0.1:"), std::string::npos)
      << wrong.error().message;
  auto right = c.post("127.0.0.1", server.port(), "/x", "{}", {}, 2s, "localhost");
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(server.requests().size(), 1u);
}

// Streams (etcd's /v3/watch): pieces as they come, whatever the chunking; the stop flag,
// the idle limit, the callback's "no more", and an error answer read whole.
TEST_F(HttpsClientTest, StreamsPiecesAsTheyArrive) {
  TestResponse streamed{200, ""};
  streamed.stream = {"{\"a\":1}\n{\"b\"", ":2}\n", std::string(3000, 'x')};
  streamed.gap = 20ms;
  streamed.stream_end = true;
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return streamed; });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  std::string got;
  int pieces = 0;
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{\"create_request\":{}}",
                         {{"Authorization", "t.1"}}, 2s, 2s, stop, [&](std::string_view p) {
                           got.append(p);
                           ++pieces;
                           return true;
                         });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->end, HttpStream::End::Finished);
  EXPECT_EQ(got, "{\"a\":1}\n{\"b\":2}\n" + std::string(3000, 'x'));
  EXPECT_GT(pieces, 3);  // chunk by chunk, not the body at the end
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].headers.at("authorization"), "t.1");
}

TEST_F(HttpsClientTest, AStreamEndsAtOnceWhenStopped) {
  TestResponse open{200, ""};
  open.stream = {"{\"created\":true}\n"};
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return open; });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  std::string got;
  std::thread stopper([&] {
    while (got.empty()) std::this_thread::sleep_for(5ms);
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{}", {}, 2s, 10s, stop,
                         [&](std::string_view p) {
                           got.append(p);
                           return true;
                         });
  stopper.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->end, HttpStream::End::Stopped);
  EXPECT_EQ(got, "{\"created\":true}\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // not the 10 s idle limit
}

TEST_F(HttpsClientTest, ASilentStreamIsAnErrorAfterTheIdleLimit) {
  TestResponse open{200, ""};
  open.stream = {"{}\n"};
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return open; });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{}", {}, 2s, 300ms, stop,
                         [](std::string_view) { return true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, HttpError::Kind::Unknown);
  EXPECT_NE(r.error().message.find("no data for 300 ms"), std::string::npos) << r.error().message;
}

TEST_F(HttpsClientTest, AStreamEndsWhenTheCallbackSaysSo) {
  TestResponse open{200, ""};
  open.stream = {"one\n", "two\n", "three\n"};
  open.gap = 10ms;
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return open; });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  std::string got;
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{}", {}, 2s, 2s, stop,
                         [&](std::string_view p) {
                           got.append(p);
                           return got.find("two\n") == std::string::npos;
                         });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->end, HttpStream::End::Stopped);
  EXPECT_EQ(got.find("three"), std::string::npos) << got;
}

TEST_F(HttpsClientTest, AStreamsErrorAnswerIsReadWhole) {
  TestHttpsServer server(*pki_, [](const TestRequest&) {
    return TestResponse{401, "{\"error\":\"etcdserver: invalid auth token\",\"code\":16}", "application/json", true};
  });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  int calls = 0;
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{}", {}, 2s, 2s, stop,
                         [&](std::string_view) { return ++calls > 0; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "{\"error\":\"etcdserver: invalid auth token\",\"code\":16}");
  EXPECT_EQ(calls, 0);
}

TEST_F(HttpsClientTest, AStreamCutOffIsUnknown) {
  TestResponse cut{200, ""};
  cut.stream = {"{\"a\":"};
  cut.stream_cut = true;
  TestHttpsServer server(*pki_, [&](const TestRequest&) { return cut; });
  HttpsClient c(tls());
  std::atomic<bool> stop{false};
  std::string got;
  auto r = c.post_stream("127.0.0.1", server.port(), "/v3/watch", "{}", {}, 2s, 5s, stop,
                         [&](std::string_view p) {
                           got.append(p);
                           return true;
                         });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, HttpError::Kind::Unknown);
  EXPECT_EQ(got, "{\"a\":");
  // Closed without TLS's close_notify, as a dying member's socket is: "the connection broke".
  EXPECT_NE(r.error().message.find("/v3/watch"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace dcslab
