// Where dcslab's own files are, and which dcslab this is. The only place the build's
// source folder and version are compiled in, so a changed checkout path or version
// recompiles one file, not the harness.
//
// Two layouts hold dcslab's data (images/, scenarios/, the example lab):
//   the source tree      images/  scenarios/  fixtures/labs/dcs.yaml
//   an install           <prefix>/share/dcslab/{images,scenarios,labs/dcs.yaml}
//                        beside <prefix>/bin/dcslab (cmake --install, the .deb)
#pragma once

#include <filesystem>
#include <string>

namespace dcslab {

// The source tree this binary was built from (tests read fixtures/ there).
std::filesystem::path source_dir();

// dcslab's data folder: $DCSLAB_DATA_DIR when set; else, when this binary is
// <prefix>/bin/dcslab of an install (read from /proc/self/exe), <prefix>/share/dcslab;
// else the source tree. An installed binary thus uses the recipes and scenarios
// installed with it, even when the checkout it was built from still exists.
std::filesystem::path data_dir();

// data_dir()'s choice with its inputs given (env: $DCSLAB_DATA_DIR or null; exe: the
// running binary's path), for tests.
std::filesystem::path choose_data_dir(const char* env, const std::filesystem::path& exe,
                                      const std::filesystem::path& source);

// The node image recipes: $DCSLAB_RECIPE_DIR when set, else data_dir()/images.
std::filesystem::path recipe_dir();

// The example lab (the lab document's three nodes) in data_dir(), in either layout.
std::filesystem::path example_lab_file();

// The lab file a command uses without --lab: example_lab_file(), wherever the command
// runs (a ./lab.yaml is used only when named: --lab lab.yaml).
std::filesystem::path default_lab_file();

// What the build's `git describe --tags --always --dirty` said (a tag, or
// <version>-g<commit>), or the project's version when built outside a git checkout.
std::string version();

}  // namespace dcslab
