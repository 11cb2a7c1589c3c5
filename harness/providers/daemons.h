// Daemons a provider runs that a script may start on its own, outside any lab: the
// private libvirtd of an isolated libvirt lab (providers/libvirt/private_libvirtd.h), for
// `dcslab libvirtd start|stop DIR` (bench/vagrant_up.sh runs Vagrant against one). The
// CLI reaches providers through this layer, not their folders.
#pragma once

#include <filesystem>
#include <string>

#include "base/error.h"
#include "base/progress.h"

namespace dcslab {

// A private libvirtd with its folders under `dir`, in the current network namespace
// (refused in the host's); its URI once it answers.
Expected<std::string> start_libvirtd_in(const std::filesystem::path& dir, Progress& progress);

// Stops the daemons started with `dir` (only those) and removes dir/run.
Expected<void> stop_libvirtd_in(const std::filesystem::path& dir);

}  // namespace dcslab
