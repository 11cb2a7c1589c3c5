#include "lab/lab.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "base/error.h"

namespace dcslab {
namespace {

const std::filesystem::path kSource = source_dir();

std::string error_of(const std::string& text) {
  try {
    parse_lab(text, "lab.yaml");
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kMinimal = R"(name: t
network:
  cidr: 10.9.0.0/24
  host: 10.9.0.1
  domain: example.test
nodes:
  - name: a
    ip: 10.9.0.2
)";

TEST(Lab, DefaultLabIsTheSeedsLab) {
  const Lab lab = load_lab(kSource / "fixtures/labs/dcs.yaml");
  EXPECT_EQ(lab.name, "dcs");
  EXPECT_EQ(lab.network.cidr.str(), "192.168.56.0/24");
  EXPECT_EQ(lab.network.host.str(), "192.168.56.1");
  EXPECT_EQ(lab.network.domain, "patroni.mydomain");
  EXPECT_EQ(lab.image.suite, "bookworm");
  EXPECT_EQ(lab.provider.type, "libvirt");
  EXPECT_EQ(lab.provider.accel, Accel::Auto);
  EXPECT_EQ(lab.login.user, "tux");
  ASSERT_EQ(lab.nodes.size(), 3u);
  const char* names[] = {"dcs-00", "dcs-01", "dcs-02"};
  const char* ips[] = {"192.168.56.10", "192.168.56.11", "192.168.56.12"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lab.nodes[i].name, names[i]);
    EXPECT_EQ(lab.nodes[i].ip.str(), ips[i]);
    EXPECT_EQ(lab.nodes[i].memory_mib, 1024);
    EXPECT_EQ(lab.nodes[i].cpus, 2);
    EXPECT_EQ(lab.nodes[i].fqdn, std::string(names[i]) + ".patroni.mydomain");
  }
  ASSERT_NE(lab.find_node("dcs-01"), nullptr);
  EXPECT_EQ(lab.find_node("dcs-09"), nullptr);
}

TEST(Lab, DefaultsApplyAndNodesOverride) {
  const Lab lab = parse_lab(std::string(kMinimal) + "    memory: 512\n  - name: b\n    ip: 10.9.0.3\n",
                            "x.yaml");
  EXPECT_EQ(lab.nodes[0].memory_mib, 512);
  EXPECT_EQ(lab.nodes[1].memory_mib, 1024);
  EXPECT_EQ(lab.network.name, "t");  // defaults to the lab name
  EXPECT_EQ(lab.provider.uri, "qemu:///system");
}

TEST(Lab, ProviderTemplateDefaultsOnAndIsABoolean) {
  EXPECT_TRUE(parse_lab(kMinimal, "x.yaml").provider.template_boot);
  EXPECT_FALSE(parse_lab(std::string(kMinimal) + "provider: {template: false}\n", "x.yaml").provider.template_boot);
  EXPECT_TRUE(parse_lab(std::string(kMinimal) + "provider: {template: true}\n", "x.yaml").provider.template_boot);
  EXPECT_EQ(error_of(std::string(kMinimal) + "provider: {template: maybe}\n"),
            "lab.yaml:9:22: provider.template: expected true or false, found \"maybe\"");
}

TEST(Lab, LoginUserDefaultsToTuxAndIsCheckedStrictly) {
  EXPECT_EQ(parse_lab(kMinimal, "x.yaml").login.user, "tux");
  EXPECT_EQ(parse_lab(std::string(kMinimal) + "login: {user: ops_1}\n", "x.yaml").login.user, "ops_1");
  EXPECT_EQ(parse_lab(std::string(kMinimal) + "login:\n  user: _svc-x\n", "x.yaml").login.user, "_svc-x");
  const std::string rule =
      " is not a login user name (a lower-case letter or '_', then lower-case letters, digits, "
      "'_' or '-', at most 32; not root)";
  EXPECT_EQ(error_of(std::string(kMinimal) + "login: {user: Tux}\n"),
            "lab.yaml:9:15: login.user: \"Tux\"" + rule);
  EXPECT_EQ(error_of(std::string(kMinimal) + "login:\n  user: root\n"),
            "lab.yaml:10:9: login.user: \"root\"" + rule);
  for (const std::string& bad :
       std::vector<std::string>{"1tux", "-tux", "tu x", "tux;id", "\"\"", std::string(33, 'a')})
    EXPECT_NE(error_of(std::string(kMinimal) + "login: {user: " + bad + "}\n").find("login.user: "),
              std::string::npos)
        << bad;
  EXPECT_TRUE(valid_user_name(std::string(32, 'a')));
  EXPECT_TRUE(valid_user_name("root"));  // a user name; only not a login user
  EXPECT_EQ(error_of(std::string(kMinimal) + "login: {name: tux}\n"),
            "lab.yaml:9:9: login.name: unknown key (valid: user)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "login: {user: [a]}\n"),
            "lab.yaml:9:15: login.user: expected a string, found a list");
}

TEST(Lab, ImageMirrorIsAUrlOrAnErrorAtItsLine) {
  EXPECT_EQ(parse_lab(kMinimal, "x.yaml").image.mirror, "");  // the host's apt sources
  EXPECT_EQ(parse_lab(std::string(kMinimal) + "image: {mirror: 'http://apt.corp.example/archive'}\n",
                      "x.yaml").image.mirror,
            "http://apt.corp.example/archive");
  for (const std::string good : {"https://m.example:8443/archive/", "file:///srv/mirror/archive",
                                 "http://10.0.0.5:3142/archive"})
    EXPECT_TRUE(valid_mirror(good)) << good;
  for (const std::string bad : {"", "deb.example/archive", "ftp://m.example/archive", "http://",
                                "file:///", "http://m.example/deb ian", "http://m.example/'x",
                                "http://m.example/\n"})
    EXPECT_FALSE(valid_mirror(bad)) << bad;
  EXPECT_EQ(error_of(std::string(kMinimal) + "image:\n  mirror: \"deb http://x bookworm main\"\n"),
            "lab.yaml:10:11: image.mirror: \"deb http://x bookworm main\" is not a Debian mirror "
            "URL (http://, https:// or file://, no spaces)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "image: {mirror: [a]}\n"),
            "lab.yaml:9:17: image.mirror: expected a string, found a list");
}

TEST(Lab, ImageEtcdArchivesAreParsedWithTheirLines) {
  const std::string hex(64, 'a');
  const Lab lab = parse_lab(std::string(kMinimal) +
                                "image:\n"
                                "  etcd:\n"
                                "    - archive: /srv/etcd-v3.5.30-linux-amd64.tar.gz\n"
                                "      sha256: " + hex + "\n"
                                "      install: true\n"
                                "    - {archive: a/etcd-v3.3.25-linux-amd64.tar.gz, sha256: " + hex + "}\n",
                            "/labs/x.yaml");
  ASSERT_EQ(lab.image.etcd.size(), 2u);
  EXPECT_EQ(lab.image.etcd[0].archive, "/srv/etcd-v3.5.30-linux-amd64.tar.gz");
  EXPECT_EQ(lab.image.etcd[0].version, "3.5.30");
  EXPECT_TRUE(lab.image.etcd[0].install);
  EXPECT_EQ(lab.image.etcd[0].key, "image.etcd[0]");
  EXPECT_EQ(lab.image.etcd[0].archive_at, "/labs/x.yaml:11:16");
  EXPECT_EQ(lab.image.etcd[0].sha256_at, "/labs/x.yaml:12:15");
  // A relative path is the lab file's folder's, not the working directory's.
  EXPECT_EQ(lab.image.etcd[1].archive, "/labs/a/etcd-v3.3.25-linux-amd64.tar.gz");
  EXPECT_EQ(lab.image.etcd[1].version, "3.3.25");
  EXPECT_FALSE(lab.image.etcd[1].install);
  EXPECT_TRUE(parse_lab(kMinimal, "x.yaml").image.etcd.empty());
}

TEST(Lab, ImageEtcdErrorsNameFileLineAndKey) {
  const std::string hex(64, 'a');
  const std::string head = std::string(kMinimal) + "image:\n  etcd:\n";
  EXPECT_EQ(error_of(head + "    - {archive: etcd-3.5.30.tar.gz, sha256: " + hex + "}\n"),
            "lab.yaml:11:17: image.etcd[0].archive: \"etcd-3.5.30.tar.gz\" is not an etcd release "
            "archive name (etcd-vX.Y.Z-linux-amd64.tar.gz)");
  EXPECT_EQ(error_of(head + "    - {archive: etcd-v3.5.30-linux-amd64.tar.gz, sha256: ABC}\n"),
            "lab.yaml:11:58: image.etcd[0].sha256: \"ABC\" is not a SHA-256 (64 lower-case hex digits)");
  EXPECT_EQ(error_of(head + "    - {archive: etcd-v3.5.30-linux-amd64.tar.gz}\n"),
            "lab.yaml:11:7: image.etcd[0].sha256: missing (required)");
  EXPECT_EQ(error_of(head + "    - {archive: etcd-v3.5.30-linux-amd64.tar.gz, sha256: " + hex +
                     ", url: x}\n"),
            "lab.yaml:11:124: image.etcd[0].url: unknown key (valid: archive, sha256, install)");
  EXPECT_EQ(error_of(head + "    - {archive: etcd-v3.5.30-linux-amd64.tar.gz, sha256: " + hex +
                     ", install: true}\n    - {archive: etcd-v3.3.25-linux-amd64.tar.gz, sha256: " +
                     hex + ", install: true}\n"),
            "lab.yaml:12:133: image.etcd[1].install: a second archive to install (lab.yaml:11:133 is "
            "one already): at most one replaces the suite's etcd");
  EXPECT_EQ(error_of(head + "    - {archive: etcd-v3.5.30-linux-amd64.tar.gz, sha256: " + hex +
                     "}\n    - {archive: b/etcd-v3.5.30-linux-amd64.tar.gz, sha256: " + hex + "}\n"),
            "lab.yaml:12:17: image.etcd[1].archive: etcd 3.5.30 again (lab.yaml:11:17 is one already)");
  EXPECT_EQ(error_of(head + "    x\n"),
            "lab.yaml:11:5: image.etcd: expected a list of {archive, sha256, install}, found \"x\"");
}

TEST(Lab, NodeMacsNeverChangeAndNeverCollide) {
  Lab lab;
  lab.name = "t";
  for (const char* n : {"a", "n11469", "n62874"}) lab.nodes.push_back(Node{n, {}, 1024, 2, ""});
  // Existing labs' NICs derive from these: computed outside dcslab (FNV-1a steps).
  EXPECT_EQ(node_mac(lab, lab.nodes[0], "52:54:00", ""), "52:54:00:63:fa:bd");
  EXPECT_EQ(node_mac(lab, lab.nodes[0], "08:00:27", "vbox/"), "08:00:27:d5:d4:27");
  // n11469 and n62874 share their low 24 bits (…5614cb): the later node takes the next.
  EXPECT_EQ(node_mac(lab, lab.nodes[1], "52:54:00", ""), "52:54:00:56:14:cb");
  EXPECT_EQ(node_mac(lab, lab.nodes[2], "52:54:00", ""), "52:54:00:56:14:cc");
}

// The loader does not know the providers: it keeps the section as written and where each
// value was, for the registry's errors (providers/registry_test.cc).
TEST(Lab, ProviderSectionIsKeptWithItsPositions) {
  const Lab lab = parse_lab(std::string(kMinimal) +
                                "provider:\n  type: docker\n  uri: qemu+ssh://hv1/system\n",
                            "lab.yaml");
  EXPECT_EQ(lab.provider.type, "docker");
  EXPECT_EQ(lab.provider.type_at, "lab.yaml:10:9");
  EXPECT_EQ(lab.provider.uri, "qemu+ssh://hv1/system");
  EXPECT_EQ(lab.provider.uri_at, "lab.yaml:11:8");
  const Lab defaulted = parse_lab(kMinimal, "lab.yaml");
  EXPECT_EQ(defaulted.provider.type, "libvirt");
  EXPECT_EQ(defaulted.provider.type_at, "");
  EXPECT_EQ(defaulted.provider.uri_at, "");
}

TEST(Lab, Ipv4AndCidr) {
  EXPECT_FALSE(Ipv4::parse("256.1.1.1"));
  EXPECT_FALSE(Ipv4::parse("1.2.3"));
  EXPECT_EQ(Ipv4::parse("192.168.56.11")->str(), "192.168.56.11");
  auto c = Cidr::parse("192.168.56.0/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->netmask().str(), "255.255.255.0");
  EXPECT_TRUE(c->contains(*Ipv4::parse("192.168.56.254")));
  EXPECT_FALSE(c->contains(*Ipv4::parse("192.168.57.1")));
  EXPECT_FALSE(Cidr::parse("192.168.56.1/24"));  // host bits set
  EXPECT_FALSE(Cidr::parse("192.168.56.0/33"));
  EXPECT_FALSE(Cidr::parse("192.168.56.0"));
}

TEST(Lab, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("name: t\nnetwork: [1]\nnodes: []\n"),
            "lab.yaml:2:10: network: expected a mapping, found a list");
  EXPECT_EQ(error_of("name: t\n"), "lab.yaml:1:1: network: missing (required)");
  EXPECT_NE(error_of(std::string(kMinimal) + "bogus: 1\n")
                .find("lab.yaml:9:1: bogus: unknown key (valid: name, network, image, "
                      "provider, login, defaults, nodes, groups)"),
            std::string::npos);
  EXPECT_EQ(error_of("name: t\nnetwork: {cidr: 10.0.0.0/24, host: 10.0.0.1, domain: x}\n"
                     "nodes: {a: 1}\n"),
            "lab.yaml:3:8: nodes: expected a non-empty list of nodes, found a mapping");
  // A key that is not a string is bad input too, not a yaml-cpp exception.
  const std::string list_key = error_of(std::string(kMinimal) + "[a]: 1\n");
  EXPECT_EQ(list_key.rfind("lab.yaml:9:1: ", 0), 0u) << list_key;
  EXPECT_NE(list_key.find("keys must be strings"), std::string::npos) << list_key;
  EXPECT_EQ(error_of("name: [x\n"), error_of("name: [x\n"));  // stable
  EXPECT_NE(error_of("name: [x\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "image:\n  suite: jessie\n")
                .find("image.suite: unknown Debian suite \"jessie\""),
            std::string::npos);
  EXPECT_NE(error_of("name: T_T\nnetwork: {cidr: 10.0.0.0/24, host: 10.0.0.1, domain: x}\n")
                .find("lab.yaml:1:7: name:"),
            std::string::npos);
  EXPECT_NE(error_of("name: t\nnetwork: {cidr: 10.0.0.0/24, host: 10.0.1.1, domain: x}\n")
                .find("network.host: 10.0.1.1 is outside network.cidr 10.0.0.0/24"),
            std::string::npos);
}

TEST(Lab, NetworkAndBroadcastAddressesAreRejected) {
  std::string text = kMinimal;
  text.replace(text.find("10.9.0.2"), 8, "10.9.0.255");
  EXPECT_NE(error_of(text).find("nodes[0].ip: 10.9.0.255 is the network or broadcast address"),
            std::string::npos);
}

TEST(Lab, GroupsNameSetsOfNodes) {
  const Lab seed = load_lab(kSource / "fixtures/labs/dcs.yaml");
  ASSERT_EQ(seed.groups.size(), 1u);
  EXPECT_EQ(seed.groups[0].name, "dcs");
  EXPECT_EQ(seed.groups[0].nodes, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"}));

  const Lab lab = load_lab(kSource / "fixtures/labs/patroni.yaml");
  ASSERT_EQ(lab.nodes.size(), 6u);
  EXPECT_EQ(lab.nodes[3].name, "pg-00");
  EXPECT_EQ(lab.nodes[5].ip.str(), "192.168.56.22");
  EXPECT_EQ(lab.nodes[4].fqdn, "pg-01.patroni.mydomain");
  ASSERT_NE(lab.find_group("pg"), nullptr);
  EXPECT_EQ(lab.find_group("pg")->nodes, (std::vector<std::string>{"pg-00", "pg-01", "pg-02"}));
  EXPECT_EQ(lab.find_group("dcs")->nodes.size(), 3u);
  EXPECT_EQ(lab.find_group("all"), nullptr);
  EXPECT_EQ(lab.find_group("pg-00"), nullptr);

  // A group keeps the order it is written in.
  const Lab two = parse_lab(std::string(kMinimal) + "  - name: b\n    ip: 10.9.0.3\n"
                                                    "groups: {x: [b, a]}\n", "lab.yaml");
  EXPECT_EQ(two.find_group("x")->nodes, (std::vector<std::string>{"b", "a"}));
}

TEST(Lab, GroupErrorsNameFileLineAndKey) {
  const std::string base = std::string(kMinimal) + "  - name: b\n    ip: 10.9.0.3\n";
  EXPECT_EQ(error_of(base + "groups: {x: [a, c]}\n"),
            "lab.yaml:11:17: groups.x[1]: unknown node \"c\" (valid: a, b)");
  EXPECT_EQ(error_of(base + "groups: {x: [a, a]}\n"),
            "lab.yaml:11:17: groups.x[1]: node \"a\" is listed twice");
  EXPECT_EQ(error_of(base + "groups: {all: [a]}\n"),
            "lab.yaml:11:10: groups.all: \"all\" is every node of the lab already; give the group "
            "another name");
  EXPECT_EQ(error_of(base + "groups: {b: [a]}\n"),
            "lab.yaml:11:10: groups.b: \"b\" is a node's name; a group takes a name of its own");
  EXPECT_EQ(error_of(base + "groups: {x: []}\n"),
            "lab.yaml:11:13: groups.x: expected a non-empty list of node names, found a list");
  EXPECT_EQ(error_of(base + "groups: {x: a}\n"),
            "lab.yaml:11:13: groups.x: expected a non-empty list of node names, found \"a\"");
  EXPECT_EQ(error_of(base + "groups: [a]\n"),
            "lab.yaml:11:9: groups: expected a mapping of group: [node, ...], found a list");
  EXPECT_EQ(error_of(base + "groups: {X_1: [a]}\n"),
            "lab.yaml:11:10: groups.X_1: \"X_1\" must be lower-case letters, digits and '-', at "
            "most 32");
}

TEST(Lab, MissingFileIsBadInput) {
  EXPECT_THROW(load_lab("/nonexistent/lab.yaml"), BadInput);
}

}  // namespace
}  // namespace dcslab
