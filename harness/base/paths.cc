#include "base/paths.h"

#include <cstdlib>
#include <system_error>

// Generated in the build folder at every build (cmake/version.cmake): DCSLAB_VERSION.
#include "base/build_version.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

// An install's data folder has the recipe; an empty or half-removed share/dcslab does
// not make a binary an installed one.
bool holds_data(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "images" / "build-rootfs", ec);
}

}  // namespace

fs::path source_dir() { return DCSLAB_SOURCE_DIR; }

fs::path choose_data_dir(const char* env, const fs::path& exe, const fs::path& source) {
  if (env && *env) return env;
  // <prefix>/bin/dcslab -> <prefix>/share/dcslab. The build tree's binary
  // (build/harness/dcslab) has no share/dcslab beside it and keeps the source tree.
  if (!exe.empty()) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "dcslab";
    if (holds_data(installed)) return installed;
  }
  return source;
}

fs::path data_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return choose_data_dir(std::getenv("DCSLAB_DATA_DIR"), ec ? fs::path() : exe, source_dir());
}

fs::path recipe_dir() {
  if (const char* d = std::getenv("DCSLAB_RECIPE_DIR"); d && *d) return d;
  return data_dir() / "images";
}

fs::path example_lab_file() {
  const fs::path data = data_dir();
  std::error_code ec;
  if (fs::is_regular_file(data / "labs" / "dcs.yaml", ec)) return data / "labs" / "dcs.yaml";
  return data / "fixtures" / "labs" / "dcs.yaml";
}

fs::path default_lab_file() { return example_lab_file(); }

std::string version() { return DCSLAB_VERSION; }

}  // namespace dcslab
