#include "run/pg_writer_steps.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "base/file.h"
#include "base/text.h"
#include "pg/patroni_api.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

std::string ms_text(double ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f ms", ms);
  return b;
}

// Where `check_pg_writes` stores a file (empty: nowhere, or it could not be written).
std::string save_file(const fs::path& file, const std::string& text) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  return write_file(file, text) ? file.string() : "";
}

// What check_pg_writes prints: the verdict, the unavailability (overall and per fault),
// the role timeline's changes and windows, where the files are.
std::string report(const std::string& name, const PgHistory& h, const PgCheckResult& r,
                   const RoleTimeline* roles, const std::string& saved,
                   const std::string& saved_roles) {
  std::string out = "pg_writer " + name + ": " + h.conninfo + "\n" + r.summary() + "\n";
  out += "verdict: " + std::string(r.passed() ? "PASS" : "FAIL") + " (split brain " +
         std::to_string(r.split_brain) + ", timeline forks " + std::to_string(r.timeline_forks) +
         ", lost " + std::to_string(r.lost) + " of which failing " + std::to_string(r.lost_sync) +
         ", unexplained " + std::to_string(r.unexplained) + ")\n";
  if (r.longest.after_write || r.longest.before_write || r.longest.open)
    out += "unavailable: longest " + ms_text(r.longest.ms()) + " without an acknowledged write (" +
           ms_text(r.longest.from_ms) + " .. " + ms_text(r.longest.to_ms) + ")" +
           (r.longest.open ? ", open at the end" : "") + "\n";
  for (const auto& f : r.faults) {
    out += "fault " + f.name + " at " + ms_text(f.start_ms) + ": longest gap " + ms_text(f.longest.ms());
    if (f.recovery_ms >= 0) out += ", recovered " + ms_text(f.recovery_ms) + " after its start";
    else out += ", not recovered";
    out += "; primary " + (f.tenure_before.empty() ? std::string("none") : f.tenure_before) + " -> " +
           (f.tenure_after.empty() ? std::string("none") : f.tenure_after) + "; during it acknowledged " +
           std::to_string(f.acknowledged) + ", failed " + std::to_string(f.failed) + ", indeterminate " +
           std::to_string(f.indeterminate) + "\n";
  }
  if (roles) {
    for (const auto& c : roles->changes())
      out += "role " + c.node + " " + patroni_role_name(c.from) + " -> " + patroni_role_name(c.to) +
             " at " + ms_text(c.at_ms) + " (timeline " + std::to_string(c.timeline) + ")\n";
    const auto two = roles->two_leaders();
    out += "roles: two leaders sampled " + std::to_string(two.size()) + " times";
    double longest_none = 0;
    for (const auto& w : roles->no_leader()) longest_none = std::max(longest_none, w.ms());
    out += "; longest without a leader " + ms_text(longest_none) + "\n";
  }
  for (const auto& f : r.findings)
    out += std::string(f.failure ? "FAIL " : "note ") + f.kind + ": " + f.message + "\n";
  if (!saved.empty()) out += "history: " + saved + "\n";
  if (!saved_roles.empty()) out += "roles: " + saved_roles + "\n";
  return out;
}

}  // namespace

PgWriters::~PgWriters() {
  for (auto& [name, e] : writers_) {
    if (e.sampler) e.sampler->stop();
    e.writer->stop();
  }
}

fs::path PgWriters::history_file(const fs::path& dir, const std::string& scenario, const std::string& name) {
  return dir / ("pg-writes-" + scenario + "-" + name + ".json");
}
fs::path PgWriters::roles_file(const fs::path& dir, const std::string& scenario, const std::string& name) {
  return dir / ("pg-roles-" + scenario + "-" + name + ".json");
}

Expected<CommandResult> PgWriters::start(const PgWriterSpec& spec, const TemplateValues& tv,
                                         Redactor& redactor, std::string* command) {
  PgConnectOptions o;
  for (const auto& n : spec.hosts) o.hosts.push_back({tv.lab->find_node(n)->ip.str(), spec.port});
  o.dbname = expand_templates(spec.database, tv);
  o.user = expand_templates(spec.user, tv);
  o.password = expand_templates(spec.password, tv);
  redactor.add(o.password);
  o.statement_timeout = spec.timeout;
  o.application_name = "dcslab-" + spec.name;
  return start_with(spec, tv, std::make_shared<LibpqClient>(o), std::make_shared<PatroniHttp>(), command);
}

Expected<CommandResult> PgWriters::start_with(const PgWriterSpec& spec, const TemplateValues& tv,
                                              std::shared_ptr<PgClient> client,
                                              std::shared_ptr<PatroniApi> api, std::string* command) {
  PgWriterOptions wo;
  wo.name = spec.name;
  wo.table = spec.table;
  wo.interval = spec.interval;
  wo.timeout = spec.timeout;
  wo.synchronous = spec.synchronous;
  for (const auto& n : spec.hosts) {
    const std::string ip = tv.lab->find_node(n)->ip.str();
    wo.node_names[ip + ":" + std::to_string(spec.port)] = n;
    wo.node_names[ip] = n;
  }
  *command = "pg_writer " + spec.name + ": insert every " + std::to_string(spec.interval.count()) +
             " ms through " + client->conninfo();
  {
    std::lock_guard lock(mu_);
    if (writers_.count(spec.name)) return Failure::error("pg_writer " + spec.name + " is already running");
  }
  auto writer = std::make_unique<PgWriter>(wo, client, clock_);
  DCSLAB_TRY(writer->prepare());
  std::unique_ptr<RoleSampler> sampler;
  if (spec.roles) {
    RoleSamplerOptions ro;
    for (const auto& n : spec.hosts) ro.nodes.push_back({n, tv.lab->find_node(n)->ip.str(), spec.patroni_port});
    ro.interval = spec.role_interval;
    sampler = std::make_unique<RoleSampler>(ro, api, clock_, writer->origin());
    *command += "; roles from GET /patroni on :" + std::to_string(spec.patroni_port) + " every " +
                std::to_string(spec.role_interval.count()) + " ms";
  }
  writer->start();
  if (sampler) sampler->start();
  std::string out = "pg_writer " + spec.name + " started: table " + spec.table + ", client " +
                    writer->client_id() + "\n";
  std::lock_guard lock(mu_);
  writers_[spec.name] = Entry{std::move(writer), std::move(sampler), false};
  return CommandResult{0, out, ""};
}

Expected<CommandResult> PgWriters::stop(const PgWriterSpec& spec, std::string* command) {
  *command = "pg_writer " + spec.name + " stops";
  std::lock_guard lock(mu_);
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no pg_writer " + spec.name + " is running");
  if (it->second.sampler) it->second.sampler->stop();
  it->second.writer->stop();
  return CommandResult{0, "pg_writer " + spec.name + ": " + std::to_string(it->second.writer->ticks()) +
                              " writes\n", ""};
}

std::map<std::string, double> PgWriters::now_all() {
  std::lock_guard lock(mu_);
  std::map<std::string, double> at;
  for (auto& [name, e] : writers_)
    if (e.writer->running()) at[name] = e.writer->now_ms();
  return at;
}

void PgWriters::mark_faults(const std::string& fault, const std::map<std::string, double>& started) {
  std::lock_guard lock(mu_);
  for (const auto& [name, start] : started)
    if (auto it = writers_.find(name); it != writers_.end())
      it->second.writer->mark_fault(fault, start, it->second.writer->now_ms());
}

void PgWriters::save(const std::string& scenario, const std::string& name, Entry& e,
                     const fs::path& artifacts_dir, const Redactor& redactor,
                     const PgCheckResult* result) {
  if (artifacts_dir.empty()) return;
  save_file(history_file(artifacts_dir, scenario, name), redactor(pg_history_json(e.writer->history(), result)));
  if (e.sampler) save_file(roles_file(artifacts_dir, scenario, name), redactor(role_timeline_json(e.sampler->timeline())));
}

Expected<CommandResult> PgWriters::check(const CheckPgWritesSpec& spec, const std::string& scenario,
                                         const fs::path& artifacts_dir, const Redactor& redactor,
                                         std::string* command, std::vector<std::string>* failures) {
  *command = "check_pg_writes " + spec.name;
  std::unique_lock lock(mu_);
  auto it = writers_.find(spec.name);
  if (it == writers_.end()) return Failure::not_found("no pg_writer " + spec.name + " was started");
  Entry& e = it->second;
  lock.unlock();
  if (e.sampler) e.sampler->stop();
  e.writer->stop();
  e.writer->read_back(spec.timeout);
  const PgHistory h = e.writer->history();
  PgCheckOptions co;
  co.max_unavailable_ms = static_cast<double>(spec.max_unavailable.count());
  const PgCheckResult res = check_pg_history(h, co);
  e.checked = true;
  std::string saved, saved_roles;
  std::optional<RoleTimeline> roles;
  if (e.sampler) roles = e.sampler->timeline();
  if (!artifacts_dir.empty()) {
    saved = save_file(history_file(artifacts_dir, scenario, spec.name), redactor(pg_history_json(h, &res)));
    if (roles) saved_roles = save_file(roles_file(artifacts_dir, scenario, spec.name), redactor(role_timeline_json(*roles)));
  }
  for (const auto& f : res.findings)
    if (f.failure) failures->push_back("check_pg_writes: " + f.kind + ": " + f.message);
  if (!res.passed() && failures->empty()) failures->push_back("check_pg_writes: " + res.summary());
  // Asynchronous loss is the checker's to report; the scenario may forbid it.
  if (spec.max_lost >= 0 && (res.lost > spec.max_lost || !res.final_read))
    failures->push_back("check_pg_writes: " +
                        (res.final_read ? std::to_string(res.lost) + " acknowledged inserts lost (max_lost " +
                                              std::to_string(spec.max_lost) + ")"
                                        : std::string("no final read: loss not judged (max_lost given)")));
  const bool passed = failures->empty();
  return CommandResult{passed ? 0 : 1,
                       redactor(report(spec.name, h, res, roles ? &*roles : nullptr, saved, saved_roles)), ""};
}

void PgWriters::stop_all(const std::string& scenario, const fs::path& artifacts_dir,
                         const Redactor& redactor) {
  std::lock_guard lock(mu_);
  for (auto& [name, e] : writers_) {
    if (e.sampler) e.sampler->stop();
    e.writer->stop();
    if (!e.checked) save(scenario, name, e, artifacts_dir, redactor, nullptr);
  }
  writers_.clear();
}

}  // namespace dcslab
