#include "providers/libvirt/libvirt_xml.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <set>

namespace dcslab {
namespace {

const std::filesystem::path kSource = source_dir();

Lab seed_lab() { return load_lab(kSource / "fixtures/labs/dcs.yaml"); }

pugi::xml_document parse(const std::string& xml) {
  pugi::xml_document doc;
  auto r = doc.load_string(xml.c_str());
  EXPECT_TRUE(r) << r.description() << "\n" << xml;
  return doc;
}

DomainSpec spec_for(const Lab& lab, const std::string& node, bool kvm) {
  return node_domain_spec(lab, *lab.find_node(node), kvm, "/img/vmlinuz", "/img/initrd.img",
                          "root=/dev/vda rw console=ttyS0", "/pool/" + node + ".qcow2",
                          "/labs/dcs/nodes/" + node + "/identity.tar",
                          "/labs/dcs/nodes/" + node + "/console.log");
}

TEST(LibvirtXml, NetworkIsHostOnlyWithoutDhcpOrDns) {
  const Lab lab = seed_lab();
  auto doc = parse(network_xml(lab));
  auto net = doc.child("network");
  EXPECT_EQ(std::string(net.child_value("name")), "dcslab-dcs");
  EXPECT_TRUE(net.child("forward").empty()) << "a host-only lab network must not NAT or route";
  EXPECT_TRUE(net.select_node("//dhcp").node().empty());
  EXPECT_EQ(std::string(net.child("dns").attribute("enable").value()), "no");
  EXPECT_EQ(std::string(net.child("ip").attribute("address").value()), "192.168.56.1");
  EXPECT_EQ(std::string(net.child("ip").attribute("netmask").value()), "255.255.255.0");
  const std::string bridge = net.child("bridge").attribute("name").value();
  EXPECT_EQ(bridge, "dcsl-dcs");
}

TEST(LibvirtXml, BridgeNameFitsAnInterfaceNameForLongOrOddLabNames) {
  Lab lab = seed_lab();
  lab.name = "a-very-long-lab-name-indeed";
  const std::string b1 = libvirt_bridge_name(lab);
  EXPECT_LE(b1.size(), 15u);
  EXPECT_EQ(b1.rfind("dcsl-", 0), 0u);
  lab.name = "a-very-long-lab-name-other";
  EXPECT_NE(libvirt_bridge_name(lab), b1);
  lab.name = "we/ird";
  EXPECT_EQ(libvirt_bridge_name(lab).find('/'), std::string::npos);
  EXPECT_LE(libvirt_bridge_name(lab).size(), 15u);
}

TEST(LibvirtXml, MacIsDeterministicAndDistinctPerNode) {
  const Lab lab = seed_lab();
  std::set<std::string> macs;
  for (const auto& n : lab.nodes) {
    const std::string mac = libvirt_node_mac(lab, n);
    EXPECT_EQ(mac, libvirt_node_mac(seed_lab(), n));
    EXPECT_EQ(mac.rfind("52:54:00:", 0), 0u);
    EXPECT_EQ(mac.size(), 17u);
    macs.insert(mac);
  }
  EXPECT_EQ(macs.size(), lab.nodes.size());
  Lab other = seed_lab();
  other.name = "other";
  EXPECT_NE(libvirt_node_mac(other, other.nodes[0]), libvirt_node_mac(lab, lab.nodes[0]));
}

TEST(LibvirtXml, DomainCarriesTheNodesParts) {
  const Lab lab = seed_lab();
  auto doc = parse(domain_xml(spec_for(lab, "dcs-01", false)));
  auto dom = doc.child("domain");
  EXPECT_EQ(std::string(dom.attribute("type").value()), "qemu");
  EXPECT_EQ(std::string(dom.child_value("name")), "dcslab-dcs-dcs-01");
  EXPECT_EQ(std::string(dom.child("memory").text().get()), "1024");
  EXPECT_EQ(std::string(dom.child("memory").attribute("unit").value()), "MiB");
  EXPECT_EQ(dom.child("vcpu").text().as_int(), 2);

  // Metadata marks the domain as ours, in our own namespace.
  auto md = dom.child("metadata").first_child();
  EXPECT_EQ(std::string(md.attribute("xmlns:dcslab").value()), kDcslabXmlns);
  EXPECT_EQ(std::string(md.child_value("dcslab:name")), "dcs");

  auto os = dom.child("os");
  EXPECT_EQ(std::string(os.child_value("kernel")), "/img/vmlinuz");
  EXPECT_EQ(std::string(os.child_value("initrd")), "/img/initrd.img");
  const std::string cmdline = os.child_value("cmdline");
  EXPECT_NE(cmdline.find("root=/dev/vda"), std::string::npos);
  EXPECT_NE(cmdline.find("systemd.hostname=dcs-01"), std::string::npos);
  EXPECT_EQ(std::string(dom.child_value("on_poweroff")), "destroy");
  EXPECT_EQ(std::string(dom.child_value("on_crash")), "destroy");
  EXPECT_EQ(std::string(dom.child("cpu").child_value("model")), "qemu64");
  // The guest's CRNG is seeded by RDRAND at boot (see add_os_and_cpu).
  auto rdrand = dom.child("cpu").find_child_by_attribute("feature", "name", "rdrand");
  ASSERT_TRUE(rdrand);
  EXPECT_EQ(std::string(rdrand.attribute("policy").value()), "require");

  auto devices = dom.child("devices");
  auto vda = devices.find_child_by_attribute("disk", "device", "disk");
  EXPECT_EQ(std::string(vda.child("target").attribute("dev").value()), "vda");
  EXPECT_EQ(std::string(vda.child("driver").attribute("type").value()), "qcow2");
  EXPECT_EQ(std::string(vda.child("source").attribute("file").value()), "/pool/dcs-01.qcow2");
  auto vdb = devices.select_node("disk[target/@dev='vdb']").node();
  ASSERT_FALSE(vdb.empty());
  EXPECT_EQ(std::string(vdb.child("driver").attribute("type").value()), "raw");
  EXPECT_FALSE(vdb.child("readonly").empty());
  EXPECT_EQ(std::string(vdb.child("target").attribute("bus").value()), "virtio");
  EXPECT_EQ(std::string(vdb.child("source").attribute("file").value()),
            "/labs/dcs/nodes/dcs-01/identity.tar");

  auto nic = devices.child("interface");
  EXPECT_EQ(std::string(nic.attribute("type").value()), "network");
  EXPECT_EQ(std::string(nic.child("source").attribute("network").value()), "dcslab-dcs");
  EXPECT_EQ(std::string(nic.child("model").attribute("type").value()), "virtio");
  EXPECT_EQ(std::string(nic.child("mac").attribute("address").value()),
            libvirt_node_mac(lab, *lab.find_node("dcs-01")));

  auto serial = devices.child("serial");
  EXPECT_EQ(std::string(serial.attribute("type").value()), "file");
  EXPECT_EQ(std::string(serial.child("source").attribute("path").value()),
            "/labs/dcs/nodes/dcs-01/console.log");
  EXPECT_FALSE(devices.child("console").empty());
  EXPECT_TRUE(devices.child("graphics").empty());
  EXPECT_TRUE(devices.child("sound").empty());
  EXPECT_TRUE(devices.child("input").empty());
  EXPECT_EQ(std::string(devices.child("memballoon").attribute("model").value()), "none");
  EXPECT_EQ(std::string(devices.find_child_by_attribute("controller", "type", "usb")
                            .attribute("model").value()), "none");
}

TEST(LibvirtXml, KvmDomainUsesKvmTypeAndQemusDefaultCpu) {
  const Lab lab = seed_lab();
  auto doc = parse(domain_xml(spec_for(lab, "dcs-00", true)));
  EXPECT_EQ(std::string(doc.child("domain").attribute("type").value()), "kvm");
  EXPECT_TRUE(doc.child("domain").child("cpu").empty());
}

TEST(LibvirtXml, NamesWithMarkupStayData) {
  Lab lab = seed_lab();
  lab.name = "a<b>&c";
  auto doc = parse(network_xml(lab));
  EXPECT_EQ(std::string(doc.child("network").child_value("name")), "dcslab-a<b>&c");
}

TEST(LibvirtXml, OverlayVolumeHasQcow2BackingStore) {
  auto doc = parse(overlay_volume_xml("dcs-00.qcow2", 4294967296ull, "/img/disk.qcow2"));
  auto vol = doc.child("volume");
  EXPECT_EQ(std::string(vol.child_value("name")), "dcs-00.qcow2");
  EXPECT_EQ(std::string(vol.child_value("capacity")), "4294967296");
  EXPECT_EQ(std::string(vol.child("target").child("format").attribute("type").value()), "qcow2");
  EXPECT_EQ(std::string(vol.child("backingStore").child_value("path")), "/img/disk.qcow2");
  EXPECT_EQ(std::string(vol.child("backingStore").child("format").attribute("type").value()),
            "qcow2");
  auto pool = parse(pool_xml("dcslab-dcs", "/state/pool"));
  EXPECT_EQ(std::string(pool.child("pool").attribute("type").value()), "dir");
  EXPECT_EQ(std::string(pool.child("pool").child("target").child_value("path")), "/state/pool");
}

TEST(LibvirtXml, ProbeDomainIsKernelOnlyAndEndsOnReboot) {
  auto doc = parse(probe_domain_xml("dcslab-probe", true, "/img/vmlinuz", "/tmp/p.log"));
  auto dom = doc.child("domain");
  EXPECT_EQ(std::string(dom.attribute("type").value()), "kvm");
  EXPECT_TRUE(dom.child("devices").child("disk").empty());
  EXPECT_TRUE(dom.child("devices").child("interface").empty());
  EXPECT_TRUE(dom.child("os").child("initrd").empty());
  EXPECT_EQ(std::string(dom.child("os").child_value("cmdline")), "console=ttyS0 panic=-1");
  EXPECT_EQ(std::string(dom.child_value("on_reboot")), "destroy");
  EXPECT_EQ(std::string(dom.child("devices").child("serial").child("source").attribute("path")
                            .value()), "/tmp/p.log");
}

TEST(LibvirtXml, InterfaceWithLinkStateIsTheLabNicAlone) {
  const std::string dom = R"(<domain type='kvm'><name>n</name><devices>
    <disk type='file' device='disk'><target dev='vda'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:01'/><source network='other'/></interface>
    <interface type='network'><mac address='52:54:00:AA:BB:CC'/><source network='dcslab-dcs'/>
      <model type='virtio'/><alias name='net1'/></interface>
  </devices></domain>)";
  auto down = interface_with_link_state(dom, "52:54:00:aa:bb:cc", false);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->find("<domain"), std::string::npos);  // the device alone
  EXPECT_NE(down->find("<link state=\"down\""), std::string::npos) << *down;
  EXPECT_NE(down->find("dcslab-dcs"), std::string::npos);
  EXPECT_EQ(down->find("other"), std::string::npos);
  EXPECT_EQ(interface_link_state(dom, "52:54:00:aa:bb:cc"), "up");  // no <link>: up
  EXPECT_EQ(interface_link_state(*down + "", "52:54:00:aa:bb:cc"), "");  // not a domain
  const std::string cut = "<domain><devices>" + *down + "</devices></domain>";
  EXPECT_EQ(interface_link_state(cut, "52:54:00:aa:bb:cc"), "down");
  auto up = interface_with_link_state(cut, "52:54:00:aa:bb:cc", true);
  ASSERT_TRUE(up);
  EXPECT_NE(up->find("<link state=\"up\""), std::string::npos);
  EXPECT_EQ(up->find("down"), std::string::npos);  // replaced, not a second <link>
  EXPECT_FALSE(interface_with_link_state(dom, "52:54:00:00:00:00", false));
  EXPECT_FALSE(interface_with_link_state("not xml <", "52:54:00:aa:bb:cc", false));
}

}  // namespace
}  // namespace dcslab
