// pg_writer / check_pg_writes as the runner runs them (run/pg_writer_steps.h), against a
// real PostgreSQL 15 on loopback (skipped without one) and a recording fake REST API.
#include "run/pg_writer_steps.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "base/file.h"
#include "base/paths.h"
#include "lab/lab.h"
#include "testing/pg_test_server.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// pg-00 leads on timeline 1; records every host asked.
class FakePatroni : public PatroniApi {
 public:
  std::mutex mu;
  std::vector<std::string> asked;
  Expected<PatroniNodeStatus> status(const std::string& host, int, std::chrono::milliseconds) override {
    std::lock_guard lock(mu);
    asked.push_back(host);
    PatroniNodeStatus s;
    s.role = "master";
    s.state = "running";
    s.timeline = 1;
    return s;
  }
  Expected<PatroniCluster> cluster(const std::string&, int, std::chrono::milliseconds) override {
    return Failure::error("not used");
  }
};

TEST(PgWriterSteps, AWriterRunsIsMarkedByFaultsAndItsCheckSavesTheVerdict) {
  if (const std::string why = PgTestServer::missing(); !why.empty()) GTEST_SKIP() << why;
  std::string err;
  auto server = PgTestServer::primary("pg-00", &err);
  ASSERT_TRUE(server) << err;
  const Lab lab = load_lab(source_dir() / "fixtures/labs/patroni.yaml");
  const TemplateValues tv{&lab, nullptr, nullptr, nullptr, nullptr};
  const fs::path dir = fs::temp_directory_path() / "dcslab-pg-writer-steps";
  fs::remove_all(dir);

  PgWriters writers(RealClock::instance());
  PgWriterSpec spec;
  spec.name = "p1";
  spec.hosts = {"pg-00"};
  spec.interval = 20ms;
  spec.role_interval = 50ms;
  auto api = std::make_shared<FakePatroni>();
  std::string command;
  auto started = writers.start_with(spec, tv, std::make_shared<LibpqClient>(server->options()), api, &command);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->exit_status, 0);
  EXPECT_NE(command.find("pg_writer p1: insert every 20 ms through "), std::string::npos) << command;
  EXPECT_EQ(command.find(server->password()), std::string::npos);
  // A second start of the same name is refused.
  EXPECT_FALSE(writers.start_with(spec, tv, std::make_shared<LibpqClient>(server->options()), api, &command));

  std::this_thread::sleep_for(300ms);
  const auto at = writers.now_all();
  ASSERT_EQ(at.count("p1"), 1u);
  std::this_thread::sleep_for(100ms);
  writers.mark_faults("crash pg-00", at);
  std::this_thread::sleep_for(200ms);

  CheckPgWritesSpec check;
  check.name = "p1";
  check.max_lost = 0;
  check.timeout = 10s;
  std::vector<std::string> failures;
  Redactor redactor;
  auto r = writers.check(check, "sc", dir, redactor, &command, &failures);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0) << r->out;
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_NE(r->out.find("verdict: PASS (split brain 0, timeline forks 0, lost 0"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("primaries pg-00/timeline 1"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("fault crash pg-00 at "), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("roles: two leaders sampled 0 times"), std::string::npos) << r->out;
  {
    std::lock_guard lock(api->mu);
    EXPECT_GE(api->asked.size(), 5u);
    EXPECT_EQ(api->asked.front(), lab.find_node("pg-00")->ip.str());  // the node's address
  }
  auto history = read_file(PgWriters::history_file(dir, "sc", "p1"));
  ASSERT_TRUE(history);
  EXPECT_NE(history->find("\"name\": \"crash pg-00\""), std::string::npos);
  EXPECT_NE(history->find("\"split_brain\": 0"), std::string::npos);
  EXPECT_TRUE(fs::exists(PgWriters::roles_file(dir, "sc", "p1")));
  // Checked once; a name never started is not found.
  check.name = "nope";
  EXPECT_FALSE(writers.check(check, "sc", dir, redactor, &command, &failures));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dcslab
