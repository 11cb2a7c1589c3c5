// The libvirt XML the libvirt provider defines: the lab's host-only network, a storage
// pool and per-node qcow2 overlays, one domain per node, and the accelerator probe's
// throw-away domain. Generated with pugixml (never by string pasting, so a lab or node
// name can never break the XML), and every name derives from the lab's name so that
// resources are recognisably ours and two labs never collide.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/text.h"
#include "lab/lab.h"

namespace dcslab {

// The namespace URI of the <metadata> element that marks a domain as dcslab's.
inline constexpr const char* kDcslabXmlns = "https://dcslab.invalid/xmlns/lab/1";

std::string libvirt_network_name(const Lab& lab);                  // dcslab-<lab>
std::string libvirt_pool_name(const Lab& lab);                     // dcslab-<lab>
std::string libvirt_domain_name(const Lab& lab, const Node& node); // dcslab-<lab>-<node>
std::string libvirt_volume_name(const Node& node);                 // <node>.qcow2
// A Linux interface name (at most 15 characters): "dcsl-" + the lab name when it fits
// and is made of safe characters, else "dcsl-" + 10 hex digits of a hash of it.
std::string libvirt_bridge_name(const Lab& lab);
// 52:54:00:xx:xx:xx (QEMU's locally administered prefix) from a stable hash of lab and node
// names; distinct among the lab's nodes (a collision moves on to the next value).
std::string libvirt_node_mac(const Lab& lab, const Node& node);


// A host-only, isolated network: no <forward> (no NAT, no routing), no <dhcp> (addresses
// are static, from the node identity), DNS disabled so libvirt starts no dnsmasq.
std::string network_xml(const Lab& lab);

std::string pool_xml(const std::string& name, const std::filesystem::path& dir);

// A qcow2 volume over `backing` (a qcow2 file) of `capacity_bytes`.
std::string overlay_volume_xml(const std::string& name, uint64_t capacity_bytes,
                               const std::filesystem::path& backing);

struct DomainSpec {
  std::string name;
  std::string lab;          // goes into the dcslab <metadata>
  std::string node;
  bool kvm = false;         // type='kvm' (QEMU's default CPU), else type='qemu' (TCG, qemu64)
  int memory_mib = 1024;
  int vcpus = 2;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string cmdline;
  std::filesystem::path overlay;   // qcow2, vda
  std::filesystem::path identity;  // identity.tar, raw read-only vdb
  std::string network;             // libvirt network name
  std::string mac;
  std::filesystem::path console_log;
};

DomainSpec node_domain_spec(const Lab& lab, const Node& node, bool kvm,
                            const std::filesystem::path& kernel,
                            const std::filesystem::path& initrd,
                            const std::string& image_cmdline,
                            const std::filesystem::path& overlay,
                            const std::filesystem::path& identity,
                            const std::filesystem::path& console_log);

std::string domain_xml(const DomainSpec& spec);

// A node's part of a lab snapshot: an internal snapshot with memory state. The overlay
// (vda, qcow2) holds the disk state and the RAM; the identity disk (vdb) is raw and
// read-only, which an internal snapshot cannot hold and does not need (it never
// changes), so it is excluded (snapshot='no') rather than made qcow2.
struct SnapshotSpec {
  std::string name;
  std::string description;
  std::vector<std::string> internal_disks = {"vda"};
  std::vector<std::string> excluded_disks = {"vdb"};
};
std::string snapshot_xml(const SnapshotSpec& spec);

// The `<interface>` element of the NIC with `mac` from a domain's live XML, with
// `<link state='up|down'/>` set: what virDomainUpdateDeviceFlags takes to pull or plug
// the node's lab cable (a fault partition / heal). nullopt when the domain has no such
// NIC or the XML does not parse.
std::optional<std::string> interface_with_link_state(const std::string& domain_xml,
                                                     const std::string& mac, bool up);
// The link state of that NIC in the domain XML: "up" (also when no <link> is given),
// "down", or "" when there is no such NIC.
std::string interface_link_state(const std::string& domain_xml, const std::string& mac);

// The accelerator probe's transient guest: the kernel alone (no disk, no initrd, no NIC);
// it panics on "VFS: Unable to mount root fs" and, with panic=-1 and on_reboot destroy,
// the domain ends. Under a hanging accelerator it prints nothing.
std::string probe_domain_xml(const std::string& name, bool kvm,
                             const std::filesystem::path& kernel,
                             const std::filesystem::path& console_log);

}  // namespace dcslab
