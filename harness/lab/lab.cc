#include "lab/lab.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/file.h"
#include "base/text.h"
#include "lab/yaml_reader.h"

namespace dcslab {

std::optional<Ipv4> Ipv4::parse(const std::string& text) {
  static const std::regex re(R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  uint32_t v = 0;
  for (int i = 1; i <= 4; ++i) {
    const int octet = std::stoi(m[i]);
    if (octet > 255) return std::nullopt;
    v = (v << 8) | static_cast<uint32_t>(octet);
  }
  return Ipv4{v};
}

std::string Ipv4::str() const {
  std::ostringstream s;
  s << ((value >> 24) & 255) << '.' << ((value >> 16) & 255) << '.' << ((value >> 8) & 255)
    << '.' << (value & 255);
  return s.str();
}

std::optional<Cidr> Cidr::parse(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto base = Ipv4::parse(text.substr(0, slash));
  const std::string p = text.substr(slash + 1);
  if (!base || p.empty() || p.size() > 2 || !std::all_of(p.begin(), p.end(), ::isdigit))
    return std::nullopt;
  const int prefix = std::stoi(p);
  // A lab network needs room for a host and nodes: /8 to /30.
  if (prefix < 8 || prefix > 30) return std::nullopt;
  Cidr c{*base, prefix};
  if ((base->value & c.netmask().value) != base->value) return std::nullopt;
  return c;
}

Ipv4 Cidr::netmask() const { return Ipv4{prefix == 0 ? 0u : ~0u << (32 - prefix)}; }

bool Cidr::contains(Ipv4 ip) const {
  return (ip.value & netmask().value) == base.value;
}

std::string Cidr::str() const { return base.str() + "/" + std::to_string(prefix); }

std::string to_string(Accel a) {
  switch (a) {
    case Accel::Auto: return "auto";
    case Accel::Kvm: return "kvm";
    case Accel::Tcg: return "tcg";
  }
  return "?";
}

const Node* Lab::find_node(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const NodeGroup* Lab::find_group(const std::string& name) const {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

namespace {
std::string mac_of(const std::string& oui, std::uint64_t h) {
  std::string mac = oui;
  for (int shift : {16, 8, 0}) mac += ":" + hex(std::string(1, static_cast<char>((h >> shift) & 0xff)));
  return mac;
}
}  // namespace

std::string node_mac(const Lab& lab, const Node& node, const std::string& oui,
                     const std::string& salt) {
  std::set<std::string> taken;
  for (const auto& n : lab.nodes) {
    std::uint64_t h = stable_hash(salt + lab.name + "/" + n.name);
    std::string mac = mac_of(oui, h);
    while (taken.count(mac)) mac = mac_of(oui, ++h);
    taken.insert(mac);
    if (n.name == node.name) return mac;
  }
  return mac_of(oui, stable_hash(salt + lab.name + "/" + node.name));
}

std::vector<std::string> Lab::node_names() const {
  std::vector<std::string> names;
  for (const auto& n : nodes) names.push_back(n.name);
  return names;
}

namespace {

// The lab file's fields, through the shared reader (lab/yaml_reader.h). An absent
// optional key takes `fallback`.
std::string str(const YamlReader& r, const YAML::Node& parent, const std::string& parent_key,
                const std::string& k, const std::string& fallback, bool required) {
  const YAML::Node v = parent[k];
  if (!v) {
    if (required) r.fail(parent, join_key(parent_key, k), "missing (required)");
    return fallback;
  }
  return r.scalar(v, join_key(parent_key, k));
}

int integer(const YamlReader& r, const YAML::Node& parent, const std::string& parent_key,
            const std::string& k, int fallback, int min, int max) {
  const YAML::Node v = parent[k];
  if (!v) return fallback;
  return r.integer(v, join_key(parent_key, k), min, max);
}

Ipv4 ip(const YamlReader& r, const YAML::Node& parent, const std::string& parent_key,
        const std::string& k) {
  const std::string s = str(r, parent, parent_key, k, "", true);
  auto a = Ipv4::parse(s);
  if (!a) r.fail(parent[k], join_key(parent_key, k), "\"" + s + "\" is not an IPv4 address");
  return *a;
}

// A name that works as a host name and inside resource names (domains, bridges).
bool valid_name(const std::string& s) {
  static const std::regex re(R"([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)");
  return std::regex_match(s, re);
}

bool valid_domain(const std::string& s) {
  static const std::regex re(R"(([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?)");
  return s.size() <= 200 && std::regex_match(s, re);
}

// image.etcd: a list of {archive, sha256, install}. Only the form is checked here (every
// command loads the lab file); the contents when an image is built (lab/etcd_archive.h).
void parse_etcd_archives(const YamlReader& r, const YAML::Node& list,
                         const std::filesystem::path& file, ImageSpec* image) {
  if (!list.IsSequence() || list.size() == 0)
    r.fail(list, "image.etcd", "expected a list of {archive, sha256, install}, found " + yaml_kind(list));
  static const std::regex name_re(R"(etcd-v(\d+\.\d+\.\d+)-linux-amd64\.tar\.gz)");
  static const std::regex hex_re(R"([0-9a-f]{64})");
  std::string installed_at;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node a = list[i];
    EtcdArchiveSpec spec;
    spec.key = "image.etcd[" + std::to_string(i) + "]";
    r.expect_map(a, spec.key, {"archive", "sha256", "install"});
    const std::string path = str(r, a, spec.key, "archive", "", true);
    spec.archive_at = r.where(a["archive"]);
    spec.archive = std::filesystem::path(path).is_absolute()
                       ? std::filesystem::path(path)
                       : std::filesystem::absolute(file).parent_path() / path;
    std::smatch m;
    const std::string base = spec.archive.filename().string();
    if (!std::regex_match(base, m, name_re))
      r.fail(a["archive"], join_key(spec.key, "archive"),
             "\"" + base + "\" is not an etcd release archive name (etcd-vX.Y.Z-linux-amd64.tar.gz)");
    spec.version = m[1];
    spec.sha256 = str(r, a, spec.key, "sha256", "", true);
    spec.sha256_at = r.where(a["sha256"]);
    if (!std::regex_match(spec.sha256, hex_re))
      r.fail(a["sha256"], join_key(spec.key, "sha256"),
             "\"" + spec.sha256 + "\" is not a SHA-256 (64 lower-case hex digits)");
    if (a["install"]) spec.install = r.boolean(a["install"], join_key(spec.key, "install"));
    if (spec.install) {
      if (!installed_at.empty())
        r.fail(a["install"], join_key(spec.key, "install"),
               "a second archive to install (" + installed_at +
                   " is one already): at most one replaces the suite's etcd");
      installed_at = r.where(a["install"]);
    }
    for (const auto& other : image->etcd)
      if (other.version == spec.version)
        r.fail(a["archive"], join_key(spec.key, "archive"),
               "etcd " + spec.version + " again (" + other.archive_at + " is one already)");
    image->etcd.push_back(std::move(spec));
  }
}

}  // namespace

bool valid_lab_name(const std::string& name) { return valid_name(name); }

bool valid_user_name(const std::string& name) {
  static const std::regex re(R"([a-z_][a-z0-9_-]{0,31})");
  return std::regex_match(name, re);
}

bool valid_mirror(const std::string& url) {
  std::string_view rest;
  for (std::string_view scheme : {"http://", "https://", "file://"})
    if (url.starts_with(scheme)) rest = std::string_view(url).substr(scheme.size());
  if (rest.empty() || rest == "/") return false;
  for (unsigned char c : rest)
    if (c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '\\') return false;
  return true;
}

Lab parse_lab(const std::string& text, const std::filesystem::path& file) {
  const YAML::Node root = load_yaml(text, file);
  const YamlReader r(file, text);
  if (!root.IsMap()) r.fail(root, "(top level)", "expected a mapping with name, network, nodes");
  r.expect_map(root, "", {"name", "network", "image", "provider", "login", "defaults", "nodes",
                          "groups"});

  Lab lab;
  lab.file = file;
  lab.name = str(r, root, "", "name", "", true);
  if (!valid_name(lab.name))
    r.fail(root["name"], "name",
           "\"" + lab.name + "\" must be lower-case letters, digits and '-', at most 32");

  // network
  const YAML::Node net = root["network"];
  if (!net) r.fail(root, "network", "missing (required)");
  r.expect_map(net, "network", {"name", "cidr", "host", "domain"});
  lab.network.name = str(r, net, "network", "name", lab.name, false);
  if (!valid_name(lab.network.name))
    r.fail(net["name"], "network.name", "\"" + lab.network.name + "\" is not a valid name");
  const std::string cidr = str(r, net, "network", "cidr", "", true);
  auto c = Cidr::parse(cidr);
  if (!c)
    r.fail(net["cidr"], "network.cidr",
           "\"" + cidr + "\" is not a network like 192.168.56.0/24 (prefix 8..30, host bits zero)");
  lab.network.cidr = *c;
  lab.network.host = ip(r, net, "network", "host");
  if (!lab.network.cidr.contains(lab.network.host))
    r.fail(net["host"], "network.host",
           lab.network.host.str() + " is outside network.cidr " + c->str());
  lab.network.domain = str(r, net, "network", "domain", "", true);
  if (!valid_domain(lab.network.domain))
    r.fail(net["domain"], "network.domain", "\"" + lab.network.domain + "\" is not a DNS domain");

  // image
  if (const YAML::Node img = root["image"]) {
    r.expect_map(img, "image", {"suite", "mirror", "etcd"});
    lab.image.suite = str(r, img, "image", "suite", "bookworm", false);
    static const std::set<std::string> suites = {"bullseye", "bookworm", "trixie", "forky"};
    if (!suites.count(lab.image.suite))
      r.fail(img["suite"], "image.suite",
             "unknown Debian suite \"" + lab.image.suite +
                 "\" (valid: bullseye, bookworm, trixie, forky)");
    lab.image.mirror = str(r, img, "image", "mirror", "", false);
    if (img["mirror"] && !valid_mirror(lab.image.mirror))
      r.fail(img["mirror"], "image.mirror",
             "\"" + lab.image.mirror +
                 "\" is not a Debian mirror URL (http://, https:// or file://, no spaces)");
    if (const YAML::Node etcd = img["etcd"]) parse_etcd_archives(r, etcd, file, &lab.image);
  }

  // provider: type and uri are checked by the provider registry (providers/registry.h),
  // which knows the providers; it names the lines kept here.
  if (const YAML::Node p = root["provider"]) {
    r.expect_map(p, "provider", {"type", "uri", "accel", "template"});
    lab.provider.type = str(r, p, "provider", "type", lab.provider.type, false);
    if (p["type"]) lab.provider.type_at = r.where(p["type"]);
    lab.provider.uri = str(r, p, "provider", "uri", lab.provider.uri, false);
    if (p["uri"]) lab.provider.uri_at = r.where(p["uri"]);
    const std::string accel = str(r, p, "provider", "accel", "auto", false);
    if (accel == "auto") lab.provider.accel = Accel::Auto;
    else if (accel == "kvm") lab.provider.accel = Accel::Kvm;
    else if (accel == "tcg") lab.provider.accel = Accel::Tcg;
    else r.fail(p["accel"], "provider.accel", "\"" + accel + "\" is not one of auto, kvm, tcg");
    if (p["template"]) lab.provider.template_boot = r.boolean(p["template"], "provider.template");
  }

  // login
  if (const YAML::Node login = root["login"]) {
    r.expect_map(login, "login", {"user"});
    lab.login.user = str(r, login, "login", "user", lab.login.user, false);
    if (!valid_user_name(lab.login.user) || lab.login.user == "root")
      r.fail(login["user"], "login.user",
             "\"" + lab.login.user +
                 "\" is not a login user name (a lower-case letter or '_', then lower-case letters, "
                 "digits, '_' or '-', at most 32; not root)");
  }

  // defaults
  int def_memory = 1024, def_cpus = 2;
  if (const YAML::Node d = root["defaults"]) {
    r.expect_map(d, "defaults", {"memory", "cpus"});
    def_memory = integer(r, d, "defaults", "memory", def_memory, 128, 1 << 20);
    def_cpus = integer(r, d, "defaults", "cpus", def_cpus, 1, 64);
  }

  // nodes
  const YAML::Node nodes = root["nodes"];
  if (!nodes) r.fail(root, "nodes", "missing (required)");
  if (!nodes.IsSequence() || nodes.size() == 0)
    r.fail(nodes, "nodes", "expected a non-empty list of nodes, found " + yaml_kind(nodes));
  std::map<std::string, std::string> seen_names, seen_ips;  // value -> key where first seen
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const YAML::Node n = nodes[i];
    const std::string key = "nodes[" + std::to_string(i) + "]";
    r.expect_map(n, key, {"name", "ip", "memory", "cpus"});
    Node node;
    node.name = str(r, n, key, "name", "", true);
    if (!valid_name(node.name))
      r.fail(n["name"], key + ".name",
             "\"" + node.name + "\" must be lower-case letters, digits and '-', at most 32");
    if (seen_names.count(node.name))
      r.fail(n["name"], key + ".name",
             "duplicate node name \"" + node.name + "\" (also " + seen_names[node.name] + ")");
    seen_names[node.name] = key;
    node.ip = ip(r, n, key, "ip");
    const std::string ip = node.ip.str();
    if (!lab.network.cidr.contains(node.ip))
      r.fail(n["ip"], key + ".ip", ip + " is outside network.cidr " + lab.network.cidr.str());
    if (node.ip == lab.network.host)
      r.fail(n["ip"], key + ".ip", ip + " is the host's address (network.host)");
    const uint32_t host_bits = node.ip.value & ~lab.network.cidr.netmask().value;
    if (host_bits == 0 || host_bits == ~lab.network.cidr.netmask().value)
      r.fail(n["ip"], key + ".ip", ip + " is the network or broadcast address");
    if (seen_ips.count(ip))
      r.fail(n["ip"], key + ".ip", "duplicate address " + ip + " (also " + seen_ips[ip] + ")");
    seen_ips[ip] = key;
    node.memory_mib = integer(r, n, key, "memory", def_memory, 128, 1 << 20);
    node.cpus = integer(r, n, key, "cpus", def_cpus, 1, 64);
    node.fqdn = node.name + "." + lab.network.domain;
    lab.nodes.push_back(std::move(node));
  }

  // groups: {NAME: [node, ...]}: after the nodes, whose names they use.
  if (const YAML::Node groups = root["groups"]) {
    if (!groups.IsMap())
      r.fail(groups, "groups",
             "expected a mapping of group: [node, ...], found " + yaml_kind(groups));
    for (const auto& kv : groups) {
      NodeGroup g;
      g.name = kv.first.as<std::string>();
      const std::string key = "groups." + g.name;
      if (!valid_name(g.name))
        r.fail(kv.first, key, "\"" + g.name + "\" must be lower-case letters, digits and '-', at most 32");
      if (g.name == "all")
        r.fail(kv.first, key, "\"all\" is every node of the lab already; give the group another name");
      if (lab.find_node(g.name))
        r.fail(kv.first, key, "\"" + g.name + "\" is a node's name; a group takes a name of its own");
      if (lab.find_group(g.name))
        r.fail(kv.first, key, "duplicate group \"" + g.name + "\"");
      const YAML::Node members = kv.second;
      if (!members.IsSequence() || members.size() == 0)
        r.fail(members, key, "expected a non-empty list of node names, found " + yaml_kind(members));
      for (std::size_t i = 0; i < members.size(); ++i) {
        const std::string mk = key + "[" + std::to_string(i) + "]";
        if (!members[i].IsScalar())
          r.fail(members[i], mk, "expected a node name, found " + yaml_kind(members[i]));
        const std::string n = members[i].Scalar();
        if (!lab.find_node(n))
          r.fail(members[i], mk, "unknown node \"" + n + "\" (valid: " + join(lab.node_names(), ", ") + ")");
        if (std::find(g.nodes.begin(), g.nodes.end(), n) != g.nodes.end())
          r.fail(members[i], mk, "node \"" + n + "\" is listed twice");
        g.nodes.push_back(n);
      }
      lab.groups.push_back(std::move(g));
    }
  }
  return lab;
}

Lab load_lab(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) throw BadInput(file.string() + ": cannot read lab file");
  return parse_lab(*text, file);
}

}  // namespace dcslab
