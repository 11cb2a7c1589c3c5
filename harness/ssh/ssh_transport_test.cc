// SshTransport against a real OpenSSH sshd on loopback: a private daemon per test, on a
// free port, with a host key and an authorized client key made by keys.cc. The system
// sshd is never started or touched.
#include "ssh/ssh_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/file.h"

extern char** environ;

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSshd = "/usr/sbin/sshd";
// Debian's bash sources ~/.bashrc when sshd starts it, even for `bash -c`; SHLVL=1 in the
// session environment turns that off. The test machine's ~/.bashrc is not under test
// (on the build host it runs `pyenv init`, ~250 ms per command) and would only slow
// the suite down.
constexpr const char* kSkipBashrc = "SetEnv SHLVL=1\n";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A file the test expects may be missing: that reads as empty, and the assertion says so.
std::string slurp(const fs::path& p) {
  auto text = read_file(p);
  return text ? std::move(*text) : std::string();
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

class RecordingProgress : public Progress {
 public:
  void phase(const std::string&) override {}
  void waiting(const std::string& what, std::chrono::seconds, std::chrono::seconds) override {
    waits.push_back(what);
  }
  void done(const std::string&) override {}
  std::vector<std::string> waits;
};

class SshTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: the test sshd logs in as the current user, and sshd "
                      "only switches users (privilege separation) when run as root";
    }
    if (::access(kSshd, X_OK) != 0) {
      GTEST_SKIP() << kSshd << " missing: install openssh-server (scripts/install-deps)";
    }
    char tmpl[] = "/tmp/dcslab-sshd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // sshd's privilege-separation directory; the package creates it only at boot.
    fs::create_directories("/run/sshd");
    ::chmod("/run/sshd", 0755);

    auto host = generate_ed25519(dir_ / "host_ed25519", "test-host");
    ASSERT_TRUE(host) << host.error().message;
    host_key_ = *host;
    auto client = generate_ed25519(dir_ / "client_ed25519", "test-client");
    ASSERT_TRUE(client) << client.error().message;
    std::ofstream(dir_ / "authorized_keys") << *client << "\n";

    port_ = free_port();
    ASSERT_GT(port_, 0);
    write_config(kSkipBashrc);
    start_sshd();
  }

  void write_config(const std::string& extra) {
    std::ofstream cfg(dir_ / "sshd_config");
    cfg << "Port " << port_ << "\n"
        << "ListenAddress 127.0.0.1\n"
        << "HostKey " << (dir_ / "host_ed25519").string() << "\n"
        << "AuthorizedKeysFile " << (dir_ / "authorized_keys").string() << "\n"
        << "PidFile none\nUsePAM no\nStrictModes no\n"
        << "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        << "LogLevel INFO\n"
        << extra;
  }

  void stop_sshd() {
    if (sshd_pid_ > 0) {
      ::kill(sshd_pid_, SIGTERM);
      int status = 0;
      ::waitpid(sshd_pid_, &status, 0);
      sshd_pid_ = -1;
    }
  }

  void start_sshd() {
    log_ = dir_ / "sshd.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const std::string cfg = (dir_ / "sshd_config").string();
    std::vector<char*> argv{const_cast<char*>(kSshd), const_cast<char*>("-D"),
                            const_cast<char*>("-e"), const_cast<char*>("-f"),
                            const_cast<char*>(cfg.c_str()), nullptr};
    const int rc = ::posix_spawn(&sshd_pid_, kSshd, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "cannot start " << kSshd;
    auto up = poll_until<bool>(RealClock::instance(), 10s, 20ms,
                               "test sshd on 127.0.0.1:" + std::to_string(port_),
                               [&](std::string* why) -> std::optional<bool> {
                                 if (port_open(port_)) return true;
                                 *why = "port closed; sshd log: " + slurp(log_);
                                 return std::nullopt;
                               });
    ASSERT_TRUE(up) << up.error().message;
  }

  void TearDown() override {
    stop_sshd();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  SshTarget target() const {
    SshTarget t;
    t.node = "dcs-test";
    t.host = "127.0.0.1";
    t.port = port_;
    t.user = "root";
    t.identity_file = dir_ / "client_ed25519";
    t.pinned_host_key = host_key_;
    t.known_hosts_for_messages = dir_ / "known_hosts";
    t.connect_timeout = 5000ms;
    return t;
  }

  std::unique_ptr<SshTransport> connect_ok() {
    auto t = SshTransport::connect(target());
    EXPECT_TRUE(t) << t.error().message;
    return t ? std::move(*t) : nullptr;
  }

  static CommandResult run(SshTransport& t, const std::string& cmd, ExecOptions o = {}) {
    auto r = t.exec(cmd, o);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : CommandResult{};
  }

  fs::path dir_;
  fs::path log_;
  std::string host_key_;
  int port_ = 0;
  pid_t sshd_pid_ = -1;
};

TEST_F(SshTransportTest, ExecCapturesStdout) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  auto r = run(*t, "echo hello");
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(SshTransportTest, ExitStatusIsReturned) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(run(*t, "exit 3").exit_status, 3);
  EXPECT_EQ(run(*t, "false").exit_status, 1);
}

TEST_F(SshTransportTest, StderrIsSeparateFromStdout) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  auto r = run(*t, "echo to-out; echo to-err >&2; echo more-out");
  EXPECT_EQ(r.out, "to-out\nmore-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST_F(SshTransportTest, StdinIsSentThenEof) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  ExecOptions o;
  o.stdin_data = "line one\nline two\n";
  auto r = run(*t, "cat", o);  // cat only ends because EOF follows the data
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.out, o.stdin_data);

  // Bigger than one SSH window (2 MiB > 1 MiB libssh default) while output flows back.
  o.stdin_data.assign(2 * 1024 * 1024, 'x');
  r = run(*t, "cat", o);
  EXPECT_EQ(r.out.size(), o.stdin_data.size());
}

TEST_F(SshTransportTest, EnvValuesAreQuotedForTheShell) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  ExecOptions o;
  const std::string tricky = "it's \"quoted\" $HOME `id` \\back slash;  two  spaces\nline2";
  o.env = {{"TRICKY", tricky}, {"PLAIN", "v"}};
  auto r = run(*t, "printf '%s|%s' \"$TRICKY\" \"$PLAIN\"", o);
  EXPECT_EQ(r.out, tricky + "|v");
  // Exported, so child processes see it too.
  r = run(*t, "sh -c 'printf %s \"$PLAIN\"'", o);
  EXPECT_EQ(r.out, "v");

  o.env = {{"BAD NAME", "x"}};
  EXPECT_THROW((void)t->exec("true", o), BadInput);
}

TEST_F(SshTransportTest, TimeoutClosesTheChannelAndTheSessionLivesOn) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  ExecOptions o;
  o.timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  // An unusual duration: pgrep below looks machine-wide, where other tests' nodes sleep too.
  auto r = t->exec("sleep 29.713\necho never", o);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  std::cout << "timeout message: " << r.error().message << "\n";
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout);
  EXPECT_NE(r.error().message.find("sleep 29.713"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("echo never"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("1 s"), std::string::npos) << r.error().message;
  EXPECT_LT(took, 3s);
  // The same session still serves commands, and the command was stopped on the node
  // (as root, sshd refuses SSH signal requests, so this is the transport's own kill).
  EXPECT_EQ(run(*t, "echo after").out, "after\n");
  // SIGKILL is sent when exec returns; on a loaded host the process may take a moment to
  // die, so "gone" within 2 s.
  EXPECT_EQ(run(*t, "for i in $(seq 20); do pgrep -f 'sleep 29[.]713' >/dev/null || { echo gone; "
                    "exit; }; sleep 0.1; done; echo alive").out,
            "gone\n");

  // A silent endless loop in the shell itself, with a PTY (killed by hangup or by us).
  o.pty = true;
  r = t->exec("while :; do sleep 0.2; done # loop-marker-7", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout);
  EXPECT_EQ(run(*t, "for i in $(seq 20); do pgrep -f 'loop-marker-[7]' >/dev/null || { echo "
                    "gone; exit; }; sleep 0.1; done; echo alive").out,
            "gone\n");
}

TEST_F(SshTransportTest, PtyPromptsAreAnsweredEachTime) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  ExecOptions o;
  o.timeout = 20s;
  const std::string secret = "s3cr3t-Pa55";
  o.prompts = {{"Password of root:", secret},
               {"Type password of root again for confirmation:", secret}};
  auto r = run(*t,
               "read -s -p \"Password of root: \" a; echo; "
               "read -s -p \"Type password of root again for confirmation: \" b; echo; "
               "[ \"$a\" = \"$b\" ] && [ \"$a\" = '" + secret + "' ] && echo \"User root created\"",
               o);
  EXPECT_EQ(r.exit_status, 0) << r.out;
  EXPECT_NE(r.out.find("User root created\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find(secret), std::string::npos) << "an answer came back in the output";

  // A prompt asked three times (a retry loop) is answered three times; echo-on prompts
  // (plain `read`) do not echo the answer because the transport turned echo off.
  o.prompts = {{"Value?", "abc"}};
  r = run(*t, "for i in 1 2 3; do read -p 'Value? ' v; echo \"got-$v\"; done", o);
  EXPECT_EQ(count_of(r.out, "got-abc"), 3u) << r.out;
  EXPECT_EQ(count_of(r.out, "abc"), 3u) << r.out;
}

TEST_F(SshTransportTest, PtyMergesStderr) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  ExecOptions o;
  o.pty = true;
  auto r = run(*t, "echo a; echo b >&2; tty >/dev/null && echo is-tty", o);
  EXPECT_EQ(r.out, "a\nb\nis-tty\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(SshTransportTest, PutWithModeAndOwnerThenGet) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  const std::string path = (dir_ / "remote-file.pem").string();
  std::string content = "-----BEGIN CERT-----\nabc\n";
  content += std::string(100000, 'z');  // several SFTP chunks
  FileAttributes attrs;
  attrs.mode = 0640;
  attrs.owner = "root";
  attrs.group = "daemon";
  auto put = t->put(content, path, attrs);
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(run(*t, "stat -c %a " + path).out, "640\n");
  EXPECT_EQ(run(*t, "stat -c %U:%G " + path).out, "root:daemon\n");
  auto back = t->get(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, content);

  // Overwriting narrows the mode of an existing file too.
  attrs = FileAttributes{};
  attrs.mode = 0600;
  ASSERT_TRUE(t->put("short", path, attrs));
  EXPECT_EQ(run(*t, "stat -c %a " + path).out, "600\n");
  EXPECT_EQ(*t->get(path), "short");

  auto missing = t->get((dir_ / "no-such-file").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
  auto no_dir = t->put("x", (dir_ / "no-dir" / "f").string(), attrs);
  ASSERT_FALSE(no_dir);
  EXPECT_EQ(no_dir.error().kind, Failure::Kind::NotFound);
}

TEST_F(SshTransportTest, WrongPinnedHostKeyIsRefusedBeforeAuthenticating) {
  auto other = generate_ed25519(dir_ / "other_ed25519", "impostor");
  ASSERT_TRUE(other);
  auto target_bad = target();
  target_bad.pinned_host_key = *other;
  auto t = SshTransport::connect(target_bad);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, Failure::Kind::Refused);
  const auto& msg = t.error().message;
  std::cout << "mismatch message: " << msg << "\n";
  EXPECT_NE(msg.find(fingerprint_sha256(*other)), std::string::npos) << msg;
  EXPECT_NE(msg.find(fingerprint_sha256(host_key_)), std::string::npos) << msg;
  EXPECT_NE(msg.find("dcs-test"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port_)), std::string::npos) << msg;
  EXPECT_NE(msg.find((dir_ / "known_hosts").string()), std::string::npos) << msg;
  EXPECT_EQ(slurp(log_).find("Accepted publickey"), std::string::npos) << slurp(log_);

  // A wrong key TYPE with the right blob is a mismatch too.
  auto parts = split_public_key(host_key_);
  target_bad.pinned_host_key = "ssh-rsa " + parts->base64;
  EXPECT_FALSE(SshTransport::connect(target_bad));
  // And the right key connects (and authenticates).
  ASSERT_TRUE(connect_ok());
  EXPECT_NE(slurp(log_).find("Accepted publickey"), std::string::npos);
}

TEST_F(SshTransportTest, ConnectFailuresHaveKinds) {
  auto closed = target();
  closed.port = free_port();
  auto r = SshTransport::connect(closed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused) << r.error().message;

  // A listener that never speaks SSH: the connect times out.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto silent = target();
  silent.port = ntohs(a.sin_port);
  silent.connect_timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  r = SshTransport::connect(silent);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout) << r.error().message;
  EXPECT_LT(took, 3s);

  auto wrong_key = target();
  wrong_key.identity_file = dir_ / "stranger";
  ASSERT_TRUE(generate_ed25519(wrong_key.identity_file, ""));
  r = SshTransport::connect(wrong_key);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused);
  EXPECT_NE(r.error().message.find("authentication"), std::string::npos) << r.error().message;
}

TEST_F(SshTransportTest, WaitForSshOnClosedPortTimesOutOnTheFakeClock) {
  auto closed = target();
  closed.port = free_port();
  FakeClock clock;
  RecordingProgress progress;
  const auto start = std::chrono::steady_clock::now();
  auto r = wait_for_ssh(closed, clock, 30s, progress);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Timeout);
  const auto& msg = r.error().message;
  std::cout << "wait message: " << msg << "\n";
  EXPECT_NE(msg.find("dcs-test"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(closed.port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("refused"), std::string::npos) << msg;  // the last error
  EXPECT_EQ(clock.sleeps, 30s / kSshPollInterval);
  EXPECT_FALSE(progress.waits.empty());
  EXPECT_LT(took, 5s) << "the fake clock should make the wait instant";
}

TEST_F(SshTransportTest, WaitForSshGivesUpWhenAskedWithTheReason) {
  auto closed = target();
  closed.port = free_port();
  FakeClock clock;
  RecordingProgress progress;
  int asked = 0;
  auto r = wait_for_ssh(closed, clock, 30s, progress, [&]() -> std::optional<std::string> {
    if (++asked < 3) return std::nullopt;
    return "the node's kernel panicked";
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Error);
  EXPECT_EQ(r.error().message, "the node's kernel panicked");
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(clock.sleeps, 2) << "two failed attempts, then the give-up before the third";
}

TEST_F(SshTransportTest, WaitForSshConnectsAndStopsAtOnceOnMismatch) {
  FakeClock clock;
  RecordingProgress progress;
  auto ok = wait_for_ssh(target(), clock, 30s, progress);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(clock.sleeps, 0);
  EXPECT_EQ(run(**ok, "echo up").out, "up\n");

  auto bad = target();
  auto other = generate_ed25519(dir_ / "other_ed25519", "");
  bad.pinned_host_key = *other;
  auto r = wait_for_ssh(bad, clock, 30s, progress);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::Refused);
  EXPECT_NE(r.error().message.find("MISMATCH"), std::string::npos);
  EXPECT_EQ(clock.sleeps, 0) << "a host-key mismatch is not worth waiting on";
}

TEST_F(SshTransportTest, SessionIsReusedAcrossCommands) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  // Every channel's shell is a child of the same per-connection sshd process.
  auto a = run(*t, "echo $PPID");
  auto b = run(*t, "echo $PPID");
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(count_of(slurp(log_), "Accepted publickey"), 1u);
}

TEST_F(SshTransportTest, ALostSessionIsReopenedOnTheNextCommand) {
  auto t = connect_ok();
  ASSERT_TRUE(t);
  // Kill this session's sshd process, as a node reboot would.
  (void)t->exec("kill -9 $PPID", {});
  auto r = t->exec("echo back", {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "back\n");
  EXPECT_EQ(count_of(slurp(log_), "Accepted publickey"), 2u);
}

TEST_F(SshTransportTest, TransportsRunInParallelAndOneTransportIsThreadSafe) {
  auto t1 = connect_ok();
  auto t2 = connect_ok();
  ASSERT_TRUE(t1 && t2);
  // Two nodes at once: two 2 s commands take about 2 s, not 4.
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int> good{0};
  std::thread th1([&] { if (run(*t1, "sleep 2; echo one").out == "one\n") ++good; });
  std::thread th2([&] { if (run(*t2, "sleep 2; echo two").out == "two\n") ++good; });
  th1.join();
  th2.join();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(good.load(), 2);
  EXPECT_LT(took, 3500ms);

  // Many threads on ONE transport: serialized by its mutex, every answer its own.
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        const std::string word = std::to_string(i) + "-" + std::to_string(j);
        if (run(*t1, "echo " + word).out == word + "\n") ++right;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(right.load(), 40);
}

// Per-command overhead is measured by bench/, not asserted here: timings in unit tests
// only make them flaky on a loaded machine.

}  // namespace
}  // namespace dcslab
