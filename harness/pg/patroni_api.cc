#include "pg/patroni_api.h"

#include <nlohmann/json.hpp>

#include "base/http_get.h"
#include "base/json.h"

namespace dcslab {

namespace {

using nlohmann::json;

// Patroni writes numbers as numbers, but a missing or odd field must not sink a sample.
int int_field(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) return std::atoi(v.get<std::string>().c_str());
  return 0;
}

std::string str_field(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : "";
}

bool bool_field(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_boolean() && j.at(key).get<bool>();
}

}  // namespace

const char* patroni_role_name(PatroniRole r) {
  switch (r) {
    case PatroniRole::Leader: return "leader";
    case PatroniRole::Replica: return "replica";
    case PatroniRole::Demoted: return "demoted";
    case PatroniRole::Stopped: return "stopped";
    case PatroniRole::Unreachable: return "unreachable";
    case PatroniRole::Other: return "other";
  }
  return "?";
}

bool parse_patroni_role_name(const std::string& name, PatroniRole* out) {
  for (PatroniRole r : {PatroniRole::Leader, PatroniRole::Replica, PatroniRole::Demoted, PatroniRole::Stopped,
                        PatroniRole::Unreachable, PatroniRole::Other})
    if (name == patroni_role_name(r)) {
      *out = r;
      return true;
    }
  return false;
}

PatroniRole classify(const PatroniNodeStatus& s) {
  const bool primary = s.role == "master" || s.role == "primary" || s.role == "leader";
  const bool standby = s.role == "replica" || s.role == "sync_standby" || s.role == "standby_leader" ||
                       s.role == "standby";
  const bool down = s.state == "stopped" || s.state == "crashed" || s.state == "start failed" ||
                    s.state == "stop failed" || s.state.rfind("restart failed", 0) == 0;
  if (s.role == "demoted") return PatroniRole::Demoted;
  if (primary) {
    if (s.state == "running") return PatroniRole::Leader;
    return down ? PatroniRole::Stopped : PatroniRole::Demoted;
  }
  if (down) return PatroniRole::Stopped;
  if (standby) return PatroniRole::Replica;
  return PatroniRole::Other;
}

Expected<PatroniNodeStatus> parse_patroni_status(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error("GET /patroni: " + parsed.error().message());
  const json& j = *parsed;
  if (!j.is_object()) return Failure::error("GET /patroni: not a JSON object");
  PatroniNodeStatus s;
  s.role = str_field(j, "role");
  s.state = str_field(j, "state");
  if (s.role.empty() && s.state.empty()) return Failure::error("GET /patroni: neither role nor state in the answer");
  s.timeline = int_field(j, "timeline");
  s.failsafe_active = bool_field(j, "failsafe_mode_is_active");
  s.cluster_unlocked = bool_field(j, "cluster_unlocked");
  s.paused = bool_field(j, "pause");
  s.pending_restart = bool_field(j, "pending_restart");
  return s;
}

const PatroniMember* PatroniCluster::leader() const {
  for (const auto& m : members)
    if (m.role == "leader" || m.role == "standby_leader") return &m;
  return nullptr;
}

Expected<PatroniCluster> parse_patroni_cluster(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error("GET /cluster: " + parsed.error().message());
  const json& j = *parsed;
  if (!j.is_object() || !j.contains("members") || !j.at("members").is_array())
    return Failure::error("GET /cluster: no members list in the answer");
  PatroniCluster c;
  c.paused = bool_field(j, "pause");
  for (const auto& m : j.at("members")) {
    if (!m.is_object()) continue;
    PatroniMember p;
    p.name = str_field(m, "name");
    p.role = str_field(m, "role");
    p.state = str_field(m, "state");
    p.host = str_field(m, "host");
    p.api_url = str_field(m, "api_url");
    p.port = int_field(m, "port");
    p.timeline = int_field(m, "timeline");
    if (m.contains("lag") && m.at("lag").is_number_integer()) p.lag = m.at("lag").get<long long>();
    c.members.push_back(std::move(p));
  }
  return c;
}

Expected<PatroniNodeStatus> PatroniHttp::status(const std::string& host, int port, std::chrono::milliseconds timeout) {
  auto r = http_get(host, port, "/patroni", timeout);
  if (!r) return r.error();
  auto s = parse_patroni_status(r->body);
  if (!s) return Failure::error(s.error().message + " (HTTP " + std::to_string(r->status) + ")");
  s->http_status = r->status;
  return s;
}

Expected<PatroniCluster> PatroniHttp::cluster(const std::string& host, int port, std::chrono::milliseconds timeout) {
  auto r = http_get(host, port, "/cluster", timeout);
  if (!r) return r.error();
  if (r->status != 200) return Failure::error("GET /cluster: HTTP " + std::to_string(r->status));
  return parse_patroni_cluster(r->body);
}

}  // namespace dcslab
