#include "base/json.h"
#include "pg/role_sampler.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

namespace dcslab {

namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

bool same(const RoleSpan& a, const RoleSpan& b) {
  return a.role == b.role && a.patroni_role == b.patroni_role && a.state == b.state &&
         a.timeline == b.timeline && a.failsafe == b.failsafe;
}

}  // namespace

std::vector<RoleChange> RoleTimeline::changes() const {
  std::vector<RoleChange> out;
  std::map<std::string, const RoleSpan*> last;
  for (const auto& s : spans) {
    auto it = last.find(s.node);
    if (it != last.end() && it->second->role != s.role)
      out.push_back({s.node, s.from_ms, it->second->to_ms, it->second->role, s.role, s.timeline});
    last[s.node] = &s;
  }
  std::stable_sort(out.begin(), out.end(), [](const RoleChange& a, const RoleChange& b) { return a.at_ms < b.at_ms; });
  return out;
}

std::vector<RoleWindow> RoleTimeline::two_leaders() const {
  std::vector<RoleWindow> out;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].role != PatroniRole::Leader) continue;
    for (std::size_t j = i + 1; j < spans.size(); ++j) {
      const RoleSpan& a = spans[i];
      const RoleSpan& b = spans[j];
      if (b.role != PatroniRole::Leader || a.node == b.node) continue;
      const double from = std::max(a.from_ms, b.from_ms), to = std::min(a.to_ms, b.to_ms);
      if (from <= to) out.push_back({from, to, {a.node, b.node}});
    }
  }
  return out;
}

std::vector<RoleWindow> RoleTimeline::no_leader() const {
  if (spans.empty()) return {};
  // The period every node was sampled in: the nodes' threads start and stop a little
  // apart, and a leader not sampled yet (or any more) is not a time without one.
  std::map<std::string, std::pair<double, double>> sampled;
  std::vector<std::pair<double, double>> leaders;
  for (const auto& s : spans) {
    auto [it, added] = sampled.try_emplace(s.node, s.from_ms, s.to_ms);
    if (!added) {
      it->second.first = std::min(it->second.first, s.from_ms);
      it->second.second = std::max(it->second.second, s.to_ms);
    }
    if (s.role == PatroniRole::Leader) leaders.emplace_back(s.from_ms, s.to_ms);
  }
  double first = -1e300, last = 1e300;
  for (const auto& [node, period] : sampled) {
    first = std::max(first, period.first);
    last = std::min(last, period.second);
  }
  if (first >= last) return {};
  for (auto& [from, to] : leaders) {
    from = std::max(from, first);
    to = std::min(to, last);
  }
  std::erase_if(leaders, [](const auto& l) { return l.first > l.second; });
  std::sort(leaders.begin(), leaders.end());
  std::vector<RoleWindow> out;
  double covered = first;
  bool any = false;
  for (const auto& [from, to] : leaders) {
    if (from > covered) out.push_back({covered, from, {}});
    covered = any ? std::max(covered, to) : to;
    any = true;
  }
  if (!any) return {{first, last, {}}};
  if (last > covered) out.push_back({covered, last, {}});
  return out;
}

RoleSampler::RoleSampler(RoleSamplerOptions options, std::shared_ptr<PatroniApi> api, Clock& clock,
                         Clock::time_point origin)
    : options_(std::move(options)), api_(std::move(api)), clock_(clock), origin_(origin) {
  for (const auto& n : options_.nodes) timeline_.nodes.push_back(n.name);
  timeline_.interval_ms = static_cast<double>(options_.interval.count());
  open_.assign(options_.nodes.size(), kNone);
}

RoleSampler::~RoleSampler() { stop(); }

double RoleSampler::now_ms() { return std::chrono::duration<double, std::milli>(clock_.now() - origin_).count(); }

void RoleSampler::sample(std::size_t i) {
  const PatroniNode& n = options_.nodes.at(i);
  auto st = api_->status(n.host, n.port, options_.timeout);
  RoleSpan s;
  s.node = n.name;
  s.from_ms = s.to_ms = now_ms();  // when the answer came (or did not)
  s.samples = 1;
  if (st) {
    s.role = classify(*st);
    s.patroni_role = st->role;
    s.state = st->state;
    s.timeline = st->timeline;
    s.failsafe = st->failsafe_active;
  } else {
    s.role = PatroniRole::Unreachable;
    s.error = st.error().message;
  }
  std::lock_guard lock(mu_);
  if (open_[i] != kNone && same(timeline_.spans[open_[i]], s)) {
    RoleSpan& cur = timeline_.spans[open_[i]];
    cur.to_ms = s.to_ms;
    ++cur.samples;
    if (cur.role == PatroniRole::Unreachable) cur.error = s.error;  // the latest reason
    return;
  }
  open_[i] = timeline_.spans.size();
  timeline_.spans.push_back(std::move(s));
}

void RoleSampler::sample_all() {
  for (std::size_t i = 0; i < options_.nodes.size(); ++i) sample(i);
}

RoleTimeline RoleSampler::timeline() const {
  std::lock_guard lock(mu_);
  return timeline_;
}

void RoleSampler::start() {
  if (!threads_.empty()) return;
  stop_ = false;
  // Made by the caller's thread, so in the same network namespace. One per node: a node
  // that black-holes its requests costs its own samples their deadline, not the others'.
  for (std::size_t i = 0; i < options_.nodes.size(); ++i)
    threads_.emplace_back([this, i] {
      while (!stop_) {
        const auto tick = std::chrono::steady_clock::now();
        sample(i);
        std::unique_lock lock(wake_mu_);
        wake_.wait_until(lock, tick + options_.interval, [this] { return stop_.load(); });
      }
    });
}

void RoleSampler::stop() {
  if (threads_.empty()) return;
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

namespace {

using nlohmann::json;

double round1(double v) { return static_cast<double>(static_cast<long long>(v * 10 + 0.5)) / 10; }

}  // namespace

std::string role_timeline_json(const RoleTimeline& t) {
  json j;
  j["nodes"] = t.nodes;
  j["interval_ms"] = t.interval_ms;
  json spans = json::array();
  for (const auto& s : t.spans) {
    json o{{"node", s.node},          {"role", patroni_role_name(s.role)}, {"from_ms", round1(s.from_ms)},
           {"to_ms", round1(s.to_ms)}, {"samples", s.samples}};
    if (!s.patroni_role.empty()) o["patroni_role"] = s.patroni_role;
    if (!s.state.empty()) o["state"] = s.state;
    if (s.timeline) o["timeline"] = s.timeline;
    if (s.failsafe) o["failsafe"] = true;
    if (!s.error.empty()) o["error"] = s.error;
    spans.push_back(std::move(o));
  }
  j["spans"] = std::move(spans);
  json changes = json::array();
  for (const auto& c : t.changes())
    changes.push_back({{"node", c.node},
                       {"at_ms", round1(c.at_ms)},
                       {"last_before_ms", round1(c.last_before_ms)},
                       {"from", patroni_role_name(c.from)},
                       {"to", patroni_role_name(c.to)},
                       {"timeline", c.timeline}});
  j["changes"] = std::move(changes);
  auto windows = [](const std::vector<RoleWindow>& ws) {
    json a = json::array();
    for (const auto& w : ws)
      a.push_back({{"from_ms", round1(w.from_ms)}, {"to_ms", round1(w.to_ms)}, {"ms", round1(w.ms())}, {"nodes", w.nodes}});
    return a;
  };
  j["two_leaders"] = windows(t.two_leaders());
  j["no_leader"] = windows(t.no_leader());
  return j.dump(1) + "\n";
}

Expected<RoleTimeline> parse_role_timeline(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error(parsed.error().message());
  const json& j = *parsed;
  std::string where = "the timeline";
  try {
    RoleTimeline t;
    if (j.contains("nodes")) t.nodes = j.at("nodes").get<std::vector<std::string>>();
    t.interval_ms = j.value("interval_ms", 0.0);
    if (!j.contains("spans") || !j.at("spans").is_array()) return Failure::error("spans: missing (a list)");
    for (std::size_t i = 0; i < j.at("spans").size(); ++i) {
      const json& o = j.at("spans")[i];
      where = "spans[" + std::to_string(i) + "]";
      RoleSpan s;
      s.node = o.at("node").get<std::string>();
      const std::string role = o.at("role").get<std::string>();
      if (!parse_patroni_role_name(role, &s.role))
        return Failure::error(where + ".role: \"" + role +
                              "\" (valid: leader, replica, demoted, stopped, unreachable, other)");
      s.patroni_role = o.value("patroni_role", "");
      s.state = o.value("state", "");
      s.timeline = o.value("timeline", 0);
      s.failsafe = o.value("failsafe", false);
      s.error = o.value("error", "");
      s.from_ms = o.at("from_ms").get<double>();
      s.to_ms = o.at("to_ms").get<double>();
      s.samples = o.value("samples", 1);
      t.spans.push_back(std::move(s));
    }
    return t;
  } catch (const json::exception& e) {
    return Failure::error(where + ": " + e.what());
  }
}

}  // namespace dcslab
