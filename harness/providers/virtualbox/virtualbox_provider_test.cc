// The VirtualBox provider against fixtures/vbox/fake-VBoxManage, which records every
// argv and answers in VirtualBox 7's formats from a scripted state. The recorded up and
// down are compared with the golden transcripts in fixtures/vbox/golden/ (temp paths
// replaced by <TMP>); DCSLAB_UPDATE_GOLDEN=1 rewrites them (then review the diff
// against the VBoxManage manual).
#include "providers/virtualbox/virtualbox_provider.h"
#include "base/file.h"
#include "base/paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "providers/virtualbox/vboxmanage.h"

namespace dcslab {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

const fs::path kSource = source_dir();

// A file the test expects may be missing: that reads as empty, and the assertion says so.
std::string read(const fs::path& p) {
  auto text = read_file(p);
  return text ? std::move(*text) : std::string();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

const char* kLab =
    "name: dcs\nnetwork:\n  name: patroni\n  cidr: 192.168.56.0/24\n  host: 192.168.56.1\n"
    "  domain: patroni.mydomain\nprovider:\n  type: virtualbox\ndefaults:\n  memory: 1024\n  cpus: 2\n"
    "nodes:\n  - name: dcs-00\n    ip: 192.168.56.10\n  - name: dcs-01\n    ip: 192.168.56.11\n"
    "  - name: dcs-02\n    ip: 192.168.56.12\n";

// VirtualBox as freshly installed on Linux: vboxnet0 with VirtualBox's default DHCP
// server (192.168.56.100, leases .101-.254).
const char* kVagrantStyleHost = R"({
  "hostonlyifs": [{"name": "vboxnet0", "ip": "192.168.56.1", "netmask": "255.255.255.0", "dhcp": true}],
  "dhcpservers": [{"network": "HostInterfaceNetworking-vboxnet0", "ip": "192.168.56.100",
                   "lower": "192.168.56.101", "upper": "192.168.56.254", "enabled": true}]
})";

class VirtualBoxProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("dcslab-vbox-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fake_ = tmp_ / "fake";
    fs::create_directories(fake_);
    ::setenv("DCSLAB_FAKE_VBOX_DIR", fake_.c_str(), 1);
    write(tmp_ / "dev/vboxdrv", "");
    write(tmp_ / "image/bootable.vdi", "base VDI\n");
    lab_ = parse_lab(kLab, "/labs/dcs.yaml");
    state_ = std::make_unique<LabState>(tmp_ / "home", lab_.name);
    options_.vboxmanage = (kSource / "fixtures/vbox/fake-VBoxManage").string();
    options_.vboxdrv = tmp_ / "dev/vboxdrv";
    options_.networks_conf = tmp_ / "etc/vbox/networks.conf";
    options_.base_disk = [this](const Image&, Progress&) -> Expected<fs::path> {
      ++base_disk_calls_;
      return tmp_ / "image/bootable.vdi";
    };
    options_.clock = &clock_;
    // The fake's interfaces exist only in its state file; real VirtualBox's are seen by
    // getifaddrs (the two tests of the refusal say otherwise).
    options_.network_is_local = [this](const Lab&) { return network_is_local_; };
    image_.dir = tmp_ / "image";
    request_.lab = &lab_;
    request_.image = &image_;
    for (const auto& n : lab_.nodes) {
      const fs::path tar = state_->node_dir(n.name) / "identity.tar";
      write(tar, "dcslab-identity/ of " + n.name);
      request_.identity[n.name] = tar;
    }
  }
  void TearDown() override {
    ::unsetenv("DCSLAB_FAKE_VBOX_DIR");
    fs::remove_all(tmp_);
  }

  std::unique_ptr<Provider> provider() { return make_virtualbox_provider(lab_, *state_, options_); }
  void host(const std::string& state_json) { write(fake_ / "state.json", state_json); }
  nlohmann::json fake_state() const { return nlohmann::json::parse(read(fake_ / "state.json")); }
  std::string transcript() const { return replace_all(read(fake_ / "argv.log"), tmp_.string(), "<TMP>"); }
  void clear_transcript() const { fs::remove(fake_ / "argv.log"); }
  std::vector<std::string> ledger() const {
    std::vector<std::string> out;
    for (const auto& r : state_->resources())
      out.push_back(r.kind + " " + replace_all(r.name, tmp_.string(), "<TMP>"));
    return out;
  }

  void expect_golden(const std::string& name) const {
    const fs::path golden = kSource / "fixtures/vbox/golden" / name;
    const std::string got = transcript();
    if (const char* u = std::getenv("DCSLAB_UPDATE_GOLDEN"); u && std::string(u) == "1") {
      write(golden, got);
      return;
    }
    EXPECT_EQ(got, read(golden)) << "recorded VBoxManage calls differ from " << golden
                                 << " (DCSLAB_UPDATE_GOLDEN=1 rewrites it; review the diff)";
  }

  fs::path tmp_, fake_;
  Lab lab_;
  std::unique_ptr<LabState> state_;
  VirtualBoxProviderOptions options_;
  FakeClock clock_;
  Image image_;
  UpRequest request_;
  NullProgress progress_;
  int base_disk_calls_ = 0;
  bool network_is_local_ = true;
};

TEST_F(VirtualBoxProviderTest, UpOnAFreshHostCreatesTheInterfaceDisksAndVms) {
  host("{}");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_TRUE(up.ok()) << up.error().message;
  expect_golden("up-fresh.txt");

  const auto st = fake_state();
  ASSERT_EQ(st["hostonlyifs"].size(), 1u);
  EXPECT_EQ(st["hostonlyifs"][0]["name"], "vboxnet0");
  EXPECT_EQ(st["hostonlyifs"][0]["ip"], "192.168.56.1");
  EXPECT_TRUE(st["dhcpservers"].empty());  // no DHCP server added
  ASSERT_EQ(st["vms"].size(), 3u);
  for (const auto& n : lab_.nodes) {
    const auto& vm = st["vms"][vbox_vm_name(lab_, n)];
    EXPECT_EQ(vm["state"], "running");
    EXPECT_EQ(vm["settings"]["--macaddress2"], vbox_mac_argument(vbox_node_mac(lab_, n)));
    EXPECT_EQ(vm["attachments"]["0-0"], (state_->node_dir(n.name) / "root.vdi").string());
    EXPECT_EQ(vm["attachments"]["0-1"], (state_->node_dir(n.name) / "identity.vdi").string());
    // The identity disk carries the tar unchanged (convertfromraw of the tar itself).
    EXPECT_EQ(read(state_->node_dir(n.name) / "identity.vdi"), "dcslab-identity/ of " + n.name);
    EXPECT_EQ(p->nic_match(n), "MACAddress=" + vbox_node_mac(lab_, n));
  }
  EXPECT_EQ(ledger(), (std::vector<std::string>{
                          "vbox-hostonlyif vboxnet0",
                          "vbox-base-disk <TMP>/image/bootable.vdi",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-00/root.vdi",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-00/identity.vdi",
                          "vbox-vm dcslab-dcs-dcs-00",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-01/root.vdi",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-01/identity.vdi",
                          "vbox-vm dcslab-dcs-dcs-01",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-02/root.vdi",
                          "vbox-disk <TMP>/home/labs/dcs/nodes/dcs-02/identity.vdi",
                          "vbox-vm dcslab-dcs-dcs-02",
                      }));
  EXPECT_NE(read(p->console_log("dcs-01")).find("fake console of dcslab-dcs-dcs-01"), std::string::npos);

  // status: from showvminfo --machinereadable.
  auto status = p->status();
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->size(), 3u);
  for (const auto& s : *status) EXPECT_EQ(s.state, "running") << s.node;
  EXPECT_EQ((*status)[2].detail, "dcslab-dcs-dcs-02");

  // down: everything the ledger names, newest first, and the fake host is as before.
  clear_transcript();
  auto down = p->down(progress_);
  ASSERT_TRUE(down.ok()) << down.error().message;
  expect_golden("down-fresh.txt");
  const auto after = fake_state();
  EXPECT_TRUE(after["vms"].empty());
  EXPECT_TRUE(after["hostonlyifs"].empty());
  EXPECT_TRUE(after["media"].empty());
  EXPECT_TRUE(state_->empty());
  EXPECT_TRUE(fs::exists(tmp_ / "image/bootable.vdi"));  // the image's disk is never deleted
  for (const auto& n : lab_.nodes) {
    EXPECT_FALSE(fs::exists(state_->node_dir(n.name) / "root.vdi"));
    EXPECT_FALSE(fs::exists(state_->node_dir(n.name) / "identity.vdi"));
  }
  EXPECT_FALSE(fs::exists(state_->dir() / "vbox/dcslab-dcs-dcs-00"));
}

TEST_F(VirtualBoxProviderTest, DownWaitsUntilVirtualBoxReportsNoSessionOnTheVm) {
  // dcs-02's process holds its session for 3 polls after poweroff (each poll of the fake
  // is a process, so the others let go at once).
  host(R"({"session_lingers": {"dcslab-dcs-dcs-02": 3}})");
  auto p = provider();
  ASSERT_TRUE(p->up(request_, progress_).ok());
  EXPECT_EQ(fake_state()["vms"]["dcslab-dcs-dcs-02"]["session"], "headless");
  clear_transcript();
  auto down = p->down(progress_);
  ASSERT_TRUE(down.ok()) << down.error().message;
  EXPECT_TRUE(fake_state()["vms"].empty());
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(clock_.sleeps, 3);  // 100 ms a poll
  // Unregistered only once the session was gone (the fake refuses a locked VM, as
  // VirtualBox does): 4 showvminfo after poweroff, then unregistervm.
  const std::string t = transcript();
  const auto off = t.find("controlvm dcslab-dcs-dcs-02 poweroff");
  const auto unreg = t.find("unregistervm dcslab-dcs-dcs-02 --delete");
  ASSERT_NE(off, std::string::npos);
  ASSERT_NE(unreg, std::string::npos);
  std::size_t polls = 0;
  for (auto at = t.find("showvminfo dcslab-dcs-dcs-02", off); at != std::string::npos && at < unreg;
       at = t.find("showvminfo dcslab-dcs-dcs-02", at + 1))
    ++polls;
  EXPECT_EQ(polls, 4u);
}

TEST_F(VirtualBoxProviderTest, DownFailsBoundedWhenAVmNeverLetsGoAndASecondDownFinishes) {
  host(R"({"session_lingers": {"dcslab-dcs-dcs-01": -1}})");
  options_.gone.machine = std::chrono::seconds(1);  // 10 polls of the fake, each a process
  auto p = provider();
  ASSERT_TRUE(p->up(request_, progress_).ok());
  auto down = p->down(progress_);
  ASSERT_FALSE(down.ok());
  EXPECT_THAT(down.error().message,
              HasSubstr("after 1 s still there: 1 machine of lab dcs: dcslab-dcs-dcs-01 (its "
                        "process still holds session \"headless\")"));
  EXPECT_EQ(clock_.now().time_since_epoch(), std::chrono::seconds(1));  // the machine limit
  // dcs-01 and the network under it stay for a second down; the others are gone.
  EXPECT_TRUE(state_->has("vbox-vm", "dcslab-dcs-dcs-01"));
  EXPECT_TRUE(fake_state()["vms"].contains("dcslab-dcs-dcs-01"));
  EXPECT_FALSE(state_->has("vbox-vm", "dcslab-dcs-dcs-02"));
  EXPECT_FALSE(fake_state()["hostonlyifs"].empty());
  // The process exits at last: a second down waits for nothing more and removes all.
  auto st = fake_state();
  st["vms"]["dcslab-dcs-dcs-01"].erase("session");
  write(fake_ / "state.json", st.dump());
  auto again = p->down(progress_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(fake_state()["vms"].empty());
  EXPECT_TRUE(fake_state()["hostonlyifs"].empty());
  EXPECT_TRUE(state_->empty());
}

TEST_F(VirtualBoxProviderTest, ExistingInterfaceAndForeignDhcpServerAreUsedAndLeftAlone) {
  host(kVagrantStyleHost);
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_TRUE(up.ok()) << up.error().message;
  expect_golden("up-existing-vboxnet0.txt");
  const std::string t = transcript();
  EXPECT_EQ(t.find("hostonlyif create"), std::string::npos);
  EXPECT_EQ(t.find("dhcpserver "), std::string::npos);  // listed, never changed
  EXPECT_FALSE(state_->has(kVBoxHostOnlyIfKind, "vboxnet0"));

  clear_transcript();
  ASSERT_TRUE(p->down(progress_).ok());
  expect_golden("down-existing-vboxnet0.txt");
  const auto st = fake_state();
  ASSERT_EQ(st["hostonlyifs"].size(), 1u);  // not ours: still there
  ASSERT_EQ(st["dhcpservers"].size(), 1u);
  EXPECT_TRUE(st["dhcpservers"][0]["enabled"]);
  EXPECT_TRUE(state_->empty());
}

TEST_F(VirtualBoxProviderTest, SecondUpStartsStoppedVmsAndLeavesRunningOnesAlone) {
  host("{}");
  auto p = provider();
  ASSERT_TRUE(p->up(request_, progress_).ok());
  auto st = fake_state();
  st["vms"]["dcslab-dcs-dcs-01"]["state"] = "poweroff";
  write(fake_ / "state.json", st.dump());
  clear_transcript();
  auto again = p->up(request_, progress_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  const std::string t = transcript();
  EXPECT_EQ(t.find("createvm"), std::string::npos);
  EXPECT_EQ(t.find("createmedium"), std::string::npos);
  EXPECT_EQ(t.find("startvm dcslab-dcs-dcs-00"), std::string::npos);
  EXPECT_NE(t.find("startvm dcslab-dcs-dcs-01 --type headless"), std::string::npos);
  EXPECT_EQ(fake_state()["vms"]["dcslab-dcs-dcs-01"]["state"], "running");
  ASSERT_TRUE(p->down(progress_).ok());
}

TEST_F(VirtualBoxProviderTest, StatusSaysMissingForVmsThatAreGone) {
  host("{}");
  auto p = provider();
  auto s = p->status();
  ASSERT_TRUE(s.ok()) << s.error().message;
  for (const auto& n : *s) EXPECT_EQ(n.state, "missing");
}

TEST_F(VirtualBoxProviderTest, LabFileSelectsItAndExecNeedsNothingElse) {
  // `exec`/`ssh` take the node's address from the lab file and need only status() to
  // say running, exactly as with libvirt; the provider adds nothing to that path.
  auto p = create_provider(lab_, *state_);
  EXPECT_EQ(p->kind(), "virtualbox");
  EXPECT_EQ(p->console_log("dcs-00"), state_->node_dir("dcs-00") / "console.log");
}

TEST_F(VirtualBoxProviderTest, DownWithAnEmptyLedgerRunsNothing) {
  options_.vboxmanage = (tmp_ / "no-such-VBoxManage").string();
  auto p = provider();
  EXPECT_TRUE(p->down(progress_).ok());
}

// --- every error path: a clear message, nothing created ------------------------------

TEST_F(VirtualBoxProviderTest, VBoxManageMissingIsFatalAndNamesTheFix) {
  options_.vboxmanage = (tmp_ / "no-such-VBoxManage").string();
  auto p = provider();
  try {
    (void)p->up(request_, progress_);
    FAIL() << "expected Fatal";
  } catch (const Fatal& e) {
    EXPECT_NE(std::string(e.what()).find("install VirtualBox"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("DCSLAB_VBOXMANAGE"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(state_->empty());
  EXPECT_THROW((void)p->status(), Fatal);
}

TEST_F(VirtualBoxProviderTest, VboxdrvNotLoadedIsFatalBeforeAnythingIsCreated) {
  host("{}");
  fs::remove(tmp_ / "dev/vboxdrv");
  auto p = provider();
  try {
    (void)p->up(request_, progress_);
    FAIL() << "expected Fatal";
  } catch (const Fatal& e) {
    EXPECT_NE(std::string(e.what()).find("vboxdrv kernel module is not loaded"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("vboxconfig"), std::string::npos);
  }
  EXPECT_EQ(transcript(), "--version\n");
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(base_disk_calls_, 0);
}

TEST_F(VirtualBoxProviderTest, NetworkOutsideAllowedRangesExplainsNetworksConf) {
  host("{}");
  lab_ = parse_lab(replace_all(replace_all(kLab, "192.168.56.", "10.20.0."), "10.20.0.0/24", "10.20.0.0/24"),
                   "/labs/dcs.yaml");
  auto p = provider();
  try {
    (void)p->up(request_, progress_);
    FAIL() << "expected Fatal";
  } catch (const Fatal& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("10.20.0.0/24"), std::string::npos) << m;
    EXPECT_NE(m.find("192.168.56.0/21"), std::string::npos) << m;
    EXPECT_NE(m.find("networks.conf"), std::string::npos) << m;
    EXPECT_NE(m.find("* 10.20.0.0/24"), std::string::npos) << m;
  }
  EXPECT_TRUE(state_->empty());
  EXPECT_TRUE(fake_state()["hostonlyifs"].empty());

  // Allowed once networks.conf says so.
  write(options_.networks_conf, "* 10.0.0.0/8 192.168.0.0/16\n");
  auto p2 = provider();
  auto up = p2->up(request_, progress_);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(fake_state()["hostonlyifs"][0]["ip"], "10.20.0.1");
  ASSERT_TRUE(p2->down(progress_).ok());
}

TEST_F(VirtualBoxProviderTest, VmNameTakenIsRefusedWithNothingCreated) {
  host(R"J({"vms": {"dcslab-dcs-dcs-01": {"uuid": "11111111-2222-3333-4444-555555555555",
           "state": "poweroff", "folder": "/elsewhere", "settings": {}, "controllers": {}, "attachments": {}}}})J");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind, Failure::Kind::Refused);
  EXPECT_NE(up.error().message.find("already has a VM named dcslab-dcs-dcs-01"), std::string::npos)
      << up.error().message;
  EXPECT_NE(up.error().message.find("nothing was created"), std::string::npos);
  EXPECT_EQ(transcript(), "--version\nlist vms\n");
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(fake_state()["vms"].size(), 1u);  // theirs, untouched
}

TEST_F(VirtualBoxProviderTest, HostOnlyInterfaceCreationRefusedLeavesNothing) {
  host(R"J({"fail": {"hostonlyif create": "VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory"}})J");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind, Failure::Kind::Refused);
  EXPECT_NE(up.error().message.find("refused to create a host-only interface"), std::string::npos);
  EXPECT_NE(up.error().message.find("/dev/vboxnetctl"), std::string::npos) << up.error().message;
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(transcript().find("createvm"), std::string::npos);
  EXPECT_EQ(transcript().find("createmedium"), std::string::npos);
}

TEST_F(VirtualBoxProviderTest, AddressRefusedOnTheNewInterfaceRemovesItAgain) {
  host(R"J({"fail": {"hostonlyif ipconfig vboxnet0": "Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)"}})J");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.error().message.find("removed again"), std::string::npos) << up.error().message;
  EXPECT_NE(transcript().find("hostonlyif remove vboxnet0"), std::string::npos);
  EXPECT_TRUE(fake_state()["hostonlyifs"].empty());
  EXPECT_TRUE(state_->empty());
}

TEST_F(VirtualBoxProviderTest, ForeignDhcpServerServingANodeAddressIsRefused) {
  host(R"J({"hostonlyifs": [{"name": "vboxnet0", "ip": "192.168.56.1", "netmask": "255.255.255.0", "dhcp": true}],
           "dhcpservers": [{"network": "HostInterfaceNetworking-vboxnet0", "ip": "192.168.56.2",
                            "lower": "192.168.56.3", "upper": "192.168.56.254", "enabled": true}]})J");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.error().message.find("dcs-00's address 192.168.56.10"), std::string::npos) << up.error().message;
  EXPECT_NE(up.error().message.find("dhcpserver modify --interface=vboxnet0 --disable"), std::string::npos);
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(transcript().find("dhcpserver "), std::string::npos);  // only listed, never changed
}

TEST_F(VirtualBoxProviderTest, ExistingInterfaceNotInThisNamespaceIsRefusedBeforeAnythingIsCreated) {
  // up --isolated: the lab's namespace cannot see VBoxSVC's vboxnet0.
  host(kVagrantStyleHost);
  state_->set("netns", "dcslab-dcs");
  network_is_local_ = false;
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind, Failure::Kind::Refused);
  const std::string m = up.error().message;
  EXPECT_NE(m.find("vboxnet0 (192.168.56.1) is not in the lab's network namespace dcslab-dcs"),
            std::string::npos) << m;
  EXPECT_NE(m.find("without --isolated"), std::string::npos) << m;
  EXPECT_NE(m.find("nothing was created"), std::string::npos) << m;
  EXPECT_EQ(transcript(), "--version\nlist vms\nlist hostonlyifs\n");
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(base_disk_calls_, 0);
}

TEST_F(VirtualBoxProviderTest, CreatedInterfaceNotInThisNamespaceIsRemovedAgain) {
  host("{}");
  network_is_local_ = false;
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind, Failure::Kind::Refused);
  EXPECT_NE(up.error().message.find("is not in this network namespace"), std::string::npos)
      << up.error().message;
  EXPECT_NE(up.error().message.find("removed again"), std::string::npos) << up.error().message;
  EXPECT_NE(transcript().find("hostonlyif remove vboxnet0"), std::string::npos);
  EXPECT_EQ(transcript().find("createmedium"), std::string::npos);
  EXPECT_EQ(transcript().find("createvm"), std::string::npos);
  EXPECT_TRUE(fake_state()["hostonlyifs"].empty());
  EXPECT_TRUE(state_->empty());
}

TEST_F(VirtualBoxProviderTest, InterfaceWithTheHostAddressButAnotherMaskIsRefused) {
  host(R"J({"hostonlyifs": [{"name": "vboxnet0", "ip": "192.168.56.1", "netmask": "255.255.0.0"}]})J");
  auto p = provider();
  auto up = p->up(request_, progress_);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.error().message.find("netmask 255.255.0.0"), std::string::npos) << up.error().message;
  EXPECT_TRUE(state_->empty());
}

TEST_F(VirtualBoxProviderTest, DownAfterAnInterruptedUpRemovesWhatExists) {
  // up died after the first node's VM was created but before its disks were attached.
  host("{}");
  auto p = provider();
  ASSERT_TRUE(p->up(request_, progress_).ok());
  auto st = fake_state();
  st["vms"]["dcslab-dcs-dcs-02"]["attachments"] = nlohmann::json::object();
  st["media"].erase(std::remove(st["media"].begin(), st["media"].end(),
                                (state_->node_dir("dcs-02") / "identity.vdi").string()),
                    st["media"].end());
  write(fake_ / "state.json", st.dump());
  fs::remove(state_->node_dir("dcs-02") / "root.vdi");  // recorded, never created
  ASSERT_TRUE(p->down(progress_).ok());
  EXPECT_TRUE(state_->empty());
  EXPECT_TRUE(fake_state()["vms"].empty());
  EXPECT_FALSE(fs::exists(state_->node_dir("dcs-02") / "identity.vdi"));
}

TEST_F(VirtualBoxProviderTest, FaultsAreControlvmCallsAndFollowTheVmState) {
  host("{}");
  auto p = provider();
  ASSERT_TRUE(p->up(request_, progress_).ok());
  clear_transcript();
  const std::string vm = "dcslab-dcs-dcs-01";
  auto state = [&] { return fake_state()["vms"][vm]["state"].get<std::string>(); };
  auto cable = [&] { return fake_state()["vms"][vm]["links"]["2"].get<std::string>(); };

  ASSERT_TRUE(p->partition("dcs-01", progress_).ok());
  EXPECT_EQ(cable(), "off");
  ASSERT_TRUE(p->heal("dcs-01", progress_).ok());
  EXPECT_EQ(cable(), "on");
  ASSERT_TRUE(p->pause("dcs-01", progress_).ok());
  EXPECT_EQ(state(), "paused");
  ASSERT_TRUE(p->pause("dcs-01", progress_).ok());  // already paused: no controlvm
  auto start_paused = p->start("dcs-01", progress_);
  ASSERT_FALSE(start_paused.ok());
  EXPECT_NE(start_paused.error().message.find("resume it"), std::string::npos);
  ASSERT_TRUE(p->resume("dcs-01", progress_).ok());
  EXPECT_EQ(state(), "running");
  ASSERT_TRUE(p->crash("dcs-01", progress_).ok());
  EXPECT_EQ(state(), "poweroff");
  ASSERT_TRUE(p->crash("dcs-01", progress_).ok());  // already off: no controlvm
  auto pause_off = p->pause("dcs-01", progress_);
  ASSERT_FALSE(pause_off.ok());
  EXPECT_EQ(pause_off.error().kind, Failure::Kind::Refused);
  EXPECT_NE(pause_off.error().message.find("dcs-01 is shut off"), std::string::npos);
  ASSERT_TRUE(p->start("dcs-01", progress_).ok());
  EXPECT_EQ(state(), "running");
  // The other nodes were never touched.
  EXPECT_EQ(transcript().find("dcslab-dcs-dcs-00"), std::string::npos);
  expect_golden("faults.txt");
  auto unknown = p->crash("dcs-07", progress_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("no node dcs-07"), std::string::npos);
  ASSERT_TRUE(p->down(progress_).ok());
}

}  // namespace
}  // namespace dcslab
