// Integration tests against libvirt's test driver (test:///default): in-process, no
// daemon, no QEMU, but the same API calls, XML validation and object life cycles as a
// real daemon. Its state is shared by every connection in the process, so each test
// uses its own lab name and leaves the driver as it found it.
#include "providers/libvirt/libvirt_provider.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include <fstream>

#include "providers/libvirt/libvirt_handles.h"
#include "providers/libvirt/libvirt_xml.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = source_dir();
constexpr const char* kTestUri = "test:///default";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-lvprov-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A qcow2 header is all the provider reads of the image disk (its virtual size).
void write_fake_qcow2(const fs::path& p, uint64_t size) {
  unsigned char h[512] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
  for (int i = 0; i < 8; ++i) h[24 + i] = static_cast<unsigned char>(size >> (56 - 8 * i));
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<char*>(h), sizeof h);
}

class RecordingProgress : public Progress {
 public:
  void phase(const std::string& m) override { phases.push_back(m); }
  void waiting(const std::string&, std::chrono::seconds, std::chrono::seconds) override {}
  void done(const std::string& m) override { phases.push_back(m); }
  std::vector<std::string> phases;
};

class LibvirtProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lab = load_lab(kSource / "fixtures/labs/dcs.yaml");
    lab.name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    lab.provider.accel = Accel::Tcg;  // the test driver runs no guest to probe
    state = std::make_unique<LabState>(tmp.path / "home", lab.name);
    image.disk = tmp.path / "disk.qcow2";
    image.kernel = tmp.path / "vmlinuz";
    image.initrd = tmp.path / "initrd.img";
    write_fake_qcow2(image.disk, 4ull << 30);
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
  }

  bool domain_exists(const std::string& name) {
    return VirDomain(virDomainLookupByName(conn.get(), name.c_str())) != nullptr;
  }
  bool domain_active(const std::string& name) {
    VirDomain d(virDomainLookupByName(conn.get(), name.c_str()));
    return d && virDomainIsActive(d.get()) == 1;
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

TEST_F(LibvirtProviderTest, UpStatusReupDownRemovesExactlyOurs) {
  // Someone else's domain, defined and running before the lab exists.
  const std::string bystander =
      "<domain type='test'><name>bystander-" + lab.name +
      "</name><memory>65536</memory><os><type>hvm</type></os></domain>";
  VirDomain other(virDomainDefineXML(conn.get(), bystander.c_str()));
  ASSERT_TRUE(other);
  ASSERT_EQ(virDomainCreate(other.get()), 0);

  auto up = provider->up(request, progress);
  ASSERT_TRUE(up.ok()) << up.error().message;

  // The network: active, host-only, with our bridge name.
  VirNetwork net(virNetworkLookupByName(conn.get(), libvirt_network_name(lab).c_str()));
  ASSERT_TRUE(net);
  EXPECT_EQ(virNetworkIsActive(net.get()), 1);
  // Three domains, running, each with its overlay from the pool.
  VirPool pool(virStoragePoolLookupByName(conn.get(), libvirt_pool_name(lab).c_str()));
  ASSERT_TRUE(pool);
  EXPECT_EQ(virStoragePoolNumOfVolumes(pool.get()), 3);
  std::vector<unsigned> ids;
  for (const auto& n : lab.nodes) {
    const std::string name = libvirt_domain_name(lab, n);
    VirDomain d(virDomainLookupByName(conn.get(), name.c_str()));
    ASSERT_TRUE(d) << name;
    EXPECT_EQ(virDomainIsActive(d.get()), 1);
    ids.push_back(virDomainGetID(d.get()));
    VirChars xml(virDomainGetXMLDesc(d.get(), 0));
    EXPECT_NE(std::string(xml.get()).find(libvirt_node_mac(lab, n)), std::string::npos);
  }
  EXPECT_EQ(state->get("accel"), "tcg");

  auto st = provider->status();
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(st->size(), 3u);
  for (const auto& s : *st) EXPECT_EQ(s.state, "running") << s.node;

  // 1 pool + 1 network + 3 volumes + 3 domains, each recorded once.
  const auto ledger = state->resources();
  EXPECT_EQ(ledger.size(), 8u);

  // A second up changes nothing: same resources, the running domains untouched.
  auto again = provider->up(request, progress);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(state->resources(), ledger);
  for (size_t i = 0; i < lab.nodes.size(); ++i) {
    VirDomain d(virDomainLookupByName(conn.get(), libvirt_domain_name(lab, lab.nodes[i]).c_str()));
    EXPECT_EQ(virDomainGetID(d.get()), ids[i]) << "a running domain was restarted";
  }

  auto down = provider->down(progress);
  ASSERT_TRUE(down.ok()) << down.error().message;
  for (const auto& n : lab.nodes) EXPECT_FALSE(domain_exists(libvirt_domain_name(lab, n)));
  EXPECT_FALSE(VirNetwork(virNetworkLookupByName(conn.get(), libvirt_network_name(lab).c_str())));
  EXPECT_FALSE(VirPool(virStoragePoolLookupByName(conn.get(), libvirt_pool_name(lab).c_str())));
  EXPECT_TRUE(state->empty());
  // Not ours: untouched. The driver's own "default" network too.
  EXPECT_TRUE(domain_active("bystander-" + lab.name));
  EXPECT_TRUE(VirNetwork(virNetworkLookupByName(conn.get(), "default")));

  auto status_after = provider->status();
  ASSERT_TRUE(status_after.ok());
  for (const auto& s : *status_after) EXPECT_EQ(s.state, "missing");

  virDomainDestroy(other.get());
  virDomainUndefine(other.get());
}

TEST_F(LibvirtProviderTest, DownSucceedsWhenResourcesAreAlreadyGone) {
  ASSERT_TRUE(provider->up(request, progress).ok());
  // As after a crash or a hand-made cleanup: one domain and the network vanish.
  const std::string gone = libvirt_domain_name(lab, lab.nodes[1]);
  VirDomain d(virDomainLookupByName(conn.get(), gone.c_str()));
  ASSERT_EQ(virDomainDestroy(d.get()), 0);
  ASSERT_EQ(virDomainUndefine(d.get()), 0);
  // A stopped (not removed) domain is started again by up.
  VirDomain stopped(virDomainLookupByName(conn.get(), libvirt_domain_name(lab, lab.nodes[2]).c_str()));
  ASSERT_EQ(virDomainDestroy(stopped.get()), 0);
  auto st = provider->status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)[1].state, "missing");
  EXPECT_EQ((*st)[2].state, "shut off");

  // up repairs both: the missing domain is defined again, the stopped one started.
  ASSERT_TRUE(provider->up(request, progress).ok());
  st = provider->status();
  ASSERT_TRUE(st.ok());
  for (const auto& s : *st) EXPECT_EQ(s.state, "running") << s.node;
  // Gone again before down.
  VirDomain again(virDomainLookupByName(conn.get(), gone.c_str()));
  ASSERT_EQ(virDomainDestroy(again.get()), 0);
  ASSERT_EQ(virDomainUndefine(again.get()), 0);

  auto down = provider->down(progress);
  ASSERT_TRUE(down.ok()) << down.error().message;
  EXPECT_TRUE(state->empty());
  EXPECT_FALSE(domain_exists(libvirt_domain_name(lab, lab.nodes[2])));
}

TEST_F(LibvirtProviderTest, ForeignDomainWithOurNameIsRefusedAndLeftAlone) {
  // Same name, no dcslab metadata, not in the ledger.
  const std::string name = libvirt_domain_name(lab, lab.nodes[0]);
  const std::string xml = "<domain type='test'><name>" + name +
                          "</name><memory>65536</memory><os><type>hvm</type></os></domain>";
  VirDomain foreign(virDomainDefineXML(conn.get(), xml.c_str()));
  ASSERT_TRUE(foreign);

  auto up = provider->up(request, progress);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind, Failure::Kind::Refused);
  EXPECT_NE(up.error().message.find(name), std::string::npos);

  ASSERT_TRUE(provider->down(progress).ok());
  EXPECT_TRUE(domain_exists(name)) << "down removed a domain that was not the lab's";
  EXPECT_TRUE(state->empty());
  virDomainUndefine(foreign.get());
}

TEST_F(LibvirtProviderTest, FaultsFollowTheDomainState) {
  ASSERT_TRUE(provider->up(request, progress).ok());
  const Node& n = lab.nodes[1];
  const std::string name = libvirt_domain_name(lab, n);
  auto state_of = [&](const std::string& node) {
    const auto st = provider->status();
    if (st)
      for (const auto& s : *st)
        if (s.node == node) return s.state;
    return std::string("?");
  };
  auto crash = provider->crash(n.name, progress);
  ASSERT_TRUE(crash.ok()) << crash.error().message;
  EXPECT_FALSE(domain_active(name));
  EXPECT_TRUE(domain_exists(name));  // the definition, its overlay and identity disk stay
  EXPECT_EQ(state_of(n.name), "shut off");
  EXPECT_EQ(state_of(lab.nodes[0].name), "running");
  EXPECT_TRUE(provider->crash(n.name, progress).ok());  // already off
  auto pause_off = provider->pause(n.name, progress);
  ASSERT_FALSE(pause_off.ok());
  EXPECT_EQ(pause_off.error().kind, Failure::Kind::Refused);
  EXPECT_NE(pause_off.error().message.find("is shut off"), std::string::npos);

  auto start = provider->start(n.name, progress);
  ASSERT_TRUE(start.ok()) << start.error().message;
  EXPECT_TRUE(domain_active(name));
  ASSERT_TRUE(provider->pause(n.name, progress).ok());
  EXPECT_EQ(state_of(n.name), "paused");
  auto start_paused = provider->start(n.name, progress);
  ASSERT_FALSE(start_paused.ok());
  EXPECT_NE(start_paused.error().message.find("resume it"), std::string::npos);
  ASSERT_TRUE(provider->resume(n.name, progress).ok());
  EXPECT_EQ(state_of(n.name), "running");
  EXPECT_TRUE(provider->resume(n.name, progress).ok());  // already running

  // The test driver has no live device update; the link-state XML is checked in
  // libvirt_xml_test, the real update by hand on a TCG lab (docs/FAULTS.md).
  auto cut = provider->partition(n.name, progress);
  if (cut.ok()) {
    VirDomain d(virDomainLookupByName(conn.get(), name.c_str()));
    VirChars xml(virDomainGetXMLDesc(d.get(), 0));
    EXPECT_EQ(interface_link_state(xml.get(), libvirt_node_mac(lab, n)), "down");
    EXPECT_TRUE(provider->heal(n.name, progress).ok());
  } else {
    EXPECT_NE(cut.error().message.find("setting the link of " + name + " down"), std::string::npos)
        << cut.error().message;
  }
  auto unknown = provider->crash("dcs-09", progress);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, Failure::Kind::NotFound);
  ASSERT_TRUE(provider->down(progress).ok());
  auto gone = provider->start(n.name, progress);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("is lab " + lab.name + " up?"), std::string::npos);
}

TEST_F(LibvirtProviderTest, NicMatchIsTheDomainsMac) {
  for (const auto& n : lab.nodes)
    EXPECT_EQ(provider->nic_match(n), "MACAddress=" + libvirt_node_mac(lab, n));
  EXPECT_EQ(provider->console_log("dcs-01"), state->node_dir("dcs-01") / "console.log");
}

TEST(Qcow2, VirtualSizeFromHeader) {
  TempDir tmp;
  write_fake_qcow2(tmp.path / "a.qcow2", 123456789012ull);
  auto s = qcow2_virtual_size(tmp.path / "a.qcow2");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 123456789012ull);
  std::ofstream(tmp.path / "raw") << "not a qcow2 image at all, just some text here";
  EXPECT_FALSE(qcow2_virtual_size(tmp.path / "raw").ok());
  EXPECT_EQ(qcow2_virtual_size(tmp.path / "missing").error().kind, Failure::Kind::NotFound);
}

}  // namespace
}  // namespace dcslab
