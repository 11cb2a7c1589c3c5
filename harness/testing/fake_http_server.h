// Tests only: a plain HTTP/1.1 server on 127.0.0.1 (an ephemeral port), one thread, that
// answers each request from a handler and records every request's path. The handler may
// answer with raw bytes (to send chunked or malformed answers), or hold the connection
// open without a word (a hung server) until the test ends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"

namespace dcslab {

struct FakeHttpAnswer {
  FakeHttpAnswer() = default;
  FakeHttpAnswer(int status_code, std::string json) : status(status_code), body(std::move(json)) {}
  int status = 200;
  std::string body;
  std::string raw;    // when set, sent as it is instead of status and body
  bool hang = false;  // say nothing; keep the connection until the server stops
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeHttpAnswer(const std::string& path)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_.get(), 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
  }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::vector<std::string> paths() {
    std::lock_guard lock(mu_);
    return paths_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      Fd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) continue;
      const int c = conn.get();
      std::string in;
      while (!stop_ && in.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 20) <= 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      const auto sp1 = in.find(' '), sp2 = in.find(' ', sp1 + 1);
      const std::string path = sp1 == std::string::npos || sp2 == std::string::npos
                                   ? "" : in.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard lock(mu_);
        paths_.push_back(path);
      }
      const FakeHttpAnswer a = handler_(path);
      if (a.hang) {
        held_.push_back(std::move(conn));  // closed when the server goes
        continue;
      }
      std::string out = a.raw;
      if (out.empty())
        out = "HTTP/1.0 " + std::to_string(a.status) + " X\r\nContent-Type: application/json\r\n"
              "Content-Length: " + std::to_string(a.body.size()) + "\r\n\r\n" + a.body;
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }
  }

  Handler handler_;
  Fd fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> paths_;
  std::vector<Fd> held_;
  std::thread thread_;
};

}  // namespace dcslab
