// Tests only: a PgClient that answers from a script and records what it was asked. Each
// connect() and exec() takes the next scripted step of its kind; a step may move the
// test's FakeClock, so the writer's times are what the script says they are.
#pragma once

#include <chrono>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "base/clock.h"
#include "pg/pg_writer.h"

namespace dcslab {

class FakePgClient : public PgClient {
 public:
  struct Connect {
    bool ok = true;
    PgEndpoint endpoint{"10.0.0.1", 5432};
    std::string error;
    std::chrono::milliseconds takes{0};
  };
  struct Exec {
    PgReply reply;
    std::chrono::milliseconds takes{5};
    bool drops = false;  // the connection is gone afterwards
  };

  explicit FakePgClient(FakeClock& clock) : clock_(clock) {}

  // An acknowledged insert as the server answers it (the writer's RETURNING columns).
  static Exec ack(const std::string& node, int timeline, bool sync = false, std::chrono::milliseconds takes = std::chrono::milliseconds(5)) {
    Exec e;
    e.reply.command = "INSERT 0 1";
    char tl[16];
    std::snprintf(tl, sizeof tl, "%08X", timeline);
    e.reply.rows.push_back({node, std::string("10.0.0.1"), std::string("5432"), std::string(tl),
                            std::string("0/3000060"), std::string(sync ? "t" : "f")});
    e.takes = takes;
    return e;
  }
  static Exec error(PgError::Kind kind, const std::string& message, const std::string& sqlstate = "",
                    std::chrono::milliseconds takes = std::chrono::milliseconds(5)) {
    Exec e;
    e.reply.error = PgError{kind, message, sqlstate, sqlstate.empty() ? "" : "ERROR"};
    e.takes = takes;
    e.drops = kind == PgError::Kind::Unknown || kind == PgError::Kind::NotSent;
    return e;
  }

  std::deque<Connect> connects;
  std::deque<Exec> execs;
  // What was asked.
  int connect_calls = 0, disconnect_calls = 0;
  std::vector<std::string> statements;
  std::vector<std::vector<std::string>> params;
  std::vector<std::chrono::milliseconds> timeouts;

  Expected<PgEndpoint> connect() override {
    ++connect_calls;
    Connect c = connects.empty() ? Connect{} : connects.front();
    if (!connects.empty()) connects.pop_front();
    clock_.advance(c.takes);
    if (!c.ok) {
      connected_ = false;
      return Failure::refused(c.error);
    }
    connected_ = true;
    endpoint_ = c.endpoint;
    return endpoint_;
  }
  bool connected() const override { return connected_; }
  PgEndpoint endpoint() const override { return connected_ ? endpoint_ : PgEndpoint{}; }
  PgReply exec(const std::string& sql, const std::vector<std::string>& p,
               std::chrono::milliseconds timeout) override {
    statements.push_back(sql);
    params.push_back(p);
    timeouts.push_back(timeout);
    if (execs.empty()) {
      PgReply r;
      r.error = PgError{PgError::Kind::NotSent, "fake: no scripted answer", "", ""};
      return r;
    }
    Exec e = execs.front();
    execs.pop_front();
    clock_.advance(e.takes);
    if (e.drops) connected_ = false;
    return e.reply;
  }
  void disconnect() override {
    ++disconnect_calls;
    connected_ = false;
  }
  std::string conninfo() const override { return "host=10.0.0.1,10.0.0.2 port=5432,5432 (fake)"; }

 private:
  FakeClock& clock_;
  bool connected_ = false;
  PgEndpoint endpoint_;
};

}  // namespace dcslab
