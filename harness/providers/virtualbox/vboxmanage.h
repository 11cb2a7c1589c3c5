// VBoxManage, the VirtualBox command line, as data: the argv dcslab passes it and parsers
// for the machine-readable answers it gives. No process is run here (that is
// virtualbox_provider.cc), so every argv and every parser is unit-tested on text.
//
// Formats follow VirtualBox 7's documentation (VBoxManage chapter of the user manual):
//   list vms               "name" {uuid}                         one VM a line
//   list hostonlyifs       "Key:   value" blocks, blank-line separated (Name, DHCP,
//                          IPAddress, NetworkMask, VBoxNetworkName, ...)
//   list dhcpservers       the same block form (NetworkName, Dhcpd IP, LowerIPAddress,
//                          UpperIPAddress, NetworkMask, Enabled)
//   showvminfo --machinereadable   key="value" lines; keys may be quoted too
//                          ("SATA-0-0"="..."); VMState="running"|"poweroff"|...
//   hostonlyif create      "Interface 'vboxnet1' was successfully created"
// Options are the long-standing spellings (--nictype2, --hostonlyadapter2,
// --macaddress2, --uartmode1) that VirtualBox 6.1 documents and VirtualBox 7 still
// accepts next to its new dashed forms (--nic-type2, ...), so one argv serves both.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab/lab.h"

namespace dcslab {

// --- parsers ----------------------------------------------------------------------

struct VBoxVm {
  std::string name;
  std::string uuid;
};
std::vector<VBoxVm> parse_vbox_list_vms(const std::string& text);

struct VBoxHostOnlyIf {
  std::string name;          // vboxnet0
  std::string ip;            // IPAddress
  std::string netmask;       // NetworkMask
  bool dhcp = false;         // DHCP: Enabled | Disabled
  std::string network_name;  // VBoxNetworkName, e.g. HostInterfaceNetworking-vboxnet0
};
std::vector<VBoxHostOnlyIf> parse_vbox_hostonlyifs(const std::string& text);

struct VBoxDhcpServer {
  std::string network_name;  // NetworkName
  std::string server_ip;     // Dhcpd IP (older versions: IP)
  std::string lower;         // LowerIPAddress
  std::string upper;         // UpperIPAddress
  bool enabled = false;      // Enabled: Yes | No
};
std::vector<VBoxDhcpServer> parse_vbox_dhcpservers(const std::string& text);

// key="value" (or key=value) lines; quotes around keys and values removed.
std::map<std::string, std::string> parse_vbox_machinereadable(const std::string& text);

// The interface name from `hostonlyif create`'s output, or nullopt.
std::optional<std::string> parse_vbox_created_hostonlyif(const std::string& text);

// showvminfo's VMState in dcslab's words (NodeStatus::state): running, shut off,
// paused, crashed (aborted), saved, ... unknown states are passed through.
std::string vbox_state_name(const std::string& vm_state);

// Whether a VBoxManage failure means "no such VM" (exit 1 with VBOX_E_OBJECT_NOT_FOUND).
bool vbox_output_says_not_found(const std::string& output);

// --- the host-only network range VirtualBox allows --------------------------------

// Since VirtualBox 6.1.28 (Linux, Solaris, macOS) host-only interfaces may only use
// the ranges listed in /etc/vbox/networks.conf ("* 10.0.0.0/8 192.168.0.0/16"); with
// no such file, only 192.168.56.0/21. `conf` is the file's text, nullopt if absent.
std::vector<Cidr> vbox_allowed_ranges(const std::optional<std::string>& conf);
bool vbox_range_allows(const std::vector<Cidr>& allowed, const Cidr& network);

// --- names and argv -----------------------------------------------------------------

std::string vbox_vm_name(const Lab& lab, const Node& node);    // dcslab-<lab>-<node>
// The lab NIC's MAC, in VirtualBox's own OUI 08:00:27, deterministic per lab and node
// (collisions inside a lab resolved in node order). "08:00:27:xx:xx:xx".
std::string vbox_node_mac(const Lab& lab, const Node& node);
// The same without colons, as modifyvm --macaddressN wants it.
std::string vbox_mac_argument(const std::string& mac);

// The storage controller the lab's disks hang off: IDE (PIIX4). Debian's cloud kernel,
// which the image boots, has ata_piix but no AHCI driver, so a SATA controller would
// leave the guest without its root disk. Root on port 0 master, identity on port 0 slave.
inline constexpr const char* kVBoxController = "IDE";

struct VBoxVmSpec {
  std::string name;
  std::string node;
  int memory_mib = 1024;
  int cpus = 2;
  std::string hostonly_if;  // vboxnetN
  std::string mac;          // 08:00:27:..
  std::string root_disk;    // per-node differencing VDI
  std::string identity_disk;  // identity VDI
  std::string console_log;
  std::string basefolder;   // where VirtualBox keeps the VM's settings folder
};

// Every VBoxManage call that creates and starts one VM, in order (without the
// leading "VBoxManage").
std::vector<std::vector<std::string>> vbox_create_vm_argvs(const VBoxVmSpec& spec);

}  // namespace dcslab
