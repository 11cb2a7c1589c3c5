// dcslab's commands as a table (as ninja's kTools[]): a name, a one-line summary for
// `dcslab --help`, the full help for `dcslab help NAME` and `NAME --help`, what the
// command needs of the lab, and its function. Each group's functions and help texts are
// in a file of their own (lab_commands.cc, image_command.cc, run_command.cc, ...); the
// table that lists them is commands.cc, and main() only dispatches through it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.h"
#include "lab/lab.h"
#include "lab/state.h"

namespace dcslab {

// What a command needs of the lab before it runs.
enum class LabUse {
  None,    // nothing: image list, init, help, the hidden daemons
  Own,     // chooses its lab itself (run: the scenarios'), but the lab options apply
  Loaded,  // the lab file with the global options, loaded and checked before it runs
};

class Context;

struct Command {
  std::string_view name;
  std::string_view summary;  // one line; the general help lists it unless hidden
  std::string_view help;     // the full text of `dcslab help NAME`
  LabUse lab;
  bool hidden;               // started by dcslab itself or by scripts (exec-mux, libvirtd)
  int (*run)(Context& ctx);
};

// Every command, in the order the general help lists them.
std::span<const Command> commands();
const Command* find_command(std::string_view name);

// `dcslab --help`: usage, the visible commands with their summaries, global options.
std::string general_help();
// The commands that act on a lab: the ones whose suggestions carry the lab's options.
std::vector<std::string_view> lab_command_names();

// What a command runs with: the parsed command line, and the lab, loaded on first use
// (main loads it before a LabUse::Loaded command so bad input stops everything first).
class Context {
 public:
  explicit Context(CommandLine line) : line_(std::move(line)) {}

  const GlobalOptions& global() const { return line_.global; }
  const std::string& command() const { return line_.command; }
  const std::vector<std::string>& args() const { return line_.args; }

  // The lab file (--lab, else the default) with --name, --provider and --suite applied,
  // checked by the provider registry; a lab that is up keeps the provider it was
  // brought up with unless --provider says otherwise.
  Lab& lab();
  LabState& state();
  std::filesystem::path lab_file() const;

  // How a pasted command reaches this lab: "dcslab --name ux up".
  LabAddress address() const { return LabAddress::of(line_.global); }
  std::string suggest(std::string_view command) const { return address().command(command); }
  // `message` with the lab's options in every command it suggests (complete_suggestions).
  std::string with_lab_options(std::string_view message) const;

 private:
  CommandLine line_;
  std::optional<Lab> lab_;
  std::optional<LabState> state_;
};

// The lab's provider section checked by the provider registry, then --provider applied
// and the section checked again as that provider reads it (run's labs get this).
Lab with_provider_option(Lab lab, const GlobalOptions& g);
// That, and --suite and --name: the lab of every command but run.
Lab with_global_options(Lab lab, const GlobalOptions& g);

// For the commands' own argument parsing: throws BadInput "<message> (see dcslab NAME
// --help)".
[[noreturn]] void bad_usage(std::string_view command, const std::string& message);

// Prints a failure of the lab or the machines (exit status 3) with complete suggestions.
int infrastructure_failure(const Context& ctx, const std::string& message);

}  // namespace dcslab
