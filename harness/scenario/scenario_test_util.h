// Loading scenario text in tests against the lab document's lab (fixtures/labs/dcs.yaml),
// as file "s.yaml", and the loader's one error for bad text.
#pragma once

#include <filesystem>
#include "base/paths.h"
#include <string>

#include "base/error.h"
#include "lab/lab.h"
#include "scenario/scenario.h"

namespace dcslab {

inline Scenario parse_against_dcs_lab(const std::string& text) {
  return parse_scenario(text, "s.yaml", [](const std::string&) {
    const std::filesystem::path p = source_dir() / "fixtures/labs/dcs.yaml";
    return std::make_pair(load_lab(p), p);
  });
}

// The BadInput message parse_against_dcs_lab(text) throws, or "(no error)".
inline std::string load_error_of(const std::string& text) {
  try {
    parse_against_dcs_lab(text);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace dcslab
