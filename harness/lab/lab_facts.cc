#include "lab/lab_facts.h"

#include <nlohmann/json.hpp>

namespace dcslab {

namespace {

constexpr const char* kPassedPrefix = "passed:";

std::string facts_key(const std::string& name) { return "snapshot:" + name; }

}  // namespace

std::string passed_at(const LabState& state, const std::string& scenario) {
  return state.get(kPassedPrefix + scenario);
}

void mark_passed(LabState& state, const std::string& scenario, const std::string& when) {
  state.set(kPassedPrefix + scenario, when);
}

std::vector<std::string> passed_scenarios(const LabState& state) {
  std::vector<std::string> names;
  for (const auto& [key, at] : state.facts(kPassedPrefix))
    if (!at.empty()) names.push_back(key.substr(std::string(kPassedPrefix).size()));
  return names;
}

void record_snapshot_facts(LabState& state, const std::string& name) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : state.facts(kPassedPrefix)) j[k] = v;
  state.set(facts_key(name), j.dump());
}

bool restore_snapshot_facts(LabState& state, const std::string& name) {
  const std::string text = state.get(facts_key(name));
  if (text.empty()) return false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  if (!j.is_object()) return false;
  for (const auto& [k, v] : state.facts(kPassedPrefix))
    if (!j.contains(k)) state.set(k, "");
  for (const auto& [k, v] : j.items())
    if (v.is_string()) state.set(k, v.get<std::string>());
  return true;
}

bool has_snapshot_facts(const LabState& state, const std::string& name) {
  return !state.get(facts_key(name)).empty();
}

void forget_snapshot_facts(LabState& state, const std::string& name) {
  state.set(facts_key(name), "");
}

}  // namespace dcslab
