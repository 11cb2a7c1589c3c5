#include "providers/libvirt/libvirt_uri.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace dcslab {
namespace {

TEST(LibvirtUri, RemoteOrLocal) {
  for (const char* local : {"qemu:///system", "qemu:///session", "test:///default",
                            "qemu+unix:///system?socket=/run/x/libvirt-sock"}) {
    EXPECT_FALSE(libvirt_uri_is_remote(local)) << local;
  }
  for (const char* remote : {"qemu+ssh://hv1/system", "qemu+ssh://root@hv1:2222/system",
                             "qemu+tcp://10.0.0.5/system", "qemu://hv1/system",
                             "qemu+libssh2://u@hv1/system?known_hosts=/k",
                             "qemu+tls://localhost/system"}) {
    EXPECT_TRUE(libvirt_uri_is_remote(remote)) << remote;
  }
}

TEST(LibvirtQemuPidfile, WhereEachLocalDaemonKeepsIt) {
  EXPECT_EQ(libvirt_qemu_pidfile("qemu:///system", "dcslab-x-dcs-00"),
            "/run/libvirt/qemu/dcslab-x-dcs-00.pid");
  EXPECT_EQ(libvirt_qemu_pidfile("qemu:///system?socket=/s/labs/x/libvirtd/run/libvirt-sock", "d"),
            "/s/labs/x/libvirtd/run/qemu/d.pid");
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  EXPECT_EQ(libvirt_qemu_pidfile("qemu:///session", "d"), "/run/user/1000/libvirt/qemu/run/d.pid");
  EXPECT_EQ(libvirt_qemu_pidfile("test:///default", "d"), "");
  EXPECT_EQ(libvirt_qemu_pidfile("qemu+ssh://hv1/system", "d"), "");
}

TEST(LibvirtQemuProcess, OnlyAProcessWhoseCommandLineNamesTheDomain) {
  namespace fs = std::filesystem;
  // A stand-in for QEMU: its argv holds "-name guest=<domain>,debug-threads=on".
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execlp("sh", "sh", "-c", "sleep 30; :", "-name", "guest=dcslab-x-dcs-00,debug-threads=on",
             nullptr);
    ::_exit(127);
  }
  // Until the exec is visible.
  std::string cmdline;
  for (int i = 0; i < 200 && cmdline.find("guest=") == std::string::npos; ++i) {
    std::ifstream in("/proc/" + std::to_string(child) + "/cmdline");
    cmdline.assign(std::istreambuf_iterator<char>(in), {});
    ::usleep(10000);
  }
  const fs::path pidfile = fs::temp_directory_path() / ("dcslab-qemu-" + std::to_string(::getpid()) + ".pid");
  std::ofstream(pidfile) << child << "\n";
  auto id = libvirt_qemu_process(pidfile, "dcslab-x-dcs-00");
  // Names of which the command line's is a prefix, or that are a prefix of it: not ours.
  EXPECT_FALSE(libvirt_qemu_process(pidfile, "dcslab-x-dcs-0"));
  EXPECT_FALSE(libvirt_qemu_process(pidfile, "dcslab-x-dcs-000"));
  EXPECT_FALSE(libvirt_qemu_process(pidfile, "x-dcs-00"));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(id) << cmdline;
  EXPECT_EQ(id->pid, child);
  // A process not naming the domain (this test), a pid that is gone, no pid file.
  std::ofstream(pidfile) << ::getpid() << "\n";
  EXPECT_FALSE(libvirt_qemu_process(pidfile, "dcslab-x-dcs-00"));
  std::ofstream(pidfile) << child << "\n";
  EXPECT_FALSE(libvirt_qemu_process(pidfile, "dcslab-x-dcs-00"));
  EXPECT_FALSE(libvirt_qemu_process((pidfile.string() + ".none"), "dcslab-x-dcs-00"));
  fs::remove(pidfile);
}

}  // namespace
}  // namespace dcslab
