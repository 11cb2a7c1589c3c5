// Templating for scenario strings: "{{ node.fqdn }}", "{{ nodes.dcs-01.ip }}",
// "{{ lab.domain }}", "{{ vars.x }}", "{{ secrets.x }}".
//
// Names are checked when a scenario is loaded (check_templates), so a typo is a
// file:line:column error before anything boots, never a surprise halfway through a run.
// Expansion (expand_templates) happens per node at run time, because node.* differs on
// each node of a multi-node step.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab/lab.h"

namespace dcslab {

// One "{{ name }}" occurrence in a string.
struct TemplateRef {
  std::size_t offset = 0;  // of the "{{"
  std::size_t length = 0;  // through the "}}"
  std::string name;        // trimmed, e.g. "nodes.dcs-01.ip"
};

// Finds every template in `text`. Returns a message in *error for a malformed one
// ("{{" without "}}", an empty or ill-formed name) and stops there.
std::vector<TemplateRef> find_templates(const std::string& text, std::string* error,
                                        std::size_t* error_offset);

// What a scenario's strings may refer to.
struct TemplateScope {
  const Lab* lab = nullptr;
  std::vector<std::string> vars;     // names
  std::vector<std::string> secrets;  // names
  bool allow_vars = true;            // false inside vars themselves (no recursion)
};

// Checks every template in `text`. Returns an error message naming the first unknown
// name and the valid choices, or nullopt. *offset receives its offset in `text`.
std::optional<std::string> check_templates(const std::string& text, const TemplateScope& scope,
                                           std::size_t* offset);

// The values templates expand to on one node.
struct TemplateValues {
  const Lab* lab = nullptr;
  const Node* node = nullptr;  // the node a step runs on
  const std::map<std::string, std::string>* vars = nullptr;     // raw (may hold templates)
  const std::map<std::string, std::string>* secrets = nullptr;  // resolved values
  // Values a run captured (a step's `capture:`), for vars.* not in `vars`; inserted
  // verbatim (never expanded: they are what a machine printed).
  const std::map<std::string, std::string>* captured = nullptr;
};

// Expands every template; `escape` is applied to each substituted value (the regex
// matcher escapes them so an IP's dots match only dots). Throws BadInput for an unknown
// name, which check_templates has ruled out for loaded scenarios.
std::string expand_templates(const std::string& text, const TemplateValues& values,
                             const std::function<std::string(const std::string&)>& escape = {});

}  // namespace dcslab
