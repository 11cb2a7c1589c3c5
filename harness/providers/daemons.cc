#include "providers/daemons.h"

#include "providers/libvirt/private_libvirtd.h"

namespace dcslab {

Expected<std::string> start_libvirtd_in(const std::filesystem::path& dir, Progress& progress) {
  return start_private_libvirtd(dir, PrivateLibvirtdStart{}, progress);
}

Expected<void> stop_libvirtd_in(const std::filesystem::path& dir) {
  return stop_private_libvirtd(dir);
}

}  // namespace dcslab
