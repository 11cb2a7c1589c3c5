#include "base/http_get.h"

#include <gtest/gtest.h>

#include "testing/fake_http_server.h"

namespace dcslab {
namespace {

HttpParse parse(std::string_view bytes, bool eof, HttpReply* r, std::string* err = nullptr) {
  std::string e;
  return parse_http_response(bytes, eof, r, err ? err : &e);
}

TEST(HttpParse, BodyByContentLength) {
  HttpReply r;
  const std::string full = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
  // Every prefix is incomplete, the whole is complete.
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(parse(std::string_view(full).substr(0, n), false, &r), HttpParse::Incomplete) << n;
  ASSERT_EQ(parse(full, false, &r), HttpParse::Complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_EQ(r.headers["content-type"], "application/json");
}

TEST(HttpParse, ChunkedBodyWithExtensionsAndTrailerEnd) {
  HttpReply r;
  const std::string full =
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\n{\"ro\r\nA\r\nle\":\"x\"}  \r\n0\r\n\r\n";
  EXPECT_EQ(parse(full.substr(0, full.size() - 2), false, &r), HttpParse::Incomplete);
  ASSERT_EQ(parse(full, false, &r), HttpParse::Complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"role\":\"x\"}  ");
}

TEST(HttpParse, BodyUpToTheCloseAndBadAnswers) {
  HttpReply r;
  std::string err;
  EXPECT_EQ(parse("HTTP/1.0 200 OK\r\n\r\nabc", false, &r), HttpParse::Incomplete);
  ASSERT_EQ(parse("HTTP/1.0 200 OK\r\n\r\nabc", true, &r), HttpParse::Complete);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(parse("SSH-2.0-OpenSSH_9.2\r\n\r\n", false, &r, &err), HttpParse::Bad);
  EXPECT_NE(err.find("not an HTTP answer"), std::string::npos) << err;
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, &r, &err), HttpParse::Bad);
  EXPECT_NE(err.find("closed the connection"), std::string::npos) << err;
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, &r, &err),
            HttpParse::Bad);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, &r, &err), HttpParse::Bad);
}

TEST(HttpGet, GetsAJsonAnswerAndItsStatus) {
  FakeHttpServer server([](const std::string& path) {
    if (path == "/patroni") return FakeHttpAnswer{200, "{\"role\":\"master\"}"};
    return FakeHttpAnswer{503, "{\"role\":\"replica\"}"};
  });
  auto r = http_get("127.0.0.1", server.port(), "/patroni", std::chrono::milliseconds(2000));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"role\":\"master\"}");
  auto p = http_get("127.0.0.1", server.port(), "/primary", std::chrono::milliseconds(2000));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->status, 503);
  EXPECT_EQ(server.paths(), (std::vector<std::string>{"/patroni", "/primary"}));
}

TEST(HttpGet, AChunkedAnswerArrives) {
  FakeHttpServer server([](const std::string&) {
    FakeHttpAnswer a;
    a.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    return a;
  });
  auto r = http_get("127.0.0.1", server.port(), "/x", std::chrono::milliseconds(2000));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "abcde");
}

TEST(HttpGet, AHungServerCostsTheDeadlineAndNoMore) {
  FakeHttpServer server([](const std::string&) {
    FakeHttpAnswer a;
    a.hang = true;
    return a;
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = http_get("127.0.0.1", server.port(), "/patroni", std::chrono::milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout) << r.error().message;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  EXPECT_NE(r.error().message.find("within 300 ms"), std::string::npos) << r.error().message;
}

TEST(HttpGet, NothingListeningIsRefused) {
  int port;
  {
    FakeHttpServer gone([](const std::string&) { return FakeHttpAnswer{}; });
    port = gone.port();
  }
  auto r = http_get("127.0.0.1", port, "/patroni", std::chrono::milliseconds(1000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused) << r.error().message;
}

}  // namespace
}  // namespace dcslab
