#include "lab/identity.h"
#include "base/file.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/process.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = source_dir();

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-identity-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A file the test expects may be missing: that reads as empty, and the assertion says so.
std::string slurp(const fs::path& p) {
  auto text = read_file(p);
  return text ? std::move(*text) : std::string();
}

// A stand-in private key: write_identity copies bytes, it never parses the key.
const char* kFakePrivate =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZSBrZXkgZm9yIGEgdGVzdA==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

class Identity : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = load_lab(kSource / "fixtures/labs/dcs.yaml");
    keys_.host_private = tmp_.path / "host_key";
    std::ofstream(keys_.host_private) << kFakePrivate;
    keys_.host_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey dcs-01";
    keys_.lab_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILabKey dcslab-dcs\n";
  }
  fs::path write(const std::string& match = "MACAddress=52:54:00:00:56:11") {
    return write_identity(lab_, *lab_.find_node("dcs-01"), keys_, match, tmp_.path / "out");
  }
  TempDir tmp_;
  Lab lab_;
  NodeKeys keys_;
};

TEST_F(Identity, ArchiveHoldsExactlyTheContractMembersWithTheirModes) {
  const fs::path tar = write();
  // GNU tar is the reader the guest uses, so it is the judge here too.
  auto listing = run_checked({"tar", "--numeric-owner", "-tvf", tar.string()});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  std::istringstream lines(*listing);
  std::vector<std::pair<std::string, std::string>> members;  // mode, name
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string mode, owner, size, date, time, name;
    f >> mode >> owner >> size >> date >> time >> name;
    members.emplace_back(mode, name);
    EXPECT_EQ(owner, "0/0") << line;
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"drwxr-xr-x", "dcslab-identity/"},
      {"-rw-r--r--", "dcslab-identity/hostname"},
      {"-rw-r--r--", "dcslab-identity/hosts"},
      {"-rw-r--r--", "dcslab-identity/network"},
      {"-rw-------", "dcslab-identity/ssh_host_ed25519_key"},
      {"-rw-r--r--", "dcslab-identity/ssh_host_ed25519_key.pub"},
      {"-rw-r--r--", "dcslab-identity/authorized_keys"},
      {"-rw-r--r--", "dcslab-identity/login_user"},
  };
  EXPECT_EQ(members, expected);
}

TEST_F(Identity, ContentsAreWhatTheNodeNeeds) {
  const fs::path tar = write();
  const fs::path x = tmp_.path / "x";
  fs::create_directories(x);
  auto r = run_checked({"tar", "-xf", tar.string(), "-C", x.string()});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const fs::path d = x / "dcslab-identity";
  EXPECT_EQ(slurp(d / "hostname"), "dcs-01\n");
  EXPECT_EQ(slurp(d / "hosts"), hosts_file(lab_));
  const std::string network = slurp(d / "network");
  EXPECT_NE(network.find("[Match]\nMACAddress=52:54:00:00:56:11\n"), std::string::npos) << network;
  EXPECT_NE(network.find("[Network]\nAddress=192.168.56.11/24\n"), std::string::npos) << network;
  EXPECT_NE(network.find("DHCP=no\n"), std::string::npos) << network;
  EXPECT_EQ(network.find("Gateway"), std::string::npos) << network;
  EXPECT_EQ(slurp(d / "ssh_host_ed25519_key"), kFakePrivate);
  EXPECT_EQ(slurp(d / "ssh_host_ed25519_key.pub"), keys_.host_public + "\n");
  EXPECT_EQ(slurp(d / "authorized_keys"), keys_.lab_public);
  EXPECT_EQ(slurp(d / "login_user"), "tux\n");
  struct stat st {};
  ASSERT_EQ(::stat((d / "ssh_host_ed25519_key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Identity, CarriesTheLabsLoginUser) {
  lab_.login.user = "ops";
  auto r = run_checked({"tar", "-xOf", write().string(), "dcslab-identity/login_user"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "ops\n");
}

TEST_F(Identity, InterfaceNameMatchForContainers) {
  const fs::path tar = write("Name=host0");
  auto r = run_checked({"tar", "-xOf", tar.string(), "dcslab-identity/network"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->find("[Match]\nName=host0\n"), std::string::npos) << *r;
}

TEST_F(Identity, PaddedToWholeMebibytesAndPrivate) {
  const fs::path tar = write();
  const auto size = fs::file_size(tar);
  EXPECT_GT(size, 0u);
  EXPECT_EQ(size % (1024 * 1024), 0u);
  EXPECT_EQ(fs::status(tar).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // The in-guest applier recognises the identity disk by its first 16 bytes.
  EXPECT_EQ(slurp(tar).substr(0, 16), "dcslab-identity/");
  // Written through a temporary file and renamed: nothing else is left beside it.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tar.parent_path())) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"identity.tar"});
}

TEST_F(Identity, RewritingReplacesTheArchive) {
  write();
  keys_.lab_public = "ssh-ed25519 AAAAother other";
  const fs::path tar = write();
  auto r = run_checked({"tar", "-xOf", tar.string(), "dcslab-identity/authorized_keys"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "ssh-ed25519 AAAAother other\n");
}

TEST_F(Identity, MissingHostKeyOrEmptyMatchIsFatal) {
  EXPECT_THROW(write(""), Fatal);
  keys_.host_private = tmp_.path / "absent";
  EXPECT_THROW(write(), Fatal);
}

TEST(HostsFile, SeedLab) {
  const Lab lab = load_lab(kSource / "fixtures/labs/dcs.yaml");
  const std::string h = hosts_file(lab);
  EXPECT_EQ(h.rfind("127.0.0.1\tlocalhost\n", 0), 0u) << h;
  EXPECT_NE(h.find("::1\tlocalhost ip6-localhost ip6-loopback\n"), std::string::npos);
  const std::string nodes =
      "192.168.56.10\tdcs-00.patroni.mydomain\tdcs-00\n"
      "192.168.56.11\tdcs-01.patroni.mydomain\tdcs-01\n"
      "192.168.56.12\tdcs-02.patroni.mydomain\tdcs-02\n";
  ASSERT_GE(h.size(), nodes.size());
  EXPECT_EQ(h.substr(h.size() - nodes.size()), nodes) << h;
  // No 127.0.1.1 line: `hostname -f` must resolve to the lab address's FQDN.
  EXPECT_EQ(h.find("127.0.1.1"), std::string::npos);
}

}  // namespace
}  // namespace dcslab
