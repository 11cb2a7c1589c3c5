#include "providers/virtualbox/vboxmanage.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "base/text.h"

namespace dcslab {

namespace {

std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// "Key:   value" blocks separated by blank lines, the form of `list hostonlyifs` and
// `list dhcpservers`. Indented lines (dhcpservers' option details) belong to no key
// we read and are skipped.
std::vector<std::map<std::string, std::string>> parse_blocks(const std::string& text) {
  std::vector<std::map<std::string, std::string>> blocks;
  std::map<std::string, std::string> cur;
  std::istringstream in(text);
  std::string line;
  auto flush = [&] {
    if (!cur.empty()) blocks.push_back(std::move(cur));
    cur.clear();
  };
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    // The first key of a block repeating means a new block even without a blank line.
    if (cur.count(key)) flush();
    cur[key] = trim(line.substr(colon + 1));
  }
  flush();
  return blocks;
}

std::string get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

}  // namespace

std::vector<VBoxVm> parse_vbox_list_vms(const std::string& text) {
  std::vector<VBoxVm> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // "name" {uuid}; the name may itself contain quotes, so split at the last " {".
    const auto brace = line.rfind(" {");
    if (line.empty() || line[0] != '"' || brace == std::string::npos || brace < 2) continue;
    VBoxVm vm;
    vm.name = line.substr(1, brace - 2);
    const auto close = line.find('}', brace);
    vm.uuid = line.substr(brace + 2, close == std::string::npos ? std::string::npos : close - brace - 2);
    out.push_back(vm);
  }
  return out;
}

std::vector<VBoxHostOnlyIf> parse_vbox_hostonlyifs(const std::string& text) {
  std::vector<VBoxHostOnlyIf> out;
  for (const auto& b : parse_blocks(text)) {
    VBoxHostOnlyIf i;
    i.name = get(b, "Name");
    if (i.name.empty()) continue;
    i.ip = get(b, "IPAddress");
    i.netmask = get(b, "NetworkMask");
    i.dhcp = get(b, "DHCP") == "Enabled";
    i.network_name = get(b, "VBoxNetworkName");
    out.push_back(i);
  }
  return out;
}

std::vector<VBoxDhcpServer> parse_vbox_dhcpservers(const std::string& text) {
  std::vector<VBoxDhcpServer> out;
  for (const auto& b : parse_blocks(text)) {
    VBoxDhcpServer d;
    d.network_name = get(b, "NetworkName");
    if (d.network_name.empty()) continue;
    d.server_ip = get(b, "Dhcpd IP");
    if (d.server_ip.empty()) d.server_ip = get(b, "IP");
    d.lower = get(b, "LowerIPAddress");
    d.upper = get(b, "UpperIPAddress");
    d.enabled = get(b, "Enabled") == "Yes";
    out.push_back(d);
  }
  return out;
}

std::map<std::string, std::string> parse_vbox_machinereadable(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // A quoted key may contain '=' in principle; find the '=' after its closing quote.
    size_t eq;
    if (!line.empty() && line[0] == '"') {
      const auto close = line.find('"', 1);
      if (close == std::string::npos) continue;
      eq = line.find('=', close);
    } else {
      eq = line.find('=');
    }
    if (eq == std::string::npos) continue;
    out[unquote(line.substr(0, eq))] = unquote(line.substr(eq + 1));
  }
  return out;
}

std::optional<std::string> parse_vbox_created_hostonlyif(const std::string& text) {
  const std::string marker = "Interface '";
  const auto at = text.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + marker.size();
  const auto end = text.find('\'', start);
  if (end == std::string::npos || end == start) return std::nullopt;
  return text.substr(start, end - start);
}

std::string vbox_state_name(const std::string& s) {
  if (s == "running") return "running";
  if (s == "poweroff") return "shut off";
  if (s == "paused") return "paused";
  if (s == "aborted") return "crashed";
  if (s == "saved") return "saved";
  if (s == "starting" || s == "restoring") return "starting";
  if (s == "stopping") return "shutting down";
  return s.empty() ? "no state" : s;
}

bool vbox_output_says_not_found(const std::string& output) {
  return output.find("VBOX_E_OBJECT_NOT_FOUND") != std::string::npos ||
         output.find("Could not find a registered machine") != std::string::npos;
}

std::vector<Cidr> vbox_allowed_ranges(const std::optional<std::string>& conf) {
  std::vector<Cidr> out;
  if (!conf) {
    out.push_back(*Cidr::parse("192.168.56.0/21"));
    return out;
  }
  std::istringstream in(*conf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    if (!(words >> w) || w != "*") continue;  // only "* range..." lines grant ranges
    while (words >> w) {
      if (w[0] == '#') break;
      if (auto c = Cidr::parse(w)) out.push_back(*c);
    }
  }
  return out;
}

bool vbox_range_allows(const std::vector<Cidr>& allowed, const Cidr& network) {
  for (const auto& a : allowed)
    if (a.prefix <= network.prefix && a.contains(network.base)) return true;
  return false;
}

std::string vbox_vm_name(const Lab& lab, const Node& node) {
  return "dcslab-" + lab.name + "-" + node.name;
}

std::string vbox_node_mac(const Lab& lab, const Node& node) {
  return node_mac(lab, node, "08:00:27", "vbox/");  // VirtualBox's OUI
}

std::string vbox_mac_argument(const std::string& mac) {
  std::string out;
  for (char c : mac)
    if (c != ':') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::vector<std::string>> vbox_create_vm_argvs(const VBoxVmSpec& s) {
  const std::string ctl = kVBoxController;
  return {
      {"createvm", "--name", s.name, "--ostype", "Debian_64", "--register", "--basefolder",
       s.basefolder},
      // NIC 1 is left empty and the lab NIC is adapter 2: VirtualBox puts adapter 2 at
      // PCI 00:08.0, so the guest names it enp0s8 (by PCI path, in the bootable disk's
      // initrd) as in the seed's Vagrant lab, without Vagrant's NAT adapter 1 (nothing
      // is fetched at up; SSH goes over host-only). virtio: the cloud kernel has no e1000.
      // IOAPIC: VirtualBox refuses more than one vCPU without it.
      {"modifyvm", s.name, "--memory", std::to_string(s.memory_mib), "--cpus",
       std::to_string(s.cpus), "--ioapic", "on", "--rtcuseutc", "on", "--boot1", "disk",
       "--boot2", "none", "--boot3", "none", "--boot4", "none", "--nic1", "none", "--nic2",
       "hostonly", "--hostonlyadapter2", s.hostonly_if, "--nictype2", "virtio",
       "--macaddress2", vbox_mac_argument(s.mac), "--cableconnected2", "on", "--uart1",
       "0x3F8", "4", "--uartmode1", "file", s.console_log},
      {"storagectl", s.name, "--name", ctl, "--add", "ide", "--controller", "PIIX4",
       "--bootable", "on"},
      {"storageattach", s.name, "--storagectl", ctl, "--port", "0", "--device", "0", "--type",
       "hdd", "--medium", s.root_disk},
      {"storageattach", s.name, "--storagectl", ctl, "--port", "0", "--device", "1", "--type",
       "hdd", "--medium", s.identity_disk},
  };
}

}  // namespace dcslab
