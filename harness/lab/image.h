// Node images: a Debian rootfs built with mmdebstrap from the recipe under images/,
// cached under $DCSLAB_HOME/images/<suite>-<hash>/ where <hash> covers the recipe files
// and the suite, so a changed recipe builds anew and an unchanged one costs nothing.
//
// An image folder holds:
//   rootfs/        the root file system as a directory (the nspawn provider's lower layer)
//   disk.qcow2     the same tree as an ext4 file system (no partition table; the VM's
//                  /dev/vda), made with mkfs.ext4 -d (no loop mount), as qcow2
//   vmlinuz, initrd.img   for direct kernel boot
//   manifest.json  suite, hash, etcd version in the local repository (and in the upgrade
//                  repository, etcd_upgrade_version, where the suite has one), sizes, build time
// and $DCSLAB_HOME/images/<suite> is a symlink to the newest folder of that suite. An
// image with etcd archives of the lab's own (image.etcd) is another image: its hash
// covers the archives' SHA-256s too, and its symlink is <suite>+etcd-<8 hex digits of
// the archives' id> (image_link_name), so it never takes the place of the suite's own.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/progress.h"
#include "lab/lab.h"

namespace dcslab {

struct Image {
  std::string suite;
  std::string hash;
  std::filesystem::path dir;
  std::filesystem::path rootfs;
  std::filesystem::path disk;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string etcd_version;  // of the .debs in the image's local apt repository
  std::string etcd_archives;  // etcd_archives_id() of the archives built in; "" for none
  // Kernel command line for direct kernel boot (root device, console); providers add
  // their per-node parts.
  std::string kernel_cmdline() const;
};

struct ImageBuildOptions {
  std::string suite = "bookworm";
  std::filesystem::path recipe_dir;   // images/ of the source tree
  std::filesystem::path home;         // dcslab_home()
  bool force = false;                 // rebuild even if cached
  std::string mirror;                 // DCSLAB_MIRROR for the recipe; empty: the host's sources
  // The lab's etcd archives (image.etcd); each is checked (check_etcd_archive) before
  // anything is built or taken from the cache.
  std::vector<EtcdArchiveSpec> etcd;
};

// The hash an image of `suite` built from `recipe_dir` (with the etcd archives of
// `archives_id`, etcd_archives_id()) would have.
std::string image_hash(const std::filesystem::path& recipe_dir, const std::string& suite,
                       const std::string& archives_id = "");

// The name of the symlink under images/ that points at the newest image of `suite`
// with these archives: the suite itself when there are none.
std::string image_link_name(const std::string& suite, const std::string& archives_id);

// Builds (or finds cached) the image. Throws Fatal when the build fails, with the
// tail of the build log and where the whole log is.
Image build_image(const ImageBuildOptions& options, Progress& progress);

// The newest built image of `suite`, or NotFound with the command that builds it.
Expected<Image> find_image(const std::filesystem::path& home, const std::string& suite,
                           const std::string& archives_id = "");

std::vector<Image> list_images(const std::filesystem::path& home);

}  // namespace dcslab
