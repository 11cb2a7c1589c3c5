// The lab model: what a lab file (YAML) describes, checked strictly when loaded.
// Every value the seed's lab uses is a default here or in fixtures/labs/dcs.yaml,
// never a constant elsewhere in the code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dcslab {

// An IPv4 address in host byte order, with its dotted form.
struct Ipv4 {
  uint32_t value = 0;
  static std::optional<Ipv4> parse(const std::string& text);
  std::string str() const;
  bool operator==(const Ipv4&) const = default;
};

struct Cidr {
  Ipv4 base;
  int prefix = 24;
  static std::optional<Cidr> parse(const std::string& text);
  bool contains(Ipv4 ip) const;
  Ipv4 netmask() const;
  std::string str() const;
};

enum class Accel { Auto, Kvm, Tcg };
std::string to_string(Accel a);

struct Node {
  std::string name;   // short host name, e.g. dcs-01
  Ipv4 ip;
  int memory_mib = 1024;
  int cpus = 2;
  std::string fqdn;   // name + "." + network.domain
};

struct Network {
  std::string name;    // base of the provider's network/bridge names
  Cidr cidr;
  Ipv4 host;           // the host's address on the lab network
  std::string domain;  // e.g. patroni.mydomain
};

// An etcd release archive the lab brings (image.etcd): upstream's layout,
// etcd-vX.Y.Z-linux-amd64.tar.gz with etcd, etcdctl (and etcdutl from 3.5) in a top
// folder of that name. The image build packages it as etcd-server/etcd-client
// X.Y.Z-dcslab1 in the node's local repository (images/build-rootfs): the one with
// `install: true` replaces the suite's etcd as what `apt install etcd-server` installs,
// the others wait at apt priority 1 (`apt install etcd-server=X.Y.Z-dcslab1`).
// What the archive holds is checked before anything is built (lab/etcd_archive.h).
struct EtcdArchiveSpec {
  std::filesystem::path archive;  // absolute (a relative path is the lab file's folder's)
  std::string sha256;             // 64 lower-case hex digits
  bool install = false;
  std::string version;            // X.Y.Z from the file name
  // Where the lab file names them ("lab.yaml:12:16") and the key ("image.etcd[0]"), so
  // a check of the archive's contents names the line.
  std::string key, archive_at, sha256_at;
};

struct ImageSpec {
  std::string suite = "bookworm";
  // The Debian archive image builds fetch from: empty for the host's own apt sources
  // (images/build-rootfs); DCSLAB_MIRROR overrides both.
  std::string mirror;
  std::vector<EtcdArchiveSpec> etcd;  // in the lab file's order; at most one install
};

// The lab file's provider section as written. Which types exist and what each accepts
// is the provider registry's to check (providers/registry.h), not the loader's.
struct ProviderSpec {
  std::string type = "libvirt";          // a provider's name in the registry
  std::string uri = "qemu:///system";    // libvirt connection URI
  Accel accel = Accel::Auto;
  // libvirt: bring nodes up by restoring a booted template of the image (seconds) rather
  // than booting each (libvirt_template.h). false: always boot cold (provider.template).
  bool template_boot = true;
  // Where the lab file gave type and uri ("lab.yaml:11:9"), so the registry's errors name
  // the line; empty when defaulted or set from the command line.
  std::string type_at, uri_at;
};

// Who dcslab logs in as on the nodes: the lab document's user, with passwordless sudo
// and the lab key authorized (root has the key too). The image has only `tux`; a node
// whose lab names another user creates it at first boot with tux's rights
// (images/files/dcslab-identity), and tux stays.
struct LoginSpec {
  std::string user = "tux";
};

// A named set of the lab's nodes (`groups: {dcs: [dcs-00, dcs-01, dcs-02]}`), so a
// scenario says `on: dcs` for the etcd members and `on: pg` for the PostgreSQL nodes
// of a lab that has both, instead of listing hosts. `all` is every node, never a group.
struct NodeGroup {
  std::string name;
  std::vector<std::string> nodes;  // in the order the lab file lists them
};

struct Lab {
  std::string name;                      // names every resource the lab creates
  std::filesystem::path file;            // where it was loaded from
  Network network;
  ImageSpec image;
  ProviderSpec provider;
  LoginSpec login;
  std::vector<Node> nodes;
  std::vector<NodeGroup> groups;         // in the order the lab file gives them

  const Node* find_node(const std::string& name) const;
  const NodeGroup* find_group(const std::string& name) const;
  std::vector<std::string> node_names() const;
};

// Loads and checks a lab file. Throws BadInput naming file:line:column and the key
// for unknown keys, wrong types, duplicate names or addresses, an address outside the
// network or equal to the host's, a group that is not a list of the lab's nodes. The provider section's values are the registry's to
// check (check_provider_section).
Lab load_lab(const std::filesystem::path& file);

// A MAC address for `node`'s NIC on the lab network, the same on every run and host:
// the hypervisor's OUI ("52:54:00" QEMU, "08:00:27" VirtualBox) and the low 24 bits of
// stable_hash(salt + lab name + "/" + node name). A collision among the lab's nodes
// moves to the next value, resolved in lab order so every caller agrees.
std::string node_mac(const Lab& lab, const Node& node, const std::string& oui,
                     const std::string& salt);

// A user name on the nodes: POSIX's portable user names as Debian's useradd takes them
// (a lower-case letter or '_' first, then lower-case letters, digits, '_' and '-', at
// most 32). `login.user` is one of these and not root (root has the lab key already; the
// login user is the one that runs commands with sudo, as the lab document's tux does).
bool valid_user_name(const std::string& name);

// A lab name as the lab file's `name:` allows (lower-case letters, digits and '-', at
// most 32): it names the lab's resources.
bool valid_lab_name(const std::string& name);

// A Debian mirror as image.mirror and DCSLAB_MIRROR take it: an http://, https:// or
// file:// URL with a host or path, no white space or quotes (it goes into a sources.list
// line).
bool valid_mirror(const std::string& url);
Lab parse_lab(const std::string& text, const std::filesystem::path& file_for_messages);

}  // namespace dcslab
