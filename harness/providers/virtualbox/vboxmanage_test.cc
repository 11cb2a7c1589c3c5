#include "providers/virtualbox/vboxmanage.h"

#include <gtest/gtest.h>

#include <set>

namespace dcslab {
namespace {

// Samples in the formats VirtualBox 7's manual documents (and its VBoxManage prints).
const char* kHostOnlyIfs =
    "Name:            vboxnet0\n"
    "GUID:            786f6276-656e-4074-8000-0a0027000000\n"
    "DHCP:            Enabled\n"
    "IPAddress:       192.168.56.1\n"
    "NetworkMask:     255.255.255.0\n"
    "IPV6Address:     fe80::800:27ff:fe00:0\n"
    "IPV6NetworkMaskPrefixLength: 64\n"
    "HardwareAddress: 0a:00:27:00:00:00\n"
    "MediumType:      Ethernet\n"
    "Wireless:        No\n"
    "Status:          Up\n"
    "VBoxNetworkName: HostInterfaceNetworking-vboxnet0\n"
    "\n"
    "Name:            vboxnet1\n"
    "GUID:            786f6276-656e-4174-8000-0a0027000001\n"
    "DHCP:            Disabled\n"
    "IPAddress:       192.168.57.1\n"
    "NetworkMask:     255.255.255.0\n"
    "VBoxNetworkName: HostInterfaceNetworking-vboxnet1\n";

const char* kDhcpServers =
    "NetworkName:    HostInterfaceNetworking-vboxnet0\n"
    "Dhcpd IP:       192.168.56.100\n"
    "LowerIPAddress: 192.168.56.101\n"
    "UpperIPAddress: 192.168.56.254\n"
    "NetworkMask:    255.255.255.0\n"
    "Enabled:        Yes\n"
    "Global Configuration:\n"
    "    minLeaseTime:     default\n"
    "    Forced options:   None\n"
    "        1/legacy: 255.255.255.0\n"
    "Groups:               None\n"
    "Individual Configs:   None\n"
    "\n"
    "NetworkName:    NatNetwork\n"
    "Dhcpd IP:       10.0.2.3\n"
    "LowerIPAddress: 10.0.2.4\n"
    "UpperIPAddress: 10.0.2.254\n"
    "NetworkMask:    255.255.255.0\n"
    "Enabled:        No\n";

TEST(VBoxParse, ListVms) {
  auto vms = parse_vbox_list_vms(
      "\"dcslab-dcs-dcs-00\" {0f0e4d2a-1c55-4b8e-9d9f-2b1f4f3a8c11}\n"
      "\"my \"odd\" vm\" {11111111-2222-3333-4444-555555555555}\n"
      "garbage line\n");
  ASSERT_EQ(vms.size(), 2u);
  EXPECT_EQ(vms[0].name, "dcslab-dcs-dcs-00");
  EXPECT_EQ(vms[0].uuid, "0f0e4d2a-1c55-4b8e-9d9f-2b1f4f3a8c11");
  EXPECT_EQ(vms[1].name, "my \"odd\" vm");
}

TEST(VBoxParse, HostOnlyIfs) {
  auto ifs = parse_vbox_hostonlyifs(kHostOnlyIfs);
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[0].name, "vboxnet0");
  EXPECT_EQ(ifs[0].ip, "192.168.56.1");
  EXPECT_EQ(ifs[0].netmask, "255.255.255.0");
  EXPECT_TRUE(ifs[0].dhcp);
  EXPECT_EQ(ifs[0].network_name, "HostInterfaceNetworking-vboxnet0");
  EXPECT_EQ(ifs[1].name, "vboxnet1");
  EXPECT_FALSE(ifs[1].dhcp);
  EXPECT_TRUE(parse_vbox_hostonlyifs("").empty());
}

TEST(VBoxParse, DhcpServersSkipIndentedOptionLines) {
  auto d = parse_vbox_dhcpservers(kDhcpServers);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].network_name, "HostInterfaceNetworking-vboxnet0");
  EXPECT_EQ(d[0].server_ip, "192.168.56.100");
  EXPECT_EQ(d[0].lower, "192.168.56.101");
  EXPECT_EQ(d[0].upper, "192.168.56.254");
  EXPECT_TRUE(d[0].enabled);
  EXPECT_EQ(d[1].network_name, "NatNetwork");
  EXPECT_FALSE(d[1].enabled);
}

TEST(VBoxParse, MachineReadable) {
  auto kv = parse_vbox_machinereadable(
      "name=\"dcslab-dcs-dcs-00\"\n"
      "memory=1024\n"
      "VMState=\"running\"\n"
      "\"IDE-0-0\"=\"/x/root.vdi\"\n"
      "\"IDE-1-0\"=\"none\"\n"
      "description=\"a=b\"\n");
  EXPECT_EQ(kv["name"], "dcslab-dcs-dcs-00");
  EXPECT_EQ(kv["memory"], "1024");
  EXPECT_EQ(kv["VMState"], "running");
  EXPECT_EQ(kv["IDE-0-0"], "/x/root.vdi");
  EXPECT_EQ(kv["IDE-1-0"], "none");
  EXPECT_EQ(kv["description"], "a=b");
}

TEST(VBoxParse, CreatedInterfaceName) {
  EXPECT_EQ(parse_vbox_created_hostonlyif("0%...100%\nInterface 'vboxnet3' was successfully created\n"),
            std::optional<std::string>("vboxnet3"));
  EXPECT_FALSE(parse_vbox_created_hostonlyif("VBoxManage: error: failed to create"));
}

TEST(VBoxParse, StatesInDcslabWords) {
  EXPECT_EQ(vbox_state_name("running"), "running");
  EXPECT_EQ(vbox_state_name("poweroff"), "shut off");
  EXPECT_EQ(vbox_state_name("aborted"), "crashed");
  EXPECT_EQ(vbox_state_name("paused"), "paused");
  EXPECT_EQ(vbox_state_name("teleporting"), "teleporting");
}

TEST(VBoxRanges, DefaultIs56Slash21) {
  const auto def = vbox_allowed_ranges(std::nullopt);
  EXPECT_TRUE(vbox_range_allows(def, *Cidr::parse("192.168.56.0/24")));
  EXPECT_TRUE(vbox_range_allows(def, *Cidr::parse("192.168.63.0/24")));
  EXPECT_FALSE(vbox_range_allows(def, *Cidr::parse("192.168.64.0/24")));
  EXPECT_FALSE(vbox_range_allows(def, *Cidr::parse("192.168.0.0/16")));  // wider than allowed
  EXPECT_FALSE(vbox_range_allows(def, *Cidr::parse("10.0.0.0/24")));
}

TEST(VBoxRanges, NetworksConfReplacesTheDefault) {
  const auto conf = vbox_allowed_ranges(std::string(
      "# allowed host-only ranges\n* 10.0.0.0/8 172.16.0.0/12 # comment\nnot-a-star 192.168.0.0/16\n"));
  ASSERT_EQ(conf.size(), 2u);
  EXPECT_TRUE(vbox_range_allows(conf, *Cidr::parse("10.20.0.0/24")));
  EXPECT_FALSE(vbox_range_allows(conf, *Cidr::parse("192.168.56.0/24")));
  EXPECT_TRUE(vbox_allowed_ranges(std::string("")).empty());  // an empty file allows nothing
}

Lab three_nodes() {
  return parse_lab(
      "name: dcs\nnetwork:\n  name: patroni\n  cidr: 192.168.56.0/24\n  host: 192.168.56.1\n"
      "  domain: patroni.mydomain\nprovider:\n  type: virtualbox\nnodes:\n"
      "  - name: dcs-00\n    ip: 192.168.56.10\n  - name: dcs-01\n    ip: 192.168.56.11\n"
      "  - name: dcs-02\n    ip: 192.168.56.12\n",
      "test.yaml");
}

TEST(VBoxNames, MacsAreVirtualBoxOuiStableAndDistinct) {
  const Lab lab = three_nodes();
  std::set<std::string> macs;
  for (const auto& n : lab.nodes) {
    const std::string mac = vbox_node_mac(lab, n);
    EXPECT_EQ(mac.substr(0, 9), "08:00:27:");
    EXPECT_EQ(mac.size(), 17u);
    EXPECT_EQ(mac, vbox_node_mac(lab, n));
    macs.insert(mac);
  }
  EXPECT_EQ(macs.size(), 3u);
  EXPECT_EQ(vbox_mac_argument("08:00:27:ab:cd:0e"), "080027ABCD0E");
  EXPECT_EQ(vbox_vm_name(lab, lab.nodes[1]), "dcslab-dcs-dcs-01");
}

TEST(VBoxArgv, VmIsIdeHostOnlyOnAdapter2WithSerialToFile) {
  VBoxVmSpec s;
  s.name = "dcslab-dcs-dcs-00";
  s.hostonly_if = "vboxnet0";
  s.mac = "08:00:27:00:00:01";
  s.root_disk = "/s/root.vdi";
  s.identity_disk = "/s/identity.vdi";
  s.console_log = "/s/console.log";
  s.basefolder = "/s/vbox";
  const auto argvs = vbox_create_vm_argvs(s);
  ASSERT_EQ(argvs.size(), 5u);
  EXPECT_EQ(argvs[0], (std::vector<std::string>{"createvm", "--name", "dcslab-dcs-dcs-00", "--ostype",
                                                "Debian_64", "--register", "--basefolder", "/s/vbox"}));
  const auto& m = argvs[1];
  auto after = [&](const std::string& opt) {
    auto it = std::find(m.begin(), m.end(), opt);
    return it == m.end() || it + 1 == m.end() ? std::string("<absent>") : *(it + 1);
  };
  EXPECT_EQ(after("--nic1"), "none");
  EXPECT_EQ(after("--nic2"), "hostonly");
  EXPECT_EQ(after("--hostonlyadapter2"), "vboxnet0");
  EXPECT_EQ(after("--nictype2"), "virtio");
  EXPECT_EQ(after("--macaddress2"), "080027000001");
  EXPECT_EQ(after("--ioapic"), "on");
  EXPECT_EQ(after("--uartmode1"), "file");
  EXPECT_EQ(m.back(), "/s/console.log");
  EXPECT_EQ(argvs[2][4], "--add");
  EXPECT_EQ(argvs[2][5], "ide");
  EXPECT_EQ(argvs[3].back(), "/s/root.vdi");
  EXPECT_EQ(argvs[4].back(), "/s/identity.vdi");
}

}  // namespace
}  // namespace dcslab
