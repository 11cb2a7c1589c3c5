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

TEST_F(ConsolePanic, NoLogOrAHealthyBootIsNoPanic) {
  EXPECT_FALSE(console_panic(log_));
  write("[    0.000000] Linux version 6.1.0-27-cloud-amd64\r\n"
        "[    2.100000] systemd[1]: Started ssh.service\r\n"
        "panic=-1 on the command line is not a panic\r\n");
  EXPECT_FALSE(console_panic(log_));
}

TEST_F(ConsolePanic, NamesTheLogAndThePanicLine) {
  write("[    1.2] VFS: Cannot open root device \"vda\"\r\n"
        "[    1.3] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n"
        "[    1.4] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---\r\n");
  const auto why = console_panic(log_);
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
  const auto why = console_panic(log_);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("Attempted to kill init!"), std::string::npos) << *why;
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
