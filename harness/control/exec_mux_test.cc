#include "control/exec_mux.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "base/process.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

// What the fake SSH side was asked, shared by every fake transport of a test.
struct Calls {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SshTarget> connects;
  std::vector<std::string> commands;
  std::vector<Ms> timeouts;
  int running = 0;
  bool release = true;      // false: a command "sleep" blocks until set
  bool saw_cancel = false;  // a blocked command found options.cancelled() true
  bool refuse = false;      // connect fails
};

class RecordingTransport : public Transport {
 public:
  explicit RecordingTransport(Calls* calls) : calls_(calls) {}
  Expected<CommandResult> exec(const std::string& command, const ExecOptions& o) override {
    std::unique_lock lock(calls_->mu);
    calls_->commands.push_back(command);
    calls_->timeouts.push_back(o.timeout);
    if (command == "sleep") {
      ++calls_->running;
      calls_->cv.notify_all();
      while (!calls_->release) {
        if (o.cancelled && o.cancelled()) {
          calls_->saw_cancel = true;
          --calls_->running;
          calls_->cv.notify_all();
          return Failure::timeout("`sleep` interrupted");
        }
        calls_->cv.wait_for(lock, Ms(20));
      }
      --calls_->running;
    }
    CommandResult r;
    r.exit_status = command == "false" ? 1 : 7;
    r.out = "out of " + command + std::string("\0\xff", 2);
    r.err = "err of " + command;
    return r;
  }
  Expected<void> put(const std::string&, const std::string&, const FileAttributes&) override {
    return {};
  }
  Expected<std::string> get(const std::string&) override { return std::string(); }

 private:
  Calls* calls_;
};

SshTarget target(const std::string& pinned = "ssh-ed25519 AAAAfirst") {
  SshTarget t;
  t.node = "dcs-00";
  t.host = "192.168.56.10";
  t.user = "tux";
  t.identity_file = "/state/keys/lab_ed25519";
  t.pinned_host_key = pinned;
  t.known_hosts_for_messages = "/state/known_hosts";
  return t;
}

class ExecMuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dcslab-mux-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    stop_ = true;
    if (server_.joinable()) server_.join();
    fs::remove_all(dir_);
  }
  void start(Ms idle = Ms(60000)) {
    MuxServerOptions o;
    o.dir = dir_;
    o.idle = idle;
    o.stop = &stop_;
    o.connect = [this](const SshTarget& t) -> Expected<std::unique_ptr<Transport>> {
      std::lock_guard lock(calls_.mu);
      calls_.connects.push_back(t);
      if (calls_.refuse) return Failure::refused("host key of dcs-00 does not match the pinned one");
      return std::unique_ptr<Transport>(new RecordingTransport(&calls_));
    };
    server_ = std::thread([this, o] { served_ = mux_serve(o); });
    // A real thread binding a real socket: real time, through the Clock all the same.
    auto listening = poll_until<bool>(RealClock::instance(), std::chrono::seconds(5), Ms(5),
                                      "the daemon's socket", [&](std::string*) -> std::optional<bool> {
                                        if (fs::exists(MuxPaths(dir_).socket)) return true;
                                        return std::nullopt;
                                      });
    ASSERT_TRUE(listening) << listening.error().message;
  }
  std::optional<Expected<CommandResult>> run(const std::string& cmd,
                                             const SshTarget& t = target()) {
    return mux_exec(dir_, t, cmd, Ms(1234), interrupted_);
  }

  fs::path dir_;
  Calls calls_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupted_{false};
  std::thread server_;
  int served_ = -1;
};

TEST_F(ExecMuxTest, NoDaemonMeansNoAnswer) {
  EXPECT_FALSE(run("true").has_value());
  // A dead daemon's socket file: nobody listens behind it.
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, MuxPaths(dir_).socket.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(s);
  ASSERT_TRUE(fs::exists(MuxPaths(dir_).socket));
  EXPECT_FALSE(run("true").has_value());
}

TEST_F(ExecMuxTest, RunsTheCommandAndReturnsOutputsAndStatusApart) {
  start();
  auto r = run("hostname -f");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->error().message;
  EXPECT_EQ((*r)->exit_status, 7);
  EXPECT_EQ((*r)->out, "out of hostname -f" + std::string("\0\xff", 2));
  EXPECT_EQ((*r)->err, "err of hostname -f");
  std::lock_guard lock(calls_.mu);
  ASSERT_EQ(calls_.commands, std::vector<std::string>{"hostname -f"});
  EXPECT_EQ(calls_.timeouts[0], Ms(1234));
  ASSERT_EQ(calls_.connects.size(), 1u);
  EXPECT_EQ(calls_.connects[0].host, "192.168.56.10");
  EXPECT_EQ(calls_.connects[0].user, "tux");
  EXPECT_EQ(calls_.connects[0].pinned_host_key, "ssh-ed25519 AAAAfirst");
  EXPECT_EQ(calls_.connects[0].identity_file, "/state/keys/lab_ed25519");
}

TEST_F(ExecMuxTest, ReusesTheSessionButNeverAcrossPinning) {
  start();
  ASSERT_TRUE(run("a").has_value());
  ASSERT_TRUE(run("false").has_value());
  {
    std::lock_guard lock(calls_.mu);
    EXPECT_EQ(calls_.connects.size(), 1u);
  }
  // A changed pinned key (or user) gets a connection of its own, which checks it.
  ASSERT_TRUE(run("b", target("ssh-ed25519 AAAAother")).has_value());
  SshTarget root = target();
  root.user = "root";
  ASSERT_TRUE(run("c", root).has_value());
  std::lock_guard lock(calls_.mu);
  ASSERT_EQ(calls_.connects.size(), 3u);
  EXPECT_EQ(calls_.connects[1].pinned_host_key, "ssh-ed25519 AAAAother");
  EXPECT_EQ(calls_.connects[2].user, "root");
}

TEST_F(ExecMuxTest, AConnectFailureReachesTheClientWithItsKind) {
  calls_.refuse = true;
  start();
  auto r = run("true");
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().kind, Failure::Kind::Refused);
  EXPECT_NE(r->error().message.find("does not match the pinned one"), std::string::npos);
}

TEST_F(ExecMuxTest, CommandsAtTheSameTimeGetSessionsOfTheirOwn) {
  calls_.release = false;
  start();
  std::optional<Expected<CommandResult>> slow;
  std::thread t([&] { slow = run("sleep"); });
  {
    std::unique_lock lock(calls_.mu);
    ASSERT_TRUE(calls_.cv.wait_for(lock, std::chrono::seconds(5), [&] { return calls_.running == 1; }));
  }
  auto quick = run("quick");  // not queued behind the sleeping one
  ASSERT_TRUE(quick.has_value() && *quick);
  {
    std::lock_guard lock(calls_.mu);
    EXPECT_EQ(calls_.connects.size(), 2u);
    calls_.release = true;
  }
  t.join();
  ASSERT_TRUE(slow.has_value() && *slow);
}

TEST_F(ExecMuxTest, AClientThatHangsUpStopsItsCommand) {
  calls_.release = false;
  start();
  std::optional<Expected<CommandResult>> r;
  std::thread t([&] { r = run("sleep"); });
  {
    std::unique_lock lock(calls_.mu);
    ASSERT_TRUE(calls_.cv.wait_for(lock, std::chrono::seconds(5), [&] { return calls_.running == 1; }));
  }
  interrupted_ = true;  // Ctrl-C in the client
  t.join();
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r);
  EXPECT_NE(r->error().message.find("interrupted"), std::string::npos);
  std::unique_lock lock(calls_.mu);
  EXPECT_TRUE(calls_.cv.wait_for(lock, std::chrono::seconds(5), [&] { return calls_.saw_cancel; }));
}

TEST_F(ExecMuxTest, ExitsWhenIdleAndRemovesItsFiles) {
  start(Ms(300));
  ASSERT_TRUE(run("true").has_value());
  server_.join();
  EXPECT_EQ(served_, 0);
  EXPECT_FALSE(fs::exists(MuxPaths(dir_).socket));
  EXPECT_FALSE(fs::exists(MuxPaths(dir_).pid));
  EXPECT_FALSE(run("true").has_value());
}

TEST_F(ExecMuxTest, OneDaemonPerLab) {
  start();
  MuxServerOptions second;
  second.dir = dir_;
  second.connect = [](const SshTarget&) -> Expected<std::unique_ptr<Transport>> {
    return Failure::error("the second daemon must not serve");
  };
  EXPECT_EQ(mux_serve(second), 1);
  auto r = run("true");  // still the first one's
  ASSERT_TRUE(r.has_value() && *r);
}

TEST_F(ExecMuxTest, SpawnedDaemonServesAndStopLeavesNothing) {
  mux_spawn(dir_, Ms(60000), [](const SshTarget&) -> Expected<std::unique_ptr<Transport>> {
    static Calls calls;  // in the daemon's own process
    return std::unique_ptr<Transport>(new RecordingTransport(&calls));
  });
  auto answered = poll_until<Expected<CommandResult>>(
      RealClock::instance(), std::chrono::seconds(5), Ms(10), "the spawned daemon to answer",
      [&](std::string*) { return run("id"); });
  ASSERT_TRUE(answered) << answered.error().message;
  const auto& r = answered.value();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->err, "err of id");
  std::ifstream pidfile(MuxPaths(dir_).pid);
  pid_t pid = 0;
  ASSERT_TRUE(pidfile >> pid);
  ASSERT_EQ(::kill(pid, 0), 0);
  mux_stop(dir_);
  EXPECT_FALSE(fs::exists(MuxPaths(dir_).socket));
  EXPECT_FALSE(fs::exists(MuxPaths(dir_).pid));
  EXPECT_FALSE(run("id").has_value());
  // Gone (or at most a zombie nobody reaped yet): no longer the daemon.
  const auto stat = proc_stat_fields(pid);
  EXPECT_TRUE(!stat || (*stat)[0] == "Z") << (*stat)[0];
}

TEST_F(ExecMuxTest, StopLeavesAnotherProcessAlone) {
  // A PID file naming a live process that is not the daemon (start time differs).
  std::ofstream(MuxPaths(dir_).pid) << ::getpid() << " 1\n";
  mux_stop(dir_);
  EXPECT_EQ(::kill(::getpid(), 0), 0);
}

TEST_F(ExecMuxTest, StopKillsADaemonThatIgnoresSigtermAfterThreeSecondsOfItsClock) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGTERM, SIG_IGN);
    [[maybe_unused]] auto n = ::write(ready[1], "r", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  const auto stat = proc_stat_fields(child);
  ASSERT_TRUE(stat);
  std::ofstream(MuxPaths(dir_).pid) << child << ' ' << (*stat)[19] << '\n';  // as the daemon writes it
  FakeClock clock;
  mux_stop(dir_, clock);  // 3 s of fake time waiting for SIGTERM to work, then SIGKILL
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GE(clock.sleeps, 3000 / 20);  // it waited the whole 3 s, 20 ms at a time
  EXPECT_FALSE(fs::exists(MuxPaths(dir_).pid));
}

TEST(ExecMuxPersist, ReadsSecondsAndRejectsNonsense) {
  ::setenv("DCSLAB_EXEC_PERSIST", "2.5", 1);
  EXPECT_EQ(mux_persist_from_env(), Ms(2500));
  ::setenv("DCSLAB_EXEC_PERSIST", "0", 1);
  EXPECT_EQ(mux_persist_from_env(), Ms(0));
  ::setenv("DCSLAB_EXEC_PERSIST", "ten", 1);
  EXPECT_THROW(mux_persist_from_env(), BadInput);
  ::unsetenv("DCSLAB_EXEC_PERSIST");
  EXPECT_EQ(mux_persist_from_env(), Ms(600000));
}

}  // namespace
}  // namespace dcslab
