// A node image as a disk that boots from its own boot loader, for hypervisors that
// cannot boot a kernel file (VirtualBox). Made from a built image (image.h) by
// images/build-bootable: an MBR disk with GRUB (from the host's grub-pc-bin) in the
// gap, an ext2 partition with the kernel and an initrd for IDE and virtio disks, and
// the image's root ext4 as partition 2 -- no loop device, no mount. The result is a
// VDI, cached in the image folder as bootable.vdi and built once per image.
#pragma once

#include <filesystem>

#include "base/error.h"
#include "lab/image.h"
#include "base/progress.h"

namespace dcslab {

std::filesystem::path bootable_disk_path(const Image& image);  // <image dir>/bootable.vdi

// Returns the image's bootable VDI, building it first if it is missing. `recipe_dir`
// empty: the source tree's images/. Fails (with the build log's tail and its path) when
// the script fails.
Expected<std::filesystem::path> ensure_bootable_disk(const Image& image, Progress& progress,
                                                     const std::filesystem::path& recipe_dir = {});

}  // namespace dcslab
