// Lab snapshots on libvirt: the snapshot XML parsed back, and save / list / revert /
// delete / down against libvirt's test driver (test:///default), which implements the
// snapshot API (with <state> and the current snapshot) but has no QEMU monitor, so a
// revert there takes libvirt's own path. The ordering across nodes is tested with a
// recording fake in consistent_snapshot_test.cc; here the snapshots' recorded <state>
// shows that every node was paused when it was saved.
#include <gtest/gtest.h>
#include "base/paths.h"

#include <fstream>
#include <pugixml.hpp>

#include "providers/libvirt/libvirt_handles.h"
#include "providers/libvirt/libvirt_provider.h"
#include "providers/libvirt/libvirt_xml.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = source_dir();
constexpr const char* kTestUri = "test:///default";

TEST(LibvirtSnapshotXml, InternalWithMemoryAndTheIdentityDiskExcluded) {
  SnapshotSpec spec;
  spec.name = "base";
  spec.description = "lab <dcs> & co";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(snapshot_xml(spec).c_str()));
  auto s = doc.child("domainsnapshot");
  EXPECT_EQ(std::string(s.child_value("name")), "base");
  EXPECT_EQ(std::string(s.child_value("description")), "lab <dcs> & co");
  EXPECT_EQ(std::string(s.child("memory").attribute("snapshot").value()), "internal");
  std::map<std::string, std::string> disks;
  for (auto d : s.child("disks").children("disk"))
    disks[d.attribute("name").value()] = d.attribute("snapshot").value();
  EXPECT_EQ(disks, (std::map<std::string, std::string>{{"vda", "internal"}, {"vdb", "no"}}));
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-lvsnap-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

class RecordingProgress : public Progress {
 public:
  void phase(const std::string& m) override { lines.push_back(m); }
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string& m) override { lines.push_back(m); }
  bool saw(const std::string& needle) const {
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::vector<std::string> lines;
};

class LibvirtSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lab = load_lab(kSource / "fixtures/labs/dcs.yaml");
    lab.name = std::string("snap-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    lab.provider.accel = Accel::Tcg;
    state = std::make_unique<LabState>(tmp.path / "home", lab.name);
    image.disk = tmp.path / "disk.qcow2";
    image.kernel = tmp.path / "vmlinuz";
    image.initrd = tmp.path / "initrd.img";
    unsigned char h[512] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    h[28] = 1;  // 4 GiB virtual size, big-endian at offset 24
    std::ofstream(image.disk, std::ios::binary).write(reinterpret_cast<char*>(h), sizeof h);
    for (const auto& n : lab.nodes) {
      const fs::path id = tmp.path / (n.name + "-identity.tar");
      std::ofstream(id) << "tar";
      request.identity[n.name] = id;
    }
    request.lab = &lab;
    request.image = &image;
    LibvirtProviderOptions o;
    o.uri = kTestUri;
    o.home = tmp.path / "home";
    provider = make_libvirt_provider(lab, *state, o);
    auto c = libvirt_connect(kTestUri);
    ASSERT_TRUE(c.ok()) << c.error().message;
    conn = std::move(*c);
    auto up = provider->up(request, progress);
    ASSERT_TRUE(up.ok()) << up.error().message;
  }

  void TearDown() override { (void)provider->down(progress); }

  VirDomain domain(const Node& n) {
    return VirDomain(virDomainLookupByName(conn.get(), libvirt_domain_name(lab, n).c_str()));
  }
  int domain_state(const Node& n) {
    int st = -1, reason = 0;
    virDomainGetState(domain(n).get(), &st, &reason, 0);
    return st;
  }
  std::string snapshot_state(const Node& n, const std::string& name) {
    VirDomain d = domain(n);
    VirSnapshot s(virDomainSnapshotLookupByName(d.get(), name.c_str(), 0));
    if (!s) return "missing";
    VirChars xml(virDomainSnapshotGetXMLDesc(s.get(), 0));
    pugi::xml_document doc;
    doc.load_string(xml.get());
    return doc.child("domainsnapshot").child_value("state");
  }
  std::string current_snapshot(const Node& n) {
    VirDomain d = domain(n);
    VirSnapshot s(virDomainSnapshotCurrent(d.get(), 0));
    return s ? virDomainSnapshotGetName(s.get()) : "";
  }
  size_t ledger_count(const std::string& kind) {
    size_t n = 0;
    for (const auto& r : state->resources()) n += r.kind == kind;
    return n;
  }

  TempDir tmp;
  Lab lab;
  std::unique_ptr<LabState> state;
  Image image;
  UpRequest request;
  std::unique_ptr<Provider> provider;
  VirConnect conn;
  RecordingProgress progress;
};

TEST_F(LibvirtSnapshotTest, SaveTakesEveryNodePausedAndLeavesThemRunning) {
  auto saved = provider->snapshot_save("base", progress);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  for (const auto& n : lab.nodes) {
    EXPECT_EQ(snapshot_state(n, "base"), "paused") << n.name << " was saved while running";
    EXPECT_EQ(domain_state(n), VIR_DOMAIN_RUNNING) << n.name;
    EXPECT_TRUE(state->has(kLibvirtSnapshotKind, libvirt_domain_name(lab, n) + "/base"));
  }
  auto list = provider->snapshot_list();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "base");
  EXPECT_TRUE((*list)[0].complete);
  EXPECT_EQ((*list)[0].nodes, lab.node_names());
  EXPECT_GT((*list)[0].created, 0);

  auto again = provider->snapshot_save("base", progress);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, Failure::Kind::Refused);
  EXPECT_EQ(ledger_count(kLibvirtSnapshotKind), 3u);
}

TEST_F(LibvirtSnapshotTest, RevertGoesBackToTheNamedSnapshotOnEveryNode) {
  ASSERT_TRUE(provider->snapshot_save("base", progress).ok());
  ASSERT_TRUE(provider->snapshot_save("later", progress).ok());
  for (const auto& n : lab.nodes) ASSERT_EQ(current_snapshot(n), "later");

  auto r = provider->snapshot_revert("base", progress);
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const auto& n : lab.nodes) {
    EXPECT_EQ(current_snapshot(n), "base") << n.name;
    EXPECT_EQ(domain_state(n), VIR_DOMAIN_RUNNING) << n.name;
  }
  // The test driver has no QEMU monitor: the fast path said so once and libvirt reverted.
  EXPECT_TRUE(progress.saw("reverting through libvirt instead"));

  auto missing = provider->snapshot_revert("nope", progress);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
}

TEST_F(LibvirtSnapshotTest, RevertOfASnapshotMissingOnOneNodeTouchesNothing) {
  ASSERT_TRUE(provider->snapshot_save("base", progress).ok());
  VirDomain d = domain(lab.nodes[1]);
  VirSnapshot s(virDomainSnapshotLookupByName(d.get(), "base", 0));
  ASSERT_EQ(virDomainSnapshotDelete(s.get(), 0), 0);
  auto r = provider->snapshot_revert("base", progress);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing on dcs-01"), std::string::npos) << r.error().message;
  for (const auto& n : lab.nodes) EXPECT_EQ(domain_state(n), VIR_DOMAIN_RUNNING);
  auto list = provider->snapshot_list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE((*list)[0].complete);
}

TEST_F(LibvirtSnapshotTest, DeleteRemovesEveryNodesSnapshotAndItsLedgerEntries) {
  ASSERT_TRUE(provider->snapshot_save("base", progress).ok());
  auto del = provider->snapshot_delete("base", progress);
  ASSERT_TRUE(del.ok()) << del.error().message;
  for (const auto& n : lab.nodes) EXPECT_EQ(snapshot_state(n, "base"), "missing");
  EXPECT_EQ(ledger_count(kLibvirtSnapshotKind), 0u);
  auto list = provider->snapshot_list();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(provider->snapshot_delete("base", progress).error().kind, Failure::Kind::NotFound);
}

TEST_F(LibvirtSnapshotTest, DownRemovesSnapshotsAndTheirDomains) {
  ASSERT_TRUE(provider->snapshot_save("base", progress).ok());
  ASSERT_TRUE(provider->snapshot_save("two", progress).ok());
  // One snapshot libvirt knows and the ledger does not (as if recorded by another tool):
  // the domain must still be undefined.
  VirDomain d0 = domain(lab.nodes[0]);
  SnapshotSpec extra;
  extra.name = "foreign";
  VirSnapshot made(virDomainSnapshotCreateXML(d0.get(), snapshot_xml(extra).c_str(), 0));
  ASSERT_TRUE(made);
  auto down = provider->down(progress);
  ASSERT_TRUE(down.ok()) << down.error().message;
  EXPECT_TRUE(state->empty());
  for (const auto& n : lab.nodes) EXPECT_FALSE(domain(n)) << n.name;
}

TEST_F(LibvirtSnapshotTest, SaveFailsCleanlyWhenANodeIsMissing) {
  VirDomain d = domain(lab.nodes[2]);
  ASSERT_EQ(virDomainDestroy(d.get()), 0);
  ASSERT_EQ(virDomainUndefine(d.get()), 0);
  auto r = provider->snapshot_save("base", progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Failure::Kind::NotFound);
  EXPECT_NE(r.error().message.find("dcs-02"), std::string::npos) << r.error().message;
  EXPECT_EQ(ledger_count(kLibvirtSnapshotKind), 0u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(domain_state(lab.nodes[i]), VIR_DOMAIN_RUNNING);
    EXPECT_EQ(snapshot_state(lab.nodes[i], "base"), "missing");
  }
}

}  // namespace
}  // namespace dcslab
