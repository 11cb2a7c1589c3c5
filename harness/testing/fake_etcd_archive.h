// Tests only: an etcd release archive in upstream's layout whose binaries are small
// scripts printing what etcd's print (lab/etcd_archive's checks pass or fail on them).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/file.h"
#include "base/process.h"
#include "lab/etcd_archive.h"

namespace dcslab {

// Tars PACK/etcd-vVERSION-linux-amd64 into DIR as upstream names its archives, and
// describes it as a lab file's image.etcd entry would.
inline EtcdArchiveSpec pack_fake_etcd_archive(const std::filesystem::path& dir, const std::filesystem::path& pack,
                                              const std::string& version) {
  const std::string top = "etcd-v" + version + "-linux-amd64";
  EtcdArchiveSpec spec;
  spec.archive = dir / (top + ".tar.gz");
  EXPECT_TRUE(run_checked({"tar", "-C", pack.string(), "-czf", spec.archive.string(), top}).ok());
  spec.sha256 = sha256_hex(*read_file(spec.archive));
  spec.version = version;
  spec.key = "image.etcd[0]";
  spec.archive_at = "lab.yaml:11:16";
  spec.sha256_at = "lab.yaml:12:15";
  return spec;
}

// An archive named for `version` in `dir`, whose top folder holds `binaries`, each
// printing its version line for `says`.
inline EtcdArchiveSpec make_fake_etcd_archive(const std::filesystem::path& dir, const std::string& version,
                                              const std::string& says, const std::vector<std::string>& binaries) {
  namespace fs = std::filesystem;
  const fs::path pack = dir / "pack";
  const fs::path top = pack / ("etcd-v" + version + "-linux-amd64");
  fs::remove_all(pack);
  fs::create_directories(top);
  for (const auto& b : binaries) {
    const std::string line = b == "etcd" ? "etcd Version: " + says : b + " version: " + says;
    std::ofstream(top / b) << "#!/bin/sh\necho '" << line << "'\n";
    fs::permissions(top / b, fs::perms::owner_exec, fs::perm_options::add);
  }
  return pack_fake_etcd_archive(dir, pack, version);
}

}  // namespace dcslab
