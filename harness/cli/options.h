// dcslab's command line: global options wherever people type them, and the options a
// suggested command needs to reach the same lab when pasted.
//
//   dcslab [GLOBAL...] COMMAND [ARGS and GLOBAL...] [-- WORDS]
//
// A global option (--lab, --name, --provider, --suite, --isolated, -v, -h/--help,
// --version) may come before or after the command: `dcslab up --provider nspawn` is
// `dcslab --provider nspawn up`. The first other word is the command; the rest, in
// order, are the command's. Nothing after "--" is an option (exec NODE -- CMD -v).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcslab {

struct GlobalOptions {
  std::optional<std::filesystem::path> lab;  // --lab, as typed (else the default lab file)
  std::string name;                          // --name: the lab's name instead of the file's
  std::string provider;                      // --provider (checked against the registry)
  std::string suite;                         // --suite
  bool isolated = false;                     // --isolated, or DCSLAB_ISOLATED=1
  bool verbose = false;                      // -v, --verbose
  bool help = false;                         // -h, --help: the command's help (or dcslab's)
  bool version = false;                      // --version
};

struct CommandLine {
  GlobalOptions global;
  std::string command;            // empty: none given
  std::vector<std::string> args;  // the command's words, global options taken out
};

// Parses the words after the program name. Throws BadInput (exit 2) for an unknown
// option before the command, a global option without its value, one given twice with
// different values, or a --provider or --name that cannot be.
CommandLine parse_command_line(const std::vector<std::string>& words);

// The lab this process acts on, as a pasted command reaches it: its lab file (--lab
// unless it is the default one), its name when the command line or a run renamed it
// (--name), and the provider, suite and isolation as given (--provider, --suite,
// --isolated), so that `up` from a suggestion brings up the same lab.
struct LabAddress {
  std::optional<std::filesystem::path> lab_file;  // a lab file other than the default
  std::string name;                               // a name other than the lab file's
  std::string provider, suite;
  bool isolated = false;

  // The one a command line with these global options reaches.
  static LabAddress of(const GlobalOptions& g);
  // "--lab x.yaml --name ux --provider nspawn" (empty for the default lab, as given).
  std::string options() const;
  // "dcslab --name ux": the program with options().
  std::string dcslab() const;
  // "dcslab --name ux ssh dcs-01": `command`, carrying options().
  std::string command(std::string_view command) const;
};

// Lower layers suggest commands in their messages ("is the lab up? (dcslab up)",
// "`dcslab down` removes it") without knowing how this process chose its lab. This
// inserts `address.options()` after every "dcslab " followed by one of `commands` (those
// that act on a lab), so the suggestion works when pasted; other text is unchanged.
std::string complete_suggestions(std::string_view message, const LabAddress& address,
                                 const std::vector<std::string_view>& commands);

}  // namespace dcslab
