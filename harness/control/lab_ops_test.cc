#include "control/lab_ops.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class ConsolePanic : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = fs::temp_directory_path() / ("dcslab-console-" + std::to_string(::getpid()) + ".log");
  }
  void TearDown() override { fs::remove(log_); }
  void write(const std::string& text) { std::ofstream(log_, std::ios::binary) << text; }
  fs::path log_;
};

TEST(SshConnectTimeout, EmulatedCpusGetABootsHandshakeTimeOthersTheDefault) {
  const auto home = fs::temp_directory_path() / ("dcslab-connect-timeout-" + std::to_string(::getpid()));
  LabState state(home, "t");
  EXPECT_EQ(ssh_connect_timeout(state), SshTarget{}.connect_timeout);  // nspawn: no accel
  state.set("accel", "kvm");
  EXPECT_EQ(ssh_connect_timeout(state), SshTarget{}.connect_timeout);
  state.set("accel", "tcg");
  EXPECT_EQ(ssh_connect_timeout(state), kSshBootHandshakeTimeout);
  EXPECT_GT(kSshBootHandshakeTimeout, SshTarget{}.connect_timeout);
  fs::remove_all(home);
}

TEST_F(ConsolePanic, NoLogOrAHealthyBootIsNoPanic) {
  EXPECT_FALSE(console_fatal(log_));
  write("[    0.000000] Linux version 6.1.0-27-cloud-amd64\r\n"
        "[    2.100000] systemd[1]: Started ssh.service\r\n"
        "panic=-1 on the command line is not a panic\r\n");
  EXPECT_FALSE(console_fatal(log_));
}

TEST_F(ConsolePanic, NamesTheLogAndThePanicLine) {
  write("[    1.2] VFS: Cannot open root device \"vda\"\r\n"
        "[    1.3] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n"
        "[    1.4] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---\r\n");
  const auto why = console_fatal(log_);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find(log_.string()), std::string::npos) << *why;
  EXPECT_NE(why->find("Kernel panic - not syncing: VFS: Unable to mount root fs on "
                      "unknown-block(0,0)"),
            std::string::npos)
      << *why;
  EXPECT_EQ(why->find('\r'), std::string::npos);
}

TEST_F(ConsolePanic, FoundAtTheEndOfALongLog) {
  write(std::string(200000, 'x') + "\nKernel panic - not syncing: Attempted to kill init!\n");
  const auto why = console_fatal(log_);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("Attempted to kill init!"), std::string::npos) << *why;
}

// A container whose systemd cannot start (here: the host out of inotify instances, as
// seen with four tests' labs at once) is named at once, with the cause, not after the
// SSH wait's 240 s.
TEST_F(ConsolePanic, AContainersSystemdGivingUpIsNamedWithTheInotifyLimit) {
  write("Welcome to Debian GNU/Linux 12 (bookworm)!\n"
        "\x1b[0;1;31mFailed to create control group inotify object: Too many open files\x1b[0m\n"
        "\x1b[0;1;31mFailed to allocate manager object: Too many open files\x1b[0m\n"
        "[!!!!!!] Failed to allocate manager object.\n"
        "Exiting PID 1...\n"
        "Container dcslab-t-dcs-00 failed with error code 255.\n");
  const auto why = console_fatal(log_);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("the node's systemd gave up (" + log_.string() + "): "), std::string::npos) << *why;
  EXPECT_NE(why->find("Failed to allocate manager object: Too many open files"), std::string::npos) << *why;
  EXPECT_NE(why->find("fs.inotify.max_user_instances = "), std::string::npos) << *why;
}

TEST_F(ConsolePanic, TheContainersEndAsNspawnReportsIt) {
  write("Container dcslab-t-dcs-01 terminated by signal KILL.\n");
  const auto why = console_fatal(log_);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("the container ended"), std::string::npos) << *why;
  EXPECT_NE(why->find("Container dcslab-t-dcs-01 terminated by signal KILL."), std::string::npos) << *why;
  // Not a line of nspawn's: a program that happens to say the words.
  write("etcd: peer failed with error code 3\n");
  EXPECT_FALSE(console_fatal(log_));
}

// The log goes on across boots: an earlier boot's end is not this boot's.
TEST_F(ConsolePanic, OnlyWhatCameAfterTheOffsetCounts) {
  const std::string before = "Exiting PID 1...\nContainer dcslab-t-dcs-00 terminated by signal KILL.\n";
  write(before + "Welcome to Debian GNU/Linux 12 (bookworm)!\n");
  EXPECT_TRUE(console_fatal(log_, 0));
  EXPECT_FALSE(console_fatal(log_, before.size()));
}

TEST(SshConfig, LogsInAsTheLabsLoginUser) {
  const Lab lab = parse_lab(
      "name: t\nnetwork: {cidr: 10.9.0.0/24, host: 10.9.0.1, domain: example.test}\n"
      "login: {user: ops}\nnodes:\n  - {name: a, ip: 10.9.0.2}\n",
      "t.yaml");
  // Only looked at, never written: no folder is made.
  const LabState state(fs::temp_directory_path() / ("dcslab-ssh-config-" + std::to_string(::getpid())), "t");
  const std::string conf = ssh_config(lab, state, "/usr/bin/dcslab", "t.yaml");
  EXPECT_NE(conf.find("Host a a.example.test\n  HostName 10.9.0.2\n  User ops\n"), std::string::npos)
      << conf;
  EXPECT_EQ(conf.find("tux"), std::string::npos) << conf;
}

}  // namespace
}  // namespace dcslab
