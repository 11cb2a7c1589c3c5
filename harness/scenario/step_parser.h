// Reads one step of a scenario (scenario.h): the keys every step has, and its one action,
// whose spec reads its own value (scenario/actions/*.h, parse()). Each action's parser
// gets this parser for what a step's value may use: the reader, the template scope, the
// lab's nodes, matchers, the writers started so far.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "lab/lab.h"
#include "scenario/matcher.h"
#include "scenario/scenario.h"
#include "scenario/template.h"
#include "scenario/yaml_reader.h"

namespace dcslab {

class StepParser {
 public:
  // `scope` grows with each step's capture (later steps may use it); `vars` are the
  // scenario's (a capture may not take a var's name).
  StepParser(const Reader& r, const Lab& lab, TemplateScope& scope,
             const std::map<std::string, std::string>& vars)
      : r_(r), lab_(lab), scope_(scope), vars_(vars) {}

  Step step(const YAML::Node& s, const std::string& key);

  // For the actions' parsers.
  const Reader& reader() const { return r_; }
  const Lab& lab() const { return lab_; }
  // A string whose templates are all known here.
  std::string tmpl(const YAML::Node& v, const std::string& key) const {
    return r_.tmpl(v, key, scope_);
  }
  // all, a node or a list of nodes of the lab (as `on` takes them), in the order given.
  std::vector<std::string> nodes(const YAML::Node& v, const std::string& key) const;
  // {contains: ..., matches: ..., ...}: text matchers; extra_keys are skipped (the
  // action's own keys beside them).
  void matchers(const YAML::Node& m, const std::string& key, std::vector<TextMatcher>* out,
                const std::vector<std::string>& extra_keys = {}) const;
  // The writers started so far in the scenario, in file order (writer, check_writes).
  std::vector<std::string>& writers() { return writers_; }
  // The watchers started so far: name -> the writer it watches.
  std::map<std::string, std::string>& watchers() { return watchers_; }
  // The PostgreSQL writers started so far (pg_writer, check_pg_writes).
  std::vector<std::string>& pg_writers() { return pg_writers_; }

 private:
  std::string the_action(const YAML::Node& s, const std::string& key) const;
  void step_on(const YAML::Node& s, const std::string& key, const std::string& act,
               const ActionInfo& info, Step& st) const;
  std::string on_template(const YAML::Node& v, const std::string& key,
                          std::vector<std::string>* on) const;
  void on_except(const YAML::Node& v, const std::string& key, Step* st) const;
  void step_options(const YAML::Node& s, const std::string& key, Step& st) const;
  void prompts(const YAML::Node& p, const std::string& key, Step& st) const;
  void step_checks(const YAML::Node& s, const std::string& key, const std::string& act,
                   const ActionInfo& info, Step& st);
  void expectation(const YAML::Node& e, const std::string& key, Expectation* out) const;
  void check_regex(const YAML::Node& at, const std::string& key, const std::string& text) const;

  const Reader& r_;
  const Lab& lab_;
  TemplateScope& scope_;
  const std::map<std::string, std::string>& vars_;
  std::vector<std::string> writers_;
  std::map<std::string, std::string> watchers_;
  std::vector<std::string> pg_writers_;
};

}  // namespace dcslab
