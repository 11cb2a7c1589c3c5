// The private libvirtd for real: started inside a network namespace this test creates,
// reached through its socket from outside its mount namespace, stopped without leftovers.
// Needs root and libvirtd (scripts/install-deps); says so and skips otherwise.
#include "providers/libvirt/private_libvirtd.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "providers/libvirt/libvirt_handles.h"
#include "lab/netns.h"
#include "base/process.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-pvd-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

bool pid_alive(const fs::path& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return false;
  const auto stat = proc_stat_fields(static_cast<pid_t>(pid));
  return stat && (*stat)[0] != "Z";
}

TEST(PrivateLibvirtd, RefusesTheHostNetworkNamespace) {
  if (!in_host_network_namespace()) GTEST_SKIP() << "this test run is already inside a network namespace";
  TempDir tmp;
  LabState state(tmp.path, "refuse");
  NullProgress progress;
  auto uri = ensure_private_libvirtd(state, progress);
  ASSERT_FALSE(uri.ok());
  EXPECT_EQ(uri.error().kind, Failure::Kind::Refused);
  EXPECT_TRUE(state.empty()) << "nothing may be recorded (or started) when refused";
}

TEST(PrivateLibvirtd, StartsInANamespaceAnswersAndStopsClean) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces, network namespaces)";
  if (!fs::exists("/usr/sbin/libvirtd")) GTEST_SKIP() << "libvirtd not installed (scripts/install-deps)";
  const std::string ns = "dcslab-pvd-" + std::to_string(::getpid());
  ASSERT_TRUE(netns_create(ns).ok());
  const int home_ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(home_ns, 0);
  ASSERT_TRUE(netns_enter(ns).ok());

  TempDir tmp;
  {
    LabState state(tmp.path, "pvd");
    NullProgress progress;
    auto uri = ensure_private_libvirtd(state, progress);
    ASSERT_TRUE(uri.ok()) << uri.error().message;
    EXPECT_EQ(state.get("libvirt_uri"), *uri);
    EXPECT_NE(uri->find((tmp.path / "labs/pvd/libvirtd/run/libvirt-sock").string()),
              std::string::npos);
    ASSERT_EQ(state.resources().size(), 1u);
    EXPECT_EQ(state.resources()[0].kind, kPrivateLibvirtdKind);

    // Reachable from outside its mount namespace, and it is a QEMU driver.
    auto conn = libvirt_connect(*uri);
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    VirChars caps(virConnectGetCapabilities(conn->get()));
    ASSERT_TRUE(caps);
    EXPECT_NE(std::string(caps.get()).find("<domain type='qemu'"), std::string::npos);
    conn->reset();

    // A second ensure finds it answering and starts nothing new.
    const fs::path pidfile = tmp.path / "labs/pvd/libvirtd/run/libvirtd.pid";
    std::ifstream first(pidfile);
    long pid1 = 0;
    first >> pid1;
    auto again = ensure_private_libvirtd(state, progress);
    ASSERT_TRUE(again.ok());
    std::ifstream second(pidfile);
    long pid2 = 0;
    second >> pid2;
    EXPECT_EQ(pid1, pid2);

    auto stopped = stop_private_libvirtd(state, state.resources()[0]);
    ASSERT_TRUE(stopped.ok()) << stopped.error().message;
    EXPECT_TRUE(state.empty());
    EXPECT_EQ(state.get("libvirt_uri"), "");
    EXPECT_FALSE(pid_alive(pidfile));
    EXPECT_FALSE(libvirt_connect(*uri).ok());
  }
  ASSERT_EQ(::setns(home_ns, CLONE_NEWNET), 0);
  ::close(home_ns);
  EXPECT_TRUE(netns_delete(ns).ok());
}

// The capabilities one daemon probed seed the next one's cache, and the next daemon
// uses them as they are (a re-probe would rewrite the file).
TEST(PrivateLibvirtd, QemuCapabilitiesAreKeptForTheNextDaemon) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces, network namespaces)";
  if (!fs::exists("/usr/sbin/libvirtd")) GTEST_SKIP() << "libvirtd not installed (scripts/install-deps)";
  const std::string ns = "dcslab-pvc-" + std::to_string(::getpid());
  ASSERT_TRUE(netns_create(ns).ok());
  const int home_ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(home_ns, 0);
  ASSERT_TRUE(netns_enter(ns).ok());

  TempDir tmp;
  const auto xml_files = [](const fs::path& dir) {
    std::map<std::string, fs::file_time_type> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".xml") out[e.path().filename()] = e.last_write_time();
    return out;
  };
  const auto probe = [](const std::string& uri) {
    auto conn = libvirt_connect(uri);
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    VirChars caps(virConnectGetCapabilities(conn->get()));  // needs QEMU's capabilities
    ASSERT_TRUE(caps);
  };
  NullProgress progress;
  LabState first(tmp.path, "pvc1");
  const fs::path kept = libvirt_capabilities_cache(first);
  EXPECT_EQ(kept, tmp.path / "cache/libvirt-qemu-capabilities");
  {
    auto uri = ensure_private_libvirtd(first, progress);
    ASSERT_TRUE(uri.ok()) << uri.error().message;
    probe(*uri);
    keep_libvirt_capabilities(first);
    ASSERT_TRUE(stop_private_libvirtd(first, first.resources()[0]).ok());
  }
  const auto probed = xml_files(kept);
  ASSERT_FALSE(probed.empty()) << "nothing kept in " << kept;
  EXPECT_EQ(probed, xml_files(tmp.path / "labs/pvc1/libvirtd/cache/qemu/capabilities"));

  LabState second(tmp.path, "pvc2");
  {
    auto uri = ensure_private_libvirtd(second, progress);
    ASSERT_TRUE(uri.ok()) << uri.error().message;
    probe(*uri);
    ASSERT_TRUE(stop_private_libvirtd(second, second.resources()[0]).ok());
  }
  EXPECT_EQ(xml_files(tmp.path / "labs/pvc2/libvirtd/cache/qemu/capabilities"), probed)
      << "the second daemon probed QEMU again instead of using the kept capabilities";

  ASSERT_EQ(::setns(home_ns, CLONE_NEWNET), 0);
  ::close(home_ns);
  EXPECT_TRUE(netns_delete(ns).ok());
}

}  // namespace
}  // namespace dcslab
