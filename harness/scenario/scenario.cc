#include "scenario/scenario.h"
#include "base/paths.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/file.h"
#include "lab/consistent_snapshot.h"
#include "scenario/step_parser.h"
#include "scenario/yaml_reader.h"

namespace fs = std::filesystem;

namespace dcslab {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  static const std::regex part(R"((\d{1,7})(ms|s|m|h))");
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  auto it = std::sregex_iterator(text.begin(), text.end(), part);
  std::size_t consumed = 0;
  for (; it != std::sregex_iterator(); ++it) {
    if (static_cast<std::size_t>(it->position()) != consumed) return std::nullopt;
    consumed += it->length();
    const long long n = std::stoll((*it)[1]);
    const std::string unit = (*it)[2];
    if (unit == "ms") total += std::chrono::milliseconds(n);
    else if (unit == "s") total += std::chrono::seconds(n);
    else if (unit == "m") total += std::chrono::minutes(n);
    else total += std::chrono::hours(n);
  }
  if (consumed != text.size()) return std::nullopt;
  return total;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3600000 == 0 && ms) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

class Parser {
 public:
  Parser(const Reader& r, Scenario& sc) : r_(r), sc_(sc) {}

  void top(const YAML::Node& root, const LabResolver& resolve_lab) {
    if (!root.IsMap()) r_.fail(root, "(top level)", "expected a mapping with name and steps");
    r_.expect_map(root, "", {"name", "description", "lab", "requires", "from", "tags", "vars",
                             "secrets", "steps"});
    sc_.name = sc_.file.stem().string();
    if (const YAML::Node n = root["name"]) {
      sc_.name = r_.scalar(n, "name");
      static const std::regex re(R"([A-Za-z0-9][A-Za-z0-9._-]{0,63})");
      if (!std::regex_match(sc_.name, re))
        r_.fail(n, "name", "\"" + sc_.name + "\" must be letters, digits, '.', '_' and '-'");
    }
    if (const YAML::Node d = root["description"]) sc_.description = r_.scalar(d, "description");

    std::string lab_value;
    const YAML::Node lab_node = root["lab"];
    if (lab_node) lab_value = r_.scalar(lab_node, "lab");
    try {
      auto [lab, path] = resolve_lab(lab_value);
      sc_.lab = std::move(lab);
      sc_.lab_file = std::move(path);
    } catch (const BadInput& e) {
      if (!lab_node) throw;
      r_.fail(lab_node, "lab", e.what());
    }

    if (const YAML::Node req = root["requires"]) {
      const auto items = r_.scalar_or_list(req, "requires");
      for (std::size_t i = 0; i < items.size(); ++i) {
        std::string v = items[i].Scalar();
        const std::string key = "requires[" + std::to_string(i) + "]";
        const bool is_file = v.find('/') != std::string::npos || v.ends_with(".yaml") ||
                             v.ends_with(".yml");
        if (is_file) {
          fs::path p = v;
          if (p.is_relative()) p = sc_.file.parent_path() / p;
          if (!fs::exists(p)) r_.fail(items[i], key, "no such scenario file " + p.string());
          v = fs::absolute(p).lexically_normal().string();
        }
        sc_.requires_.push_back(v);
        sc_.requires_at.push_back(r_.where(items[i]) + ": " + key);
      }
    }
    if (const YAML::Node f = root["from"]) {
      sc_.from = r_.scalar(f, "from");
      if (!valid_snapshot_name(sc_.from))
        r_.fail(f, "from", "\"" + sc_.from +
                               "\" is not a lab state name (letters, digits, '.', '_' and '-', "
                               "at most 64, not starting with '-' or '.')");
    }
    if (const YAML::Node t = root["tags"])
      for (const auto& item : r_.scalar_or_list(t, "tags")) sc_.tags.push_back(item.Scalar());

    // Names first: templates anywhere may refer to any var or secret.
    if (const YAML::Node s = root["secrets"]) secrets(s);
    if (const YAML::Node v = root["vars"]) {
      if (!v.IsMap()) r_.fail(v, "vars", "expected a mapping of name: value, found " + yaml_kind(v));
      for (const auto& kv : v) {
        const std::string name = r_.scalar(kv.first, "vars");
        if (!valid_identifier(name))
          r_.fail(kv.first, "vars." + name, "not a valid name (letters, digits, '_', '-')");
        scope_.vars.push_back(name);
      }
    }
    scope_.lab = &sc_.lab;
    if (const YAML::Node v = root["vars"]) {
      TemplateScope inner = scope_;
      inner.allow_vars = false;
      for (const auto& kv : v) {
        const std::string name = kv.first.Scalar();
        sc_.vars[name] = r_.tmpl(kv.second, "vars." + name, inner);
      }
    }

    const YAML::Node steps = root["steps"];
    if (!steps) r_.fail(root, "steps", "missing (required)");
    if (!steps.IsSequence() || steps.size() == 0)
      r_.fail(steps, "steps", "expected a non-empty list of steps, found " + yaml_kind(steps));
    StepParser parser(r_, sc_.lab, scope_, sc_.vars);
    for (std::size_t i = 0; i < steps.size(); ++i)
      sc_.steps.push_back(parser.step(steps[i], "steps[" + std::to_string(i) + "]"));
  }

 private:
  void secrets(const YAML::Node& s) {
    if (!s.IsMap()) r_.fail(s, "secrets", "expected a mapping of name: {generate: N} | {env: VAR}");
    for (const auto& kv : s) {
      const std::string name = r_.scalar(kv.first, "secrets");
      const std::string key = "secrets." + name;
      if (!valid_identifier(name))
        r_.fail(kv.first, key, "not a valid name (letters, digits, '_', '-')");
      r_.expect_map(kv.second, key, {"generate", "env"});
      SecretSpec spec;
      spec.name = name;
      if (kv.second["generate"] && kv.second["env"])
        r_.fail(kv.second, key, "give one of generate, env (not both)");
      if (const YAML::Node g = kv.second["generate"])
        spec.generate = r_.integer(g, key + ".generate", 8, 4096);
      else if (const YAML::Node e = kv.second["env"])
        spec.env = r_.scalar(e, key + ".env");
      else
        r_.fail(kv.second, key, "give one of generate, env (valid: generate, env)");
      sc_.secrets.push_back(spec);
      scope_.secrets.push_back(name);
    }
  }

  const Reader& r_;
  Scenario& sc_;
  TemplateScope scope_;
};

fs::path first_existing(const std::vector<fs::path>& candidates) {
  for (const auto& c : candidates)
    if (fs::exists(c)) return c;
  return candidates.front();
}

}  // namespace

LabResolver default_lab_resolver(const fs::path& scenario_file,
                                 const std::optional<fs::path>& lab_override,
                                 const std::optional<fs::path>& inherited) {
  return [scenario_file, lab_override, inherited](const std::string& value) {
    fs::path p;
    if (lab_override) {
      p = *lab_override;
    } else if (value.empty() && inherited) {
      p = *inherited;
    } else if (value.empty()) {
      // The command line's default, so `dcslab run x.yaml` and `dcslab up` meet one lab.
      p = default_lab_file();
    } else {
      const fs::path rel(value);
      if (rel.is_absolute()) p = rel;
      else
        p = first_existing({rel, scenario_file.parent_path() / rel,
                            data_dir() / rel});
    }
    Lab lab = load_lab(p);
    return std::make_pair(std::move(lab), p);
  };
}

Scenario parse_scenario(const std::string& text, const fs::path& file,
                        const LabResolver& resolve_lab) {
  const YAML::Node root = load_yaml(text, file);
  Scenario sc;
  sc.file = file;
  Reader reader(file, text);
  Parser(reader, sc).top(root, resolve_lab);
  return sc;
}

Scenario load_scenario(const fs::path& file, const std::optional<fs::path>& lab_override) {
  auto text = read_file(file);  // a folder fails too (EISDIR)
  if (!text) throw BadInput(file.string() + ": cannot read scenario file");
  return parse_scenario(*text, file, default_lab_resolver(file, lab_override));
}

}  // namespace dcslab
