#include "lab/state.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file.h"

namespace dcslab {

namespace fs = std::filesystem;

fs::path dcslab_home() {
  if (const char* h = std::getenv("DCSLAB_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "dcslab";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".local/share/dcslab";
}

LabState::LabState(fs::path home, std::string lab_name)
    : home_(std::move(home)), lab_name_(std::move(lab_name)), dir_(home_ / "labs" / lab_name_) {
  load();
}

// Folders are made on first write, not when a lab is merely looked at: a command that
// stops on bad input leaves nothing behind.
void LabState::prepare() const {
  fs::create_directories(keys_dir());
  fs::permissions(keys_dir(), fs::perms::owner_all, fs::perm_options::replace);
}

fs::path LabState::node_dir(const std::string& node) const {
  auto d = dir_ / "nodes" / node;
  prepare();
  fs::create_directories(d);
  return d;
}

void LabState::load() {
  const auto file = dir_ / "resources.json";
  auto text = read_file(file);
  if (!text && text.error().kind == Failure::Kind::NotFound) return;  // a lab never brought up
  if (!text) throw Fatal(text.error().message);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    throw Fatal(file.string() + ": unreadable lab state (" + e.what() +
                "); remove the lab's resources by hand and delete this file");
  }
  const nlohmann::json resources = j.value("resources", nlohmann::json::array());
  for (const auto& r : resources)
    resources_.push_back({r.at("kind").get<std::string>(), r.at("name").get<std::string>(),
                          r.value("data", std::string())});
  const nlohmann::json facts = j.value("facts", nlohmann::json::object());
  for (const auto& [k, v] : facts.items()) facts_.emplace_back(k, v.get<std::string>());
}

// Replaced atomically (write_file_atomic), so a crash leaves either the old or the new
// ledger, never a torn one.
void LabState::save() const {
  nlohmann::json j;
  j["lab"] = lab_name_;
  j["resources"] = nlohmann::json::array();
  for (const auto& r : resources_)
    j["resources"].push_back({{"kind", r.kind}, {"name", r.name}, {"data", r.data}});
  j["facts"] = nlohmann::json::object();
  for (const auto& [k, v] : facts_) j["facts"][k] = v;
  prepare();
  auto written = write_file_atomic(dir_ / "resources.json", j.dump(2) + "\n", 0644);
  if (!written) throw Fatal(written.error().message);
}

void LabState::record(const Resource& r) {
  std::lock_guard lock(mu_);
  for (const auto& have : resources_)
    if (have.kind == r.kind && have.name == r.name) return;
  resources_.push_back(r);
  save();
}

void LabState::forget(const Resource& r) {
  std::lock_guard lock(mu_);
  std::erase_if(resources_,
                [&](const Resource& x) { return x.kind == r.kind && x.name == r.name; });
  save();
}

std::vector<Resource> LabState::resources() const {
  std::lock_guard lock(mu_);
  return resources_;
}

bool LabState::has(const std::string& kind, const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const auto& r : resources_)
    if (r.kind == kind && r.name == name) return true;
  return false;
}

bool LabState::empty() const {
  std::lock_guard lock(mu_);
  return resources_.empty();
}

void LabState::set(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  bool found = false;
  for (auto& [k, v] : facts_)
    if (k == key) v = value, found = true;
  if (!found) facts_.emplace_back(key, value);
  if (value.empty()) std::erase_if(facts_, [&](const auto& kv) { return kv.first == key; });
  save();
}

std::string LabState::get(const std::string& key, const std::string& fallback) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, v] : facts_)
    if (k == key) return v;
  return fallback;
}

std::vector<std::pair<std::string, std::string>> LabState::facts(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : facts_)
    if (kv.first.starts_with(prefix)) out.push_back(kv);
  return out;
}

void LabState::remove_all() {
  std::lock_guard lock(mu_);
  resources_.clear();
  facts_.clear();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace dcslab
