#include "run/runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "base/digest.h"
#include "base/error.h"
#include "base/file.h"
#include "base/interrupt.h"
#include "base/process.h"
#include "base/text.h"
#include "lab/lab_facts.h"
#include "run/actions/actions.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

std::string generate_secret(int length) { return random_alnum(static_cast<std::size_t>(length)); }

// The file's last `max_bytes` bytes, marked as cut; empty when it cannot be read (a
// diagnostic that is missing says so elsewhere).
std::string read_tail(const fs::path& p, std::size_t max_bytes) {
  auto text = read_file(p);
  if (!text) return {};
  std::string s = std::move(*text);
  if (s.size() > max_bytes) s = "[... " + std::to_string(s.size() - max_bytes) + " bytes cut]\n" +
                                s.substr(s.size() - max_bytes);
  return s;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string describe_expectation(const Expectation& e) {
  std::string s = "exit " + describe(e.exit);
  auto add = [&](const char* stream, const std::vector<TextMatcher>& ms) {
    for (const auto& m : ms) {
      s += std::string("; ") + stream + " " + matcher_key(m);
      if (m.kind == TextMatcher::Kind::Lines) s += " (" + std::to_string(m.lines.size()) + " lines)";
      else if (m.kind == TextMatcher::Kind::Json) {
        for (const auto& [p, v] : m.json) s += " " + p + "=" + v;
      } else s += " \"" + m.text + "\"";
    }
  };
  add("stdout", e.out);
  add("stderr", e.err);
  return s;
}

}  // namespace

std::map<std::string, std::string> resolve_secrets(const Scenario& sc, LabState& state,
                                                   Redactor& redactor) {
  std::map<std::string, std::string> values;
  for (const auto& spec : sc.secrets) {
    std::string v;
    if (spec.generate > 0) {
      const fs::path dir = state.dir() / "secrets";
      const fs::path file = dir / spec.name;
      if (fs::exists(file)) {
        auto text = read_file(file);
        if (text) v = std::move(*text);
      } else {
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
        v = generate_secret(spec.generate);
        // Created 0600 from the start: never readable by others, not even briefly.
        if (auto w = write_file_atomic(file, v, 0600); !w)
          throw Fatal("cannot write " + file.string() + ": " + w.error().message);
      }
    } else {
      const char* e = std::getenv(spec.env.c_str());
      if (!e)
        throw BadInput(sc.file.string() + ": secrets." + spec.name + ": environment variable " +
                       spec.env + " is not set");
      v = e;
    }
    redactor.add(v);
    values[spec.name] = v;
  }
  return values;
}

Runner::Runner(LabControl& lab, Clock& clock, Progress& progress, Redactor& redactor,
               std::vector<Reporter*> reporters, RunnerOptions options)
    : lab_(lab),
      clock_(clock),
      progress_(progress),
      redactor_(redactor),
      reporters_(std::move(reporters)),
      options_(options),
      rng_(options.seed) {}

NodeResult Runner::record(NodeResult nr) const {
  auto r = [this](std::string& s) { s = redactor_(s); };
  r(nr.command);
  r(nr.input);
  r(nr.out);
  r(nr.err);
  r(nr.error);
  for (auto& f : nr.failures) r(f);
  for (auto& [name, text] : nr.diagnostics) r(text);
  return nr;
}

ScenarioResult Runner::not_run(const Scenario& sc, const std::string& why) {
  ScenarioResult res;
  res.name = sc.name;
  res.description = sc.description;
  res.file = sc.file.string();
  res.lab = lab_.lab().name;  // the lab it ran on (`--name`: not the file's)
  res.started_at = utc_now_iso8601();
  res.error = redactor_(why);
  for (const auto& st : sc.steps) res.not_run.push_back(redactor_(st.name));
  for (auto* r : reporters_) r->scenario_started(res);
  for (auto* r : reporters_) r->scenario_finished(res);
  return res;
}

ScenarioResult Runner::run(const Scenario& sc) {
  ScenarioResult res;
  res.name = sc.name;
  res.description = sc.description;
  res.file = sc.file.string();
  res.lab = lab_.lab().name;  // the lab it ran on (`--name`: not the file's)
  res.started_at = utc_now_iso8601();
  const auto secrets = resolve_secrets(sc, lab_.state(), redactor_);
  captures_.clear();
  for (auto* r : reporters_) r->scenario_started(res);
  const auto start = clock_.now();
  bool failed = false, unreachable = false;
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step& st = sc.steps[i];
    // Nothing more can run when the nodes cannot be reached, even with keep_going.
    if ((failed && !options_.keep_going) || unreachable || g_interrupted) {
      if (g_interrupted) res.interrupted = true;
      res.not_run.push_back(redactor_(st.name));
      continue;
    }
    bool infra = false;
    StepResult sr;
    try {
      sr = run_step(sc, st, static_cast<int>(i) + 1, secrets, &infra);
    } catch (const std::exception& e) {
      // dcslab's own error, not the scenario's: this step is an error in the reports,
      // the rest not run, and the reports are still written.
      sr = errored_step(st, static_cast<int>(i) + 1, std::string("internal error: ") + e.what());
      infra = true;
    }
    if (infra) res.infrastructure_failed = unreachable = true;
    if (!sr.passed) failed = true;
    if (g_interrupted) res.interrupted = true;
    res.steps.push_back(std::move(sr));
    for (auto* r : reporters_) r->step_finished(res, res.steps.back());
  }
  if (res.interrupted && res.error.empty())
    res.error = "interrupted (SIGINT or SIGTERM) after step " +
                std::to_string(res.steps.size()) + "; " + std::to_string(res.not_run.size()) +
                " steps not run";
  // A writer does not outlive its scenario; an unchecked history is still saved.
  writers_.stop_all(sc.name, options_.artifacts_dir, redactor_);
  pg_writers_.stop_all(sc.name, options_.artifacts_dir, redactor_);
  res.passed = !failed && !res.interrupted;
  res.seconds = seconds_between(start, clock_.now());
  if (res.passed) mark_passed(lab_.state(), sc.name, res.started_at);
  for (auto* r : reporters_) r->scenario_finished(res);
  return res;
}

StepResult Runner::errored_step(const Step& st, int index, const std::string& error) {
  StepResult sr;
  sr.index = index;
  sr.action = action_name(st.action);
  sr.name = redactor_(st.name);
  sr.expected = redactor_(describe_expectation(st.expect));
  NodeResult nr;
  nr.node = st.on.empty() ? "" : st.on.front();
  nr.user = st.user;
  nr.error = redactor_(error);
  nr.failures.push_back("error: " + nr.error);
  sr.nodes.push_back(std::move(nr));
  return sr;
}

StepResult Runner::run_step(const Scenario& sc, const Step& st, int index,
                            const std::map<std::string, std::string>& secrets, bool* infra) {
  StepResult sr;
  sr.index = index;
  sr.action = action_name(st.action);
  const auto* fault = std::get_if<FaultSpec>(&st.action);
  sr.expected = redactor_(describe_expectation(st.expect));
  pick_note_.clear();
  auto resolved = step_nodes(sc, st, secrets, &pick_note_);
  const std::vector<std::string> nodes =
      resolved ? *resolved : std::vector<std::string>{st.on.front()};
  const auto captured_first = captured_for(nodes.front());
  const TemplateValues first{&sc.lab, sc.lab.find_node(nodes.front()), &sc.vars, &secrets,
                             &captured_first};
  try {
    sr.name = redactor_(expand_templates(st.name, first));
  } catch (const BadInput&) {
    sr.name = redactor_(st.name);  // a capture it names has no value: the node says why
  }
  sr.nodes.resize(nodes.size());
  std::vector<char> node_infra(nodes.size(), 0);
  auto run_one = [&](std::size_t i) {
    bool f = false;
    try {
      sr.nodes[i] = run_on_node(sc, st, nodes[i], secrets, &f);
    } catch (const BadInput& e) {
      sr.nodes[i].node = nodes[i];
      sr.nodes[i].error = e.what();
      sr.nodes[i].failures.push_back(std::string("error: ") + e.what());
    } catch (const std::exception& e) {
      // dcslab's own error: this node's part errored, the run goes no further (exit 3)
      // and still writes its reports.
      sr.nodes[i].node = nodes[i];
      sr.nodes[i].error = std::string("internal error: ") + e.what();
      sr.nodes[i].failures.push_back("error: " + sr.nodes[i].error);
      f = true;
    }
    node_infra[i] = f;
  };
  if (!resolved) {
    // The step's nodes could not be resolved (a capture it needs is missing): nothing ran.
    NodeResult& nr = sr.nodes[0];
    nr.node = nodes.front();
    nr.user = st.user;
    nr.command = "(the step's nodes: " +
                 (!st.on_template.empty() ? st.on_template : fault ? fault->node : "") + ")";
    nr.error = resolved.error().message;
    nr.failures.push_back("error: " + nr.error);
  } else if (nodes.size() == 1) {
    run_one(0);
  } else {
    // One thread per node, each with its own transport: the nodes of a lab are
    // independent machines, and a three-node step should take as long as one.
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < nodes.size(); ++i) threads.emplace_back(run_one, i);
    for (auto& t : threads) t.join();
  }
  sr.passed = true;
  for (std::size_t i = 0; i < sr.nodes.size(); ++i) {
    if (node_infra[i]) *infra = true;
    if (!sr.nodes[i].passed) {
      sr.passed = false;
      // A failed fault leaves the node in doubt (crashed, paused, cut off): no SSH to it.
      // Nor after Ctrl-C or SIGTERM: the step failed because it was stopped, and whoever
      // stopped it wants the reports now, not up to 20 s a command per node.
      if (options_.collect_diagnostics && !node_infra[i] && resolved && !fault &&
          !g_interrupted)
        collect_diagnostics(sr.nodes[i]);
    }
  }
  // capture: what later steps see as vars.NAME, taken before redaction (it is what the
  // machine printed; reports show it redacted where it reappears).
  if (!st.capture.empty() && resolved) {
    std::map<std::string, std::string> values;
    if (fault) {
      std::string hit;
      for (const auto& n : nodes) hit += (hit.empty() ? "" : " ") + n;
      if (sr.passed) values[""] = hit;
    } else {
      for (std::size_t i = 0; i < sr.nodes.size(); ++i)
        if (sr.nodes[i].passed) values[nodes.size() == 1 ? "" : nodes[i]] = trim(sr.nodes[i].out);
    }
    if (!values.empty()) {
      std::lock_guard lock(mu_);
      captures_[st.capture] = std::move(values);
    }
  }
  for (auto& n : sr.nodes) n = record(std::move(n));
  return sr;
}

std::map<std::string, std::string> Runner::captured_for(const std::string& node) {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> flat;
  for (const auto& [name, by_node] : captures_) {
    if (auto it = by_node.find(node); it != by_node.end()) flat[name] = it->second;
    else if (auto all = by_node.find(""); all != by_node.end()) flat[name] = all->second;
  }
  return flat;
}

Expected<std::vector<std::string>> Runner::step_nodes(
    const Scenario& sc, const Step& st, const std::map<std::string, std::string>& secrets,
    std::string* note) {
  auto valid = [&] { return join(sc.lab.node_names(), ", "); };
  std::vector<std::string> nodes = st.on;
  if (!st.on_template.empty()) {
    const auto global = captured_for("");
    const TemplateValues tv{&sc.lab, nullptr, &sc.vars, &secrets, &global};
    std::string text;
    try {
      text = expand_templates(st.on_template, tv);
    } catch (const BadInput& e) {
      return Failure::error(std::string("on: ") + e.what());
    }
    std::vector<std::string> named;
    std::string word;
    for (char c : text + " ") {
      if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r') {
        if (!word.empty() && std::find(named.begin(), named.end(), word) == named.end()) {
          if (!sc.lab.find_node(word))
            return Failure::error("on: \"" + word + "\" (from " + st.on_template +
                                  ") is not a node of lab " + sc.lab.name + " (valid: " + valid() + ")");
          named.push_back(word);
        }
        word.clear();
      } else {
        word += c;
      }
    }
    if (named.empty()) return Failure::error("on: " + st.on_template + " names no node");
    nodes.clear();
    if (st.on_except) {
      for (const auto& n : sc.lab.node_names())
        if (std::find(named.begin(), named.end(), n) == named.end()) nodes.push_back(n);
      if (nodes.empty())
        return Failure::error("on: {except: " + st.on_template + "} leaves no node");
    } else {
      nodes = named;
    }
  }
  const auto* fault = std::get_if<FaultSpec>(&st.action);
  if (!fault) return nodes;
  const auto captured = captured_for(nodes.front());
  const TemplateValues first{&sc.lab, sc.lab.find_node(nodes.front()), &sc.vars, &secrets, &captured};
  return fault_nodes(*fault, sc, nodes, first, rng_, note);
}

NodeResult Runner::run_on_node(const Scenario& sc, const Step& st, const std::string& node_name,
                               const std::map<std::string, std::string>& secrets, bool* infra) {
  NodeResult nr;
  nr.node = node_name;
  nr.user = st.user;
  const auto captured = captured_for(node_name);
  const TemplateValues tv{&sc.lab, sc.lab.find_node(node_name), &sc.vars, &secrets, &captured};
  const StepServices services{lab_,    clock_, progress_, redactor_, writers_, options_.artifacts_dir,
                              &pg_writers_};
  NodeStep step(services, sc, st, node_name, tv, pick_note_, nr, infra);
  if (!st.when || when_holds(step))
    std::visit([&](const auto& spec) { run_action(spec, step); }, st.action);
  nr.seconds = seconds_between(step.start, clock_.now());
  nr.passed = nr.failures.empty() && nr.error.empty();
  return nr;
}

// when: judged on this node's etcd, asked anew each time (an earlier step may have
// installed or upgraded it). Where it does not hold the node's part is skipped.
bool Runner::when_holds(NodeStep& step) {
  const Step& st = step.st;
  NodeResult& nr = step.nr;
  nr.command = "when " + st.when->text;
  auto t = step.session("");
  if (!t) return false;
  ExecOptions probe;
  probe.timeout = std::chrono::minutes(1);
  auto r = t->exec(etcd_version_probe(), probe);
  auto seen = r ? parse_etcd_version_probe(r->out) : Expected<ObservedVersion>(r.error());
  if (!seen) {
    nr.failures.push_back("when " + st.when->text + ": cannot tell the etcd version on " +
                          step.node + ": " + seen.error().message);
    return false;
  }
  if (!st.when->holds(*parse_version(seen->version))) {
    nr.skipped = true;
    nr.skip_reason = "when " + st.when->text + ": etcd " + seen->version + " (" + seen->source + ")";
    return false;
  }
  nr.command.clear();
  return true;
}

void Runner::collect_diagnostics(NodeResult& nr) {
  // What a person inspecting the failure would look at first.
  auto t = lab_.connect(nr.node, lab_.lab().login.user, false);
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"journalctl-etcd.txt", "sudo -n journalctl -u etcd --no-pager -n 1000 2>&1"},
      {"ip-addr.txt", "ip addr 2>&1"},
      // Every unit's lines since boot (Patroni, PostgreSQL, sshd...), the newest 2000.
      {"journalctl.txt", "sudo -n journalctl -b --no-pager -o short-precise -n 2000 2>&1"}};
  // A node that did not answer one command is not asked the next (each may wait 20 s).
  std::string unanswered = t ? "" : t.error().message;
  for (const auto& [file, command] : commands) {
    if (unanswered.empty() && g_interrupted) unanswered = "interrupted (SIGINT or SIGTERM)";
    if (!unanswered.empty()) {
      nr.diagnostics.emplace_back(file, "(not collected: " + unanswered + ")\n");
      continue;
    }
    ExecOptions opts;
    opts.timeout = std::chrono::seconds(20);
    auto r = (*t)->exec(command, opts);
    if (!r) unanswered = r.error().message;
    nr.diagnostics.emplace_back(
        file, r ? "$ " + command + "\n" + r->out + r->err : "(not collected: " + unanswered + ")\n");
  }
  const fs::path console = lab_.console_log(nr.node);
  if (!console.empty() && fs::exists(console))
    nr.diagnostics.emplace_back("console.log", read_tail(console, 1 << 20));
}

}  // namespace dcslab
