#include "base/paths.h"

#include <cstdlib>

namespace dcslab {

std::filesystem::path source_dir() { return DCSLAB_SOURCE_DIR; }

std::filesystem::path data_dir() {
  if (const char* d = std::getenv("DCSLAB_DATA_DIR"); d && *d) return d;
  return source_dir();
}

std::string version() { return DCSLAB_VERSION; }

}  // namespace dcslab
