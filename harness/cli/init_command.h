// `dcslab init [DIR]`: a starter lab file and a first scenario, as `vagrant init` writes
// a Vagrantfile: DIR/lab.yaml (the lab document's three-node lab, every key commented)
// and DIR/scenarios/first.yaml. Existing files are never overwritten (exit 2, naming
// the file, nothing written).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"

namespace dcslab {

extern const char* const kInitHelp;

struct StarterFile {
  std::filesystem::path path;  // relative to DIR
  std::string text;
};

// The files init writes for a lab named `lab_name`.
std::vector<StarterFile> starter_files(const std::string& lab_name);

// The lab's name for a folder: its name made a valid lab name ("My Lab" -> my-lab),
// "lab" when nothing is left.
std::string starter_lab_name(const std::filesystem::path& dir);

// Writes the starter files under `dir` (made if missing). Throws BadInput, writing
// nothing, when any of them exists. Returns the paths written.
std::vector<std::filesystem::path> write_starter(const std::filesystem::path& dir);

int cmd_init(Context& ctx);

}  // namespace dcslab
