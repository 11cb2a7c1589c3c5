#include "run/parallel.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "base/process.h"
#include "base/text.h"
#include "lab/state.h"

namespace dcslab {

namespace {

std::set<std::string> closure_with(const std::string& name, const RequiresOf& requires_of) {
  std::set<std::string> seen;
  std::vector<std::string> todo{name};
  while (!todo.empty()) {
    const std::string n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    for (const auto& r : requires_of(n)) todo.push_back(r);
  }
  return seen;
}

}  // namespace

std::vector<std::vector<std::string>> partition_scenarios(const std::vector<std::string>& selected,
                                                          const RequiresOf& requires_of,
                                                          const std::function<double(const std::string&)>& cost,
                                                          int labs) {
  const std::size_t n = selected.size();
  std::vector<std::set<std::string>> needs(n);  // each scenario and what it requires
  for (std::size_t i = 0; i < n; ++i) needs[i] = closure_with(selected[i], requires_of);

  // Union-find over the selected scenarios: related by requires, one set.
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  std::function<std::size_t(std::size_t)> root = [&](std::size_t i) {
    return parent[i] == i ? i : parent[i] = root(parent[i]);
  };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j && needs[i].count(selected[j])) parent[root(i)] = root(j);

  // The sets, in the order of their first scenario, with what they need.
  std::vector<std::vector<std::size_t>> sets;
  std::map<std::size_t, std::size_t> set_of_root;
  for (std::size_t i = 0; i < n; ++i) {
    auto [it, added] = set_of_root.emplace(root(i), sets.size());
    if (added) sets.emplace_back();
    sets[it->second].push_back(i);
  }
  auto cost_of = [&](const std::set<std::string>& names) {
    double c = 0;
    for (const auto& s : names) c += cost(s);
    return c;
  };
  std::vector<std::set<std::string>> set_needs(sets.size());
  for (std::size_t s = 0; s < sets.size(); ++s)
    for (std::size_t i : sets[s]) set_needs[s].insert(needs[i].begin(), needs[i].end());

  // Most costly first (stable: ties keep their order), each to the lab it adds least to.
  std::vector<std::size_t> by_cost(sets.size());
  std::iota(by_cost.begin(), by_cost.end(), 0);
  std::stable_sort(by_cost.begin(), by_cost.end(), [&](std::size_t a, std::size_t b) {
    return cost_of(set_needs[a]) > cost_of(set_needs[b]);
  });
  const std::size_t lab_count = std::min<std::size_t>(std::max(labs, 1), sets.size());
  std::vector<std::set<std::string>> lab_needs(lab_count);
  std::vector<std::vector<std::size_t>> lab_members(lab_count);
  for (std::size_t s : by_cost) {
    std::size_t best = 0;
    double best_total = 0;
    for (std::size_t l = 0; l < lab_count; ++l) {
      std::set<std::string> merged = lab_needs[l];
      merged.insert(set_needs[s].begin(), set_needs[s].end());
      const double total = cost_of(merged);
      if (l == 0 || total < best_total) best = l, best_total = total;
    }
    lab_needs[best].insert(set_needs[s].begin(), set_needs[s].end());
    lab_members[best].insert(lab_members[best].end(), sets[s].begin(), sets[s].end());
  }
  std::vector<std::vector<std::string>> groups;
  for (auto& members : lab_members) {
    if (members.empty()) continue;
    std::sort(members.begin(), members.end());
    std::vector<std::string> g;
    for (std::size_t i : members) g.push_back(selected[i]);
    groups.push_back(std::move(g));
  }
  return groups;
}

Expected<RunReport> report_from_json(const std::string& text) {
  using nlohmann::json;
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error("not a JSON report: " + parsed.error().message());
  const json& root = *parsed;
  if (!root.is_object()) return Failure::error("not a JSON report: not an object");
  try {
    RunReport r;
    r.lab = root.value("lab", "");
    r.started_at = root.value("started_at", "");
    r.seconds = root.value("seconds", 0.0);
    if (root.contains("seed"))
      r.seed = root["seed"].is_string() ? root["seed"].get<std::string>() : root["seed"].dump();
    if (root.contains("shard")) {
      const json& sh = root.at("shard");
      r.shard.index = sh.at("index").get<int>();
      r.shard.count = sh.at("count").get<int>();
      r.shard.run = sh.at("run").get<std::string>();
      r.shard.order = sh.at("order").get<std::vector<std::string>>();
      r.shard.slice = sh.at("slice").get<std::vector<std::string>>();
    }
    for (const auto& s : root.value("scenarios", json::array())) {
      ScenarioResult sc;
      sc.name = s.value("name", "");
      sc.description = s.value("description", "");
      sc.file = s.value("file", "");
      sc.lab = s.value("lab", "");
      sc.started_at = s.value("started_at", "");
      sc.seconds = s.value("seconds", 0.0);
      sc.passed = s.value("passed", false);
      sc.infrastructure_failed = s.value("infrastructure_failed", false);
      sc.interrupted = s.value("interrupted", false);
      sc.error = s.value("error", "");
      sc.not_run = s.value("not_run", std::vector<std::string>{});
      for (const auto& st : s.value("steps", json::array())) {
        StepResult sr;
        sr.index = st.value("index", 0);
        sr.name = st.value("name", "");
        sr.action = st.value("action", "");
        sr.expected = st.value("expected", "");
        sr.passed = st.value("passed", false);
        for (const auto& nj : st.value("nodes", json::array())) {
          NodeResult nr;
          nr.node = nj.value("node", "");
          nr.user = nj.value("user", "");
          nr.command = nj.value("command", "");
          nr.input = nj.value("input", "");
          nr.exit_status = nj.value("exit", -1);
          nr.out = nj.value("stdout", "");
          nr.err = nj.value("stderr", "");
          nr.out_dropped = nj.value("stdout_dropped", std::uint64_t{0});
          nr.err_dropped = nj.value("stderr_dropped", std::uint64_t{0});
          nr.passed = nj.value("passed", false);
          nr.skipped = nj.value("skipped", false);
          nr.skip_reason = nj.value("skip_reason", "");
          nr.attempts = nj.value("attempts", 0);
          nr.seconds = nj.value("seconds", 0.0);
          nr.failures = nj.value("failures", std::vector<std::string>{});
          nr.error = nj.value("error", "");
          sr.nodes.push_back(std::move(nr));
        }
        sc.steps.push_back(std::move(sr));
      }
      r.scenarios.push_back(std::move(sc));
    }
    return r;
  } catch (const json::exception& e) {
    return Failure::error(std::string("unexpected JSON report: ") + e.what());
  }
}

std::vector<LabRunOutcome> run_labs(const std::vector<LabRun>& runs, const ProcessLauncher& launch,
                                    std::ostream& out) {
  std::vector<LabRunOutcome> outcomes(runs.size());
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    threads.emplace_back([&, i] {
      const LabRun& run = runs[i];
      LabRunOutcome& o = outcomes[i];
      o.lab = run.lab;
      std::string last;  // the child's last line, for a run that leaves no report
      auto status = launch(run.argv, [&](const std::string& line) {
        std::lock_guard lock(out_mu);
        out << "[" << run.lab << "] " << line;
        if (line.empty() || line.back() != '\n') out << "\n";
        out.flush();
        if (line.find_first_not_of(" \n") != std::string::npos) last = line;
      });
      if (!status) {
        o.problem = "could not start: " + status.error().message;
        return;
      }
      o.exit_status = *status;
      auto text = read_file(run.report);
      if (!text) {
        last = rtrim(last, "\n");
        o.problem = "no report (exit status " + std::to_string(o.exit_status) +
                    (last.empty() ? "" : "; last line: " + last) + ")";
        return;
      }
      auto report = report_from_json(*text);
      if (!report) {
        o.problem = run.report.string() + ": " + report.error().message;
        return;
      }
      o.report = std::move(*report);
    });
  }
  for (auto& t : threads) t.join();
  return outcomes;
}

RunReport merge_reports(const std::vector<LabRun>& runs, const std::vector<LabRunOutcome>& outcomes) {
  RunReport merged;
  for (std::size_t i = 0; i < runs.size() && i < outcomes.size(); ++i) {
    const LabRunOutcome& o = outcomes[i];
    merged.lab += (merged.lab.empty() ? "" : ", ") + runs[i].lab;
    if (o.report) {
      if (merged.started_at.empty() || o.report->started_at < merged.started_at)
        merged.started_at = o.report->started_at;
      merged.seconds = std::max(merged.seconds, o.report->seconds);
      if (merged.seed.empty()) merged.seed = o.report->seed;
      for (auto sc : o.report->scenarios) {
        if (sc.lab.empty()) sc.lab = runs[i].lab;
        merged.scenarios.push_back(std::move(sc));
      }
      continue;
    }
    // No report: the lab could not come up, or the child died. Its scenarios did not run.
    for (const auto& name : runs[i].scenarios) {
      ScenarioResult sc;
      sc.name = name;
      sc.lab = runs[i].lab;
      sc.error = "not run: lab " + runs[i].lab + ": " + o.problem;
      sc.infrastructure_failed = o.exit_status == 3 || o.exit_status < 0;
      merged.scenarios.push_back(std::move(sc));
    }
  }
  return merged;
}

int merged_exit_status(const std::vector<LabRunOutcome>& outcomes, const RunReport& merged) {
  bool infra = merged.infrastructure_failed(), bad_input = false, failed = merged.failed() > 0;
  for (const auto& o : outcomes) {
    if (o.exit_status == 3 || o.exit_status < 0) infra = true;
    else if (o.exit_status == 2) bad_input = true;
    else if (o.exit_status != 0) failed = true;
  }
  return infra ? 3 : bad_input ? 2 : failed ? 1 : 0;
}

std::vector<LabRun> plan_lab_runs(const ParallelPlan& plan,
                                  const std::vector<std::vector<std::string>>& groups) {
  std::vector<LabRun> runs;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    LabRun r;
    r.lab = plan.lab + "-" + std::to_string(i + 1);
    r.scenarios = groups[i];
    std::string only;
    for (const auto& n : groups[i]) only += (only.empty() ? "" : ",") + n;
    const auto artifacts = plan.artifacts / r.lab;
    r.report = artifacts / "report.json";
    r.argv = plan.self;
    for (const char* w : {"--name", r.lab.c_str(), "--isolated", "run", "--only", only.c_str(),
                          "--artifacts", artifacts.c_str()})
      r.argv.emplace_back(w);
    if (!plan.keep) r.argv.emplace_back("--down");
    r.argv.insert(r.argv.end(), plan.run_args.begin(), plan.run_args.end());
    runs.push_back(std::move(r));
  }
  return runs;
}

int run_parallel(const ParallelPlan& plan, const std::vector<LabRun>& runs,
                 const ProcessLauncher& launch, std::ostream& out, RunReport& merged) {
  auto outcomes = run_labs(runs, launch, out);
  if (!plan.keep) {
    // A child that ran to its end took its lab down itself (--down); one that was killed
    // or crashed left it: down it here, so nothing of the run is left.
    std::vector<LabRun> downs;
    for (const auto& r : runs) {
      if (LabState(dcslab_home(), r.lab).empty()) continue;
      LabRun d;
      d.lab = r.lab;
      d.argv = plan.self;
      for (const char* w : {"--lab", plan.lab_file.c_str(), "--name", r.lab.c_str(), "down"})
        d.argv.emplace_back(w);
      downs.push_back(std::move(d));
    }
    if (!downs.empty()) {
      auto done = run_labs(downs, launch, out);
      for (const auto& d : done)
        if (d.exit_status != 0)
          out << "dcslab: lab " << d.lab << " could not be taken down (exit " << d.exit_status
              << "); run: "
              << join_argv({"dcslab", "--lab", plan.lab_file.string(), "--name", d.lab, "down"})
              << "\n";
    }
  }
  merged = merge_reports(runs, outcomes);
  return merged_exit_status(outcomes, merged);
}

}  // namespace dcslab
