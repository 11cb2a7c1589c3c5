// Where dcslab's own files are, and which dcslab this is. The only place the build's
// source folder and version are compiled in, so a changed checkout path or version
// recompiles one file, not the harness.
#pragma once

#include <filesystem>
#include <string>

namespace dcslab {

// The source tree this binary was built from (tests read fixtures/ there).
std::filesystem::path source_dir();

// dcslab's data: images/ (the node image recipes), scenarios/, fixtures/labs/.
// $DCSLAB_DATA_DIR when set, else the source tree.
std::filesystem::path data_dir();

// "0.1.0", or what the build's `git describe` said.
std::string version();

}  // namespace dcslab
