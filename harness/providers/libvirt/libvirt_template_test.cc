#include "providers/libvirt/libvirt_template.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <set>

namespace dcslab {
namespace {

TemplateManifest manifest() {
  TemplateManifest m;
  m.qemu = "7002022 /usr/bin/qemu-system-x86_64 1234 5678";
  m.libvirt = "9000000";
  m.machine = "pc-i440fx-7.2";
  m.cpu = "<cpu mode=\"custom\"/>";
  m.kernel = "abc";
  m.image_hash = "e578873aeeae";
  m.accel = "tcg";
  m.memory_mib = 1024;
  m.vcpus = 2;
  return m;
}

TEST(TemplateManifest, RoundTripsThroughJson) {
  auto back = parse_template_manifest(template_manifest_json(manifest()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(template_mismatch(*back, manifest()), "");
  EXPECT_FALSE(parse_template_manifest("{\"qemu\": \"x\"}"));
  EXPECT_FALSE(parse_template_manifest("not json"));
}

TEST(TemplateManifest, NamesEachFieldThatDiffers) {
  const std::pair<const char*, void (*)(TemplateManifest&)> changes[] = {
      {"qemu:", [](TemplateManifest& m) { m.qemu = "8000000"; }},
      {"libvirt:", [](TemplateManifest& m) { m.libvirt = "9001000"; }},
      {"machine type:", [](TemplateManifest& m) { m.machine = "pc-i440fx-8.0"; }},
      {"cpu:", [](TemplateManifest& m) { m.cpu = "<cpu/>"; }},
      {"kernel:", [](TemplateManifest& m) { m.kernel = "def"; }},
      {"image hash:", [](TemplateManifest& m) { m.image_hash = "000000000000"; }},
      {"accelerator:", [](TemplateManifest& m) { m.accel = "kvm"; }},
      {"memory (MiB):", [](TemplateManifest& m) { m.memory_mib = 2048; }},
      {"vCPUs:", [](TemplateManifest& m) { m.vcpus = 1; }},
  };
  for (const auto& [field, change] : changes) {
    TemplateManifest now = manifest();
    change(now);
    const std::string why = template_mismatch(manifest(), now);
    EXPECT_EQ(why.rfind(field, 0), 0u) << field << " -> " << why;
  }
  TemplateManifest now = manifest();
  now.machine = "pc-i440fx-8.0";
  EXPECT_EQ(template_mismatch(manifest(), now),
            "machine type: the template's is \"pc-i440fx-7.2\", now \"pc-i440fx-8.0\"");
}

constexpr const char* kSaved = R"(<domain type='qemu'>
  <name>dcslab-t-template</name>
  <uuid>f2c0023b-5b1b-4525-a8f4-84bc5503fe0c</uuid>
  <metadata><dcslab:lab xmlns:dcslab="https://dcslab.invalid/xmlns/lab/1"><dcslab:name>t</dcslab:name><dcslab:node>template</dcslab:node></dcslab:lab></metadata>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/img/templates/tcg-1024m-2c/tmp.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/img/disk.qcow2'/></backingStore>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/img/templates/tcg-1024m-2c/blank.img'/>
      <target dev='vdb' bus='virtio'/><readonly/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:00:00:01'/>
      <source network='dcslab-t' portid='1234' bridge='dcsl-t'/>
      <target dev='vnet3'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>
    <serial type='file'><source path='/state/t/template-console.log'/><target port='0'/></serial>
    <console type='file'><source path='/state/t/template-console.log'/><target type='serial' port='0'/></console>
  </devices>
</domain>)";

CloneSpec clone() {
  CloneSpec c;
  c.uuid = "11111111-2222-4333-8444-555555555555";
  c.node.name = "dcslab-lab1-dcs-01";
  c.node.lab = "lab1";
  c.node.node = "dcs-01";
  c.node.overlay = "/state/lab1/pool/dcs-01.qcow2";
  c.node.identity = "/state/lab1/nodes/dcs-01/identity.tar";
  c.node.mac = "52:54:00:12:34:56";
  c.node.network = "dcslab-lab1";
  c.node.console_log = "/state/lab1/nodes/dcs-01/console.log";
  return c;
}

TEST(CloneDomainXml, GivesTheNodeItsOwnIdentityAndKeepsTheDevices) {
  auto xml = clone_domain_xml(kSaved, clone());
  ASSERT_TRUE(xml) << xml.error().message;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  auto dom = doc.child("domain");
  EXPECT_STREQ(dom.child_value("name"), "dcslab-lab1-dcs-01");
  EXPECT_STREQ(dom.child_value("uuid"), "11111111-2222-4333-8444-555555555555");
  auto md = dom.child("metadata").child("dcslab:lab");
  EXPECT_STREQ(md.child_value("dcslab:name"), "lab1");
  EXPECT_STREQ(md.child_value("dcslab:node"), "dcs-01");
  EXPECT_STREQ(dom.child("os").child("type").attribute("machine").value(), "pc-i440fx-7.2");
  auto devices = dom.child("devices");
  auto disks = devices.children("disk").begin();
  EXPECT_STREQ(disks->child("source").attribute("file").value(), "/state/lab1/pool/dcs-01.qcow2");
  EXPECT_FALSE(disks->child("backingStore"));  // the template's chain is not the clone's
  EXPECT_STREQ(disks->child("address").attribute("slot").value(), "0x04");
  ++disks;
  EXPECT_STREQ(disks->child("source").attribute("file").value(), "/state/lab1/nodes/dcs-01/identity.tar");
  auto nic = devices.child("interface");
  EXPECT_STREQ(nic.child("mac").attribute("address").value(), "52:54:00:12:34:56");
  EXPECT_STREQ(nic.child("source").attribute("network").value(), "dcslab-lab1");
  EXPECT_FALSE(nic.child("source").attribute("bridge"));
  EXPECT_FALSE(nic.child("target"));
  EXPECT_STREQ(nic.child("address").attribute("slot").value(), "0x02");
  EXPECT_STREQ(devices.child("serial").child("source").attribute("path").value(),
               "/state/lab1/nodes/dcs-01/console.log");
  EXPECT_STREQ(devices.child("console").child("source").attribute("path").value(),
               "/state/lab1/nodes/dcs-01/console.log");
  EXPECT_EQ(xml->find("template"), std::string::npos) << *xml;
}

TEST(CloneDomainXml, RefusesATemplateWithoutTheIdentityDisk) {
  std::string saved = kSaved;
  const auto at = saved.find("dev='vdb'");
  saved.replace(at, 9, "dev='vdc'");
  auto xml = clone_domain_xml(saved, clone());
  ASSERT_FALSE(xml);
  EXPECT_NE(xml.error().message.find("vdb"), std::string::npos);
  EXPECT_FALSE(clone_domain_xml("<domain", clone()));
}

TEST(CloneDomainXml, UuidsAreRandomVersion4AndGoIntoADefinition) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string u = random_uuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 20u);
  const std::string xml = domain_xml_with_uuid("<domain><name>n</name><uuid>old</uuid></domain>", "u-1");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  EXPECT_STREQ(doc.child("domain").child_value("uuid"), "u-1");
  EXPECT_EQ(std::distance(doc.child("domain").children("uuid").begin(),
                          doc.child("domain").children("uuid").end()), 1);
}

TEST(TemplateShape, NamesAcceleratorMemoryAndVcpus) {
  DomainSpec s;
  s.kvm = false;
  s.memory_mib = 1024;
  s.vcpus = 2;
  EXPECT_EQ(template_shape(s), "tcg-1024m-2c");
  auto f = template_files("/img", "tcg-1024m-2c");
  EXPECT_EQ(f.state, "/img/templates/tcg-1024m-2c/state.save");
  EXPECT_EQ(f.disk, "/img/templates/tcg-1024m-2c/disk.qcow2");
  const std::string cpu = domain_cpu_xml("<domain><cpu mode='custom'><model>qemu64</model></cpu></domain>");
  EXPECT_NE(cpu.find("qemu64"), std::string::npos);
  EXPECT_EQ(domain_cpu_xml("<domain/>"), "");
}

}  // namespace
}  // namespace dcslab
