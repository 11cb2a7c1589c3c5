#include "providers/libvirt/libvirt_xml.h"

#include <pugixml.hpp>

#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

namespace dcslab {

namespace {

std::string to_xml(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

pugi::xml_node child_text(pugi::xml_node parent, const char* name, const std::string& text) {
  auto n = parent.append_child(name);
  n.text().set(text.c_str());
  return n;
}

void attr(pugi::xml_node n, const char* name, const std::string& value) {
  n.append_attribute(name).set_value(value.c_str());
}

void add_serial_console(pugi::xml_node devices, const std::filesystem::path& log) {
  auto serial = devices.append_child("serial");
  attr(serial, "type", "file");
  attr(serial.append_child("source"), "path", log.string());
  attr(serial.append_child("target"), "port", "0");
  auto console = devices.append_child("console");
  attr(console, "type", "file");
  attr(console.append_child("source"), "path", log.string());
  auto target = console.append_child("target");
  attr(target, "type", "serial");
  attr(target, "port", "0");
}

// What libvirt would otherwise add by default and a headless lab node does not need:
// a USB controller (and so a tablet's bus), a balloon device.
void add_minimal_devices(pugi::xml_node devices) {
  auto usb = devices.append_child("controller");
  attr(usb, "type", "usb");
  attr(usb, "model", "none");
  attr(devices.append_child("memballoon"), "model", "none");
}

void add_os_and_cpu(pugi::xml_node dom, bool kvm) {
  auto features = dom.append_child("features");
  features.append_child("acpi");  // so a shutdown request reaches the guest
  // Under KVM: no <cpu>, QEMU's default model. host-passthrough makes QEMU abort on nested
  // hosts ("failed to set MSR 0x10a", measured here), and the lab needs no CPU features.
  if (kvm) return;
  // TCG emulates every CPU feature it advertises; the plain qemu64 model boots the Debian
  // kernel and avoids emulating extensions nothing in the lab uses.
  auto cpu = dom.append_child("cpu");
  attr(cpu, "mode", "custom");
  attr(cpu, "match", "exact");
  auto model = child_text(cpu, "model", "qemu64");
  attr(model, "fallback", "allow");
  // RDRAND (which TCG emulates from the host's RNG): the kernel trusts it and its CRNG is
  // ready at once. Without it the CRNG was ready only 18-44 s into a TCG boot, and
  // systemd-networkd and udev workers blocked in getrandom() until then (once for
  // minutes, soft lockups on both vCPUs).
  auto rdrand = cpu.append_child("feature");
  attr(rdrand, "policy", "require");
  attr(rdrand, "name", "rdrand");
}

}  // namespace

std::string libvirt_network_name(const Lab& lab) { return "dcslab-" + lab.name; }
std::string libvirt_pool_name(const Lab& lab) { return "dcslab-" + lab.name; }
std::string libvirt_domain_name(const Lab& lab, const Node& node) {
  return "dcslab-" + lab.name + "-" + node.name;
}
std::string libvirt_volume_name(const Node& node) { return node.name + ".qcow2"; }

std::string libvirt_bridge_name(const Lab& lab) {
  bool safe = !lab.name.empty() && lab.name.size() <= 10;
  for (char c : lab.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) safe = false;
  if (safe) return "dcsl-" + lab.name;
  char buf[11];
  std::snprintf(buf, sizeof buf, "%010llx",
                static_cast<unsigned long long>(stable_hash(lab.name) & 0xffffffffffull));
  return std::string("dcsl-") + buf;
}

std::string libvirt_node_mac(const Lab& lab, const Node& node) {
  return node_mac(lab, node, "52:54:00", "");  // QEMU's OUI; no salt, as labs have always had
}

std::string network_xml(const Lab& lab) {
  pugi::xml_document doc;
  auto net = doc.append_child("network");
  child_text(net, "name", libvirt_network_name(lab));
  auto bridge = net.append_child("bridge");
  attr(bridge, "name", libvirt_bridge_name(lab));
  attr(bridge, "stp", "off");
  attr(bridge, "delay", "0");
  attr(net.append_child("dns"), "enable", "no");
  auto ip = net.append_child("ip");
  attr(ip, "address", lab.network.host.str());
  attr(ip, "netmask", lab.network.cidr.netmask().str());
  return to_xml(doc);
}

std::string pool_xml(const std::string& name, const std::filesystem::path& dir) {
  pugi::xml_document doc;
  auto pool = doc.append_child("pool");
  attr(pool, "type", "dir");
  child_text(pool, "name", name);
  child_text(pool.append_child("target"), "path", dir.string());
  return to_xml(doc);
}

std::string overlay_volume_xml(const std::string& name, uint64_t capacity_bytes,
                               const std::filesystem::path& backing) {
  pugi::xml_document doc;
  auto vol = doc.append_child("volume");
  child_text(vol, "name", name);
  auto cap = child_text(vol, "capacity", std::to_string(capacity_bytes));
  attr(cap, "unit", "bytes");
  child_text(vol, "allocation", "0");
  attr(vol.append_child("target").append_child("format"), "type", "qcow2");
  auto bs = vol.append_child("backingStore");
  child_text(bs, "path", backing.string());
  attr(bs.append_child("format"), "type", "qcow2");
  return to_xml(doc);
}

DomainSpec node_domain_spec(const Lab& lab, const Node& node, bool kvm,
                            const std::filesystem::path& kernel,
                            const std::filesystem::path& initrd,
                            const std::string& image_cmdline,
                            const std::filesystem::path& overlay,
                            const std::filesystem::path& identity,
                            const std::filesystem::path& console_log) {
  DomainSpec s;
  s.name = libvirt_domain_name(lab, node);
  s.lab = lab.name;
  s.node = node.name;
  s.kvm = kvm;
  s.memory_mib = node.memory_mib;
  s.vcpus = node.cpus;
  s.kernel = kernel;
  s.initrd = initrd;
  s.cmdline = image_cmdline + (image_cmdline.empty() ? "" : " ") + "systemd.hostname=" + node.name;
  s.overlay = overlay;
  s.identity = identity;
  s.network = libvirt_network_name(lab);
  s.mac = libvirt_node_mac(lab, node);
  s.console_log = console_log;
  return s;
}

std::string domain_xml(const DomainSpec& s) {
  pugi::xml_document doc;
  auto dom = doc.append_child("domain");
  attr(dom, "type", s.kvm ? "kvm" : "qemu");
  child_text(dom, "name", s.name);
  auto md = dom.append_child("metadata").append_child("dcslab:lab");
  attr(md, "xmlns:dcslab", kDcslabXmlns);
  child_text(md, "dcslab:name", s.lab);
  child_text(md, "dcslab:node", s.node);
  attr(child_text(dom, "memory", std::to_string(s.memory_mib)), "unit", "MiB");
  child_text(dom, "vcpu", std::to_string(s.vcpus));

  auto os = dom.append_child("os");
  auto type = child_text(os, "type", "hvm");
  attr(type, "arch", "x86_64");
  attr(type, "machine", "pc");
  child_text(os, "kernel", s.kernel.string());
  child_text(os, "initrd", s.initrd.string());
  child_text(os, "cmdline", s.cmdline);
  add_os_and_cpu(dom, s.kvm);

  child_text(dom, "on_poweroff", "destroy");
  child_text(dom, "on_reboot", "restart");
  child_text(dom, "on_crash", "destroy");

  auto devices = dom.append_child("devices");
  auto vda = devices.append_child("disk");
  attr(vda, "type", "file");
  attr(vda, "device", "disk");
  auto d1 = vda.append_child("driver");
  attr(d1, "name", "qemu");
  attr(d1, "type", "qcow2");
  attr(d1, "cache", "unsafe");  // a throw-away lab disk: never wait for the host's fsync
  attr(vda.append_child("source"), "file", s.overlay.string());
  auto t1 = vda.append_child("target");
  attr(t1, "dev", "vda");
  attr(t1, "bus", "virtio");

  // The identity tar is the disk itself (see identity.h): raw, and read-only so that
  // a guest can never change what the harness pinned.
  auto vdb = devices.append_child("disk");
  attr(vdb, "type", "file");
  attr(vdb, "device", "disk");
  auto d2 = vdb.append_child("driver");
  attr(d2, "name", "qemu");
  attr(d2, "type", "raw");
  attr(vdb.append_child("source"), "file", s.identity.string());
  auto t2 = vdb.append_child("target");
  attr(t2, "dev", "vdb");
  attr(t2, "bus", "virtio");
  vdb.append_child("readonly");

  auto nic = devices.append_child("interface");
  attr(nic, "type", "network");
  attr(nic.append_child("source"), "network", s.network);
  attr(nic.append_child("mac"), "address", s.mac);
  attr(nic.append_child("model"), "type", "virtio");

  // The QEMU guest agent's port (libvirt makes the host side's socket): after a revert
  // the clocks are read and set through it, without logging in (LibvirtProvider::set_clocks).
  auto agent = devices.append_child("channel");
  attr(agent, "type", "unix");
  auto agent_target = agent.append_child("target");
  attr(agent_target, "type", "virtio");
  attr(agent_target, "name", "org.qemu.guest_agent.0");

  add_serial_console(devices, s.console_log);
  add_minimal_devices(devices);
  return to_xml(doc);
}

namespace {
pugi::xml_node interface_with_mac(const pugi::xml_document& doc, const std::string& mac) {
  for (auto nic : doc.child("domain").child("devices").children("interface")) {
    std::string a = nic.child("mac").attribute("address").as_string();
    for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string m = mac;
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (a == m) return nic;
  }
  return {};
}
}  // namespace

std::optional<std::string> interface_with_link_state(const std::string& domain_xml,
                                                     const std::string& mac, bool up) {
  pugi::xml_document doc;
  if (!doc.load_string(domain_xml.c_str())) return std::nullopt;
  pugi::xml_node nic = interface_with_mac(doc, mac);
  if (!nic) return std::nullopt;
  pugi::xml_node link = nic.child("link");
  if (!link) link = nic.append_child("link");
  link.remove_attributes();
  attr(link, "state", up ? "up" : "down");
  pugi::xml_document out;
  out.append_copy(nic);
  return to_xml(out);
}

std::string interface_link_state(const std::string& domain_xml, const std::string& mac) {
  pugi::xml_document doc;
  if (!doc.load_string(domain_xml.c_str())) return "";
  pugi::xml_node nic = interface_with_mac(doc, mac);
  if (!nic) return "";
  const std::string state = nic.child("link").attribute("state").as_string();
  return state == "down" ? "down" : "up";
}

std::string snapshot_xml(const SnapshotSpec& spec) {
  pugi::xml_document doc;
  auto snap = doc.append_child("domainsnapshot");
  child_text(snap, "name", spec.name);
  if (!spec.description.empty()) child_text(snap, "description", spec.description);
  attr(snap.append_child("memory"), "snapshot", "internal");
  auto disks = snap.append_child("disks");
  for (const auto& d : spec.internal_disks) {
    auto disk = disks.append_child("disk");
    attr(disk, "name", d);
    attr(disk, "snapshot", "internal");
  }
  for (const auto& d : spec.excluded_disks) {
    auto disk = disks.append_child("disk");
    attr(disk, "name", d);
    attr(disk, "snapshot", "no");
  }
  return to_xml(doc);
}

std::string probe_domain_xml(const std::string& name, bool kvm,
                             const std::filesystem::path& kernel,
                             const std::filesystem::path& console_log) {
  pugi::xml_document doc;
  auto dom = doc.append_child("domain");
  attr(dom, "type", kvm ? "kvm" : "qemu");
  child_text(dom, "name", name);
  attr(child_text(dom, "memory", "256"), "unit", "MiB");
  child_text(dom, "vcpu", "1");
  auto os = dom.append_child("os");
  auto type = child_text(os, "type", "hvm");
  attr(type, "arch", "x86_64");
  attr(type, "machine", "pc");
  child_text(os, "kernel", kernel.string());
  child_text(os, "cmdline", "console=ttyS0 panic=-1");
  add_os_and_cpu(dom, kvm);
  child_text(dom, "on_poweroff", "destroy");
  child_text(dom, "on_reboot", "destroy");
  child_text(dom, "on_crash", "destroy");
  auto devices = dom.append_child("devices");
  add_serial_console(devices, console_log);
  add_minimal_devices(devices);
  return to_xml(doc);
}

}  // namespace dcslab
