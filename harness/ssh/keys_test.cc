#include "ssh/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>

#include "base/file.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dcslab-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

int mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

// A file the test expects may be missing: that reads as empty, and the assertion says so.
std::string slurp(const fs::path& p) {
  auto text = read_file(p);
  return text ? std::move(*text) : std::string();
}

// Output of a host command (OpenSSH's own tools are the reference for the formats).
std::string run(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  std::string out;
  if (!p) return out;
  std::array<char, 512> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  return out;
}

bool have_ssh_keygen() { return ::access("/usr/bin/ssh-keygen", X_OK) == 0; }

TEST_F(KeysTest, GeneratesOpenSshKeyPairWithModes) {
  const auto key = dir_ / "sub" / "lab_ed25519";
  auto line = generate_ed25519(key, "dcslab@test");
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->rfind("ssh-ed25519 AAAA", 0), 0u) << *line;
  EXPECT_NE(line->find(" dcslab@test"), std::string::npos);
  EXPECT_EQ(mode_of(key), 0600);
  EXPECT_EQ(mode_of(key.string() + ".pub"), 0644);
  EXPECT_NE(slurp(key).find("BEGIN OPENSSH PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(slurp(key.string() + ".pub"), *line + "\n");
  auto read = read_public_key(key.string() + ".pub");
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, *line);
}

TEST_F(KeysTest, OpenSshReadsThePrivateKeyAndAgreesOnTheFingerprint) {
  if (!have_ssh_keygen()) GTEST_SKIP() << "ssh-keygen (openssh-client) is not installed";
  const auto key = dir_ / "k";
  auto line = generate_ed25519(key, "c");
  ASSERT_TRUE(line) << line.error().message;
  auto derived = run("ssh-keygen -y -f " + key.string());
  auto parts = split_public_key(*line);
  ASSERT_TRUE(parts);
  EXPECT_NE(derived.find(parts->base64), std::string::npos) << derived;

  auto listed = run("ssh-keygen -l -E sha256 -f " + key.string() + ".pub");
  const auto fp = fingerprint_sha256(*line);
  EXPECT_EQ(fp.rfind("SHA256:", 0), 0u) << fp;
  EXPECT_NE(listed.find(fp), std::string::npos) << listed << " vs " << fp;
}

TEST_F(KeysTest, ExistingKeyIsKept) {
  const auto key = dir_ / "k";
  auto first = generate_ed25519(key, "one");
  ASSERT_TRUE(first);
  const auto before = slurp(key);
  auto second = generate_ed25519(key, "two");
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(slurp(key), before);
}

TEST_F(KeysTest, MissingPubIsRederivedFromThePrivateKey) {
  const auto key = dir_ / "k";
  auto first = generate_ed25519(key, "c");
  ASSERT_TRUE(first);
  fs::remove(key.string() + ".pub");
  auto again = generate_ed25519(key, "c");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *first);
  EXPECT_TRUE(fs::exists(key.string() + ".pub"));
}

TEST_F(KeysTest, TwoKeysDiffer) {
  auto a = generate_ed25519(dir_ / "a", "");
  auto b = generate_ed25519(dir_ / "b", "");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_NE(fingerprint_sha256(*a), fingerprint_sha256(*b));
  // No comment: exactly two fields.
  EXPECT_EQ(std::count(a->begin(), a->end(), ' '), 1);
}

TEST_F(KeysTest, BadInputsAreReported) {
  auto missing = read_public_key(dir_ / "nope.pub");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Failure::Kind::NotFound);
  EXPECT_EQ(fingerprint_sha256(std::string("garbage")), "(unparsable key)");
  EXPECT_EQ(fingerprint_sha256(std::string("ssh-ed25519 !!!notbase64")), "(unparsable key)");
  EXPECT_FALSE(split_public_key("onlyonefield"));
}

}  // namespace
}  // namespace dcslab
