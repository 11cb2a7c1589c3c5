#include <spdlog/spdlog.h>

#include "base/error.h"
#include "base/paths.h"
#include "cli/command.h"
#include "control/lab_ops.h"
#include "providers/registry.h"

namespace dcslab {

Lab with_provider_option(Lab lab, const GlobalOptions& g) {
  // The file's own provider section first: a bad one is bad input even when --provider
  // replaces its type, as it always was.
  check_provider_section(lab);
  if (!g.provider.empty()) {
    lab.provider.type = g.provider;
    lab.provider.type_at.clear();  // from the command line, not the file
    check_provider_section(lab);   // the file's uri, say, as this provider reads it
  }
  return lab;
}

Lab with_global_options(Lab lab, const GlobalOptions& g) {
  lab = with_provider_option(std::move(lab), g);
  if (!g.suite.empty()) lab.image.suite = g.suite;
  if (!g.name.empty()) lab.name = g.name;
  return lab;
}

std::filesystem::path Context::lab_file() const {
  return global().lab ? *global().lab : default_lab_file();
}

Lab& Context::lab() {
  if (!lab_) {
    lab_ = with_global_options(load_lab(lab_file()), global());
    state_.emplace(dcslab_home(), lab_->name);
    // A lab that is up keeps the provider it was brought up with (`up --provider
    // nspawn`, then a plain `down`), unless --provider says otherwise.
    if (global().provider.empty()) use_recorded_provider(*lab_, *state_);
  }
  return *lab_;
}

LabState& Context::state() {
  lab();
  return *state_;
}

std::string Context::with_lab_options(std::string_view message) const {
  return complete_suggestions(message, address(), lab_command_names());
}

void bad_usage(std::string_view command, const std::string& message) {
  throw BadInput(message + " (see dcslab " + std::string(command) + " --help)");
}

int infrastructure_failure(const Context& ctx, const std::string& message) {
  spdlog::error("{}", ctx.with_lab_options(message));
  return 3;
}

}  // namespace dcslab
