#include "lab/etcd_archive.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/digest.h"
#include "base/error.h"
#include "base/file.h"
#include "base/process.h"
#include "testing/fake_etcd_archive.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dcslab-etcd-archive-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

EtcdArchiveSpec make_archive(const fs::path& dir, const std::string& version, const std::string& says,
                             const std::vector<std::string>& binaries) {
  return make_fake_etcd_archive(dir, version, says, binaries);
}

// The archive's etcd prints its version only when it runs as nobody with no network
// but loopback: how the check runs a binary it does not trust when dcslab is root.
EtcdArchiveSpec make_confined_archive(const fs::path& dir, const std::string& version) {
  const std::string top = "etcd-v" + version + "-linux-amd64";
  const fs::path pack = dir / "pack";
  fs::remove_all(pack);
  fs::create_directories(pack / top);
  std::ofstream(pack / top / "etcd") << "#!/bin/sh\n"
                                        "[ \"$(id -u)\" = 65534 ] || { echo \"uid $(id -u)\"; exit 1; }\n"
                                        "links=$(awk -F: 'NR > 2 { gsub(/ /, \"\", $1); print $1 }' /proc/net/dev)\n"
                                        "[ \"$links\" = lo ] || { echo \"links $links\"; exit 1; }\n"
                                        "echo 'etcd Version: " << version << "'\n";
  std::ofstream(pack / top / "etcdctl") << "#!/bin/sh\necho 'etcdctl version: " << version << "'\n";
  for (const char* b : {"etcd", "etcdctl"}) fs::permissions(pack / top / b, fs::perms::owner_exec, fs::perm_options::add);
  return pack_fake_etcd_archive(dir, pack, version);
}

std::string error_of(const EtcdArchiveSpec& spec) {
  try {
    check_etcd_archive(spec);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EtcdArchive, AReleaseBefore35NeedsNoEtcdutlAnd35Does) {
  TempDir tmp;
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.3.25", "3.3.25", {"etcd", "etcdctl"})), "(no error)");
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.4.23", "3.4.23", {"etcd", "etcdctl"})), "(no error)");
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.5.30", "3.5.30", {"etcd", "etcdctl", "etcdutl"})),
            "(no error)");
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.5.30", "3.5.30", {"etcd", "etcdctl"})),
            "lab.yaml:11:16: image.etcd[0].archive: etcd-v3.5.30-linux-amd64.tar.gz has no "
            "etcd-v3.5.30-linux-amd64/etcdutl");
}

TEST(EtcdArchive, ChecksumAndVersionsMustMatch) {
  TempDir tmp;
  auto spec = make_archive(tmp.path, "3.4.23", "3.4.23", {"etcd", "etcdctl"});
  const std::string right = spec.sha256;
  spec.sha256 = std::string(64, '0');
  EXPECT_EQ(error_of(spec), "lab.yaml:12:15: image.etcd[0].sha256: etcd-v3.4.23-linux-amd64.tar.gz has "
                            "SHA-256 " + right + ", not " + std::string(64, '0'));
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.4.23", "3.4.22", {"etcd", "etcdctl"})),
            "lab.yaml:11:16: image.etcd[0].archive: etcd-v3.4.23-linux-amd64/etcd --version does not "
            "say \"etcd Version: 3.4.23\" (it says \"etcd Version: 3.4.22\"): not etcd 3.4.23");
  EXPECT_EQ(error_of(make_archive(tmp.path, "3.4.23", "3.4.230", {"etcd", "etcdctl"})),
            "lab.yaml:11:16: image.etcd[0].archive: etcd-v3.4.23-linux-amd64/etcd --version does not "
            "say \"etcd Version: 3.4.23\" (it says \"etcd Version: 3.4.230\"): not etcd 3.4.23");
}

TEST(EtcdArchive, IdNamesVersionsChecksumsAndTheInstalledOne) {
  EtcdArchiveSpec a, b;
  a.version = "3.5.30";
  a.sha256 = "aa";
  a.install = true;
  b.version = "3.3.25";
  b.sha256 = "bb";
  EXPECT_EQ(etcd_archives_id({a, b}), "3.5.30+:aa,3.3.25:bb");
  EXPECT_EQ(etcd_archives_id({}), "");
  b.install = true;
  a.install = false;
  EXPECT_NE(etcd_archives_id({a, b}), "3.5.30+:aa,3.3.25:bb");
}

TEST(EtcdArchive, AsRootTheBinariesRunAsNobodyWithoutANetwork) {
  if (geteuid() != 0) GTEST_SKIP() << "runs the archive's binaries confined only as root";
  TempDir tmp;
  EXPECT_EQ(error_of(make_confined_archive(tmp.path, "3.4.23")), "(no error)");
}

}  // namespace
}  // namespace dcslab
