#include "run/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "run/copy_steps.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "base/digest.h"
#include "lab/lab_facts.h"
#include "run/pki_steps.h"
#include "base/process.h"

namespace fs = std::filesystem;

namespace dcslab {

std::string utc_now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string generate_secret(int length) { return random_alnum(static_cast<std::size_t>(length)); }

std::string read_file(const fs::path& p, std::size_t max_bytes = std::string::npos) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::stringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
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
        v = read_file(file);
      } else {
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
        v = generate_secret(spec.generate);
        // Created 0600 from the start: never readable by others, not even briefly.
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) throw Fatal("cannot create " + file.string());
        const bool ok = ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
        ::close(fd);
        if (!ok) throw Fatal("cannot write " + file.string());
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

Expected<std::shared_ptr<Transport>> Runner::transport(const std::string& node,
                                                       const std::string& user, bool fresh) {
  const auto key = std::make_pair(node, user);
  {
    std::lock_guard lock(mu_);
    if (!fresh)
      if (auto it = transports_.find(key); it != transports_.end()) return it->second;
  }
  // Connect outside the lock: nodes of a parallel step connect at the same time.
  auto t = lab_.connect(node, user, fresh);
  if (!t) return t.error();
  std::lock_guard lock(mu_);
  transports_[key] = *t;
  return *t;
}

void Runner::forget_transports(const std::string& node) {
  std::lock_guard lock(mu_);
  for (auto it = transports_.begin(); it != transports_.end();)
    it = it->first.first == node ? transports_.erase(it) : std::next(it);
}

void Runner::reset_sessions() {
  std::lock_guard lock(mu_);
  transports_.clear();
}

ScenarioResult Runner::not_run(const Scenario& sc, const std::string& why) {
  ScenarioResult res;
  res.name = sc.name;
  res.description = sc.description;
  res.file = sc.file.string();
  res.lab = lab_.lab().name;  // the lab it ran on (`--name`: not the file's)
  res.started_at = utc_now_iso();
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
  res.started_at = utc_now_iso();
  const auto secrets = resolve_secrets(sc, lab_.state(), redactor_);
  captures_.clear();
  for (auto* r : reporters_) r->scenario_started(res);
  const auto start = clock_.now();
  bool failed = false, unreachable = false;
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step& st = sc.steps[i];
    // Nothing more can run when the nodes cannot be reached, even with keep_going.
    if ((failed && !options_.keep_going) || unreachable || g_interrupted) {
      res.not_run.push_back(redactor_(st.name));
      continue;
    }
    bool infra = false;
    StepResult sr = run_step(sc, st, static_cast<int>(i) + 1, secrets, &infra);
    if (infra) res.infrastructure_failed = unreachable = true;
    if (!sr.passed) failed = true;
    res.steps.push_back(std::move(sr));
    for (auto* r : reporters_) r->step_finished(res, res.steps.back());
  }
  // A writer does not outlive its scenario; an unchecked history is still saved.
  writers_.stop_all(sc.name, options_.artifacts_dir, redactor_);
  res.passed = !failed;
  res.seconds = seconds_between(start, clock_.now());
  if (res.passed) mark_passed(lab_.state(), sc.name, res.started_at);
  for (auto* r : reporters_) r->scenario_finished(res);
  return res;
}

StepResult Runner::run_step(const Scenario& sc, const Step& st, int index,
                            const std::map<std::string, std::string>& secrets, bool* infra) {
  StepResult sr;
  sr.index = index;
  sr.action = action_name(st.action);
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
    } catch (const std::exception& e) {
      sr.nodes[i].node = nodes[i];
      sr.nodes[i].error = e.what();
      sr.nodes[i].failures.push_back(std::string("error: ") + e.what());
    }
    node_infra[i] = f;
  };
  if (!resolved) {
    // The step's nodes could not be resolved (a capture it needs is missing): nothing ran.
    NodeResult& nr = sr.nodes[0];
    nr.node = nodes.front();
    nr.user = st.user;
    nr.command = "(the step's nodes: " + (st.on_template.empty() ? st.fault.node : st.on_template) + ")";
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
      if (options_.collect_diagnostics && !node_infra[i] && resolved && st.action != Action::Fault)
        collect_diagnostics(sr.nodes[i]);
    }
  }
  // capture: what later steps see as vars.NAME, taken before redaction (it is what the
  // machine printed; reports show it redacted where it reappears).
  if (!st.capture.empty() && resolved) {
    auto trim = [](std::string v) {
      const auto b = v.find_first_not_of(" \t\r\n");
      const auto e = v.find_last_not_of(" \t\r\n");
      return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    };
    std::map<std::string, std::string> values;
    if (st.action == Action::Fault) {
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
  auto valid = [&] {
    std::string v;
    for (const auto& n : sc.lab.node_names()) v += (v.empty() ? "" : ", ") + n;
    return v;
  };
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
  if (st.action != Action::Fault) return nodes;
  if (!st.fault.node.empty()) {
    const auto captured = captured_for(nodes.front());
    const TemplateValues tv{&sc.lab, sc.lab.find_node(nodes.front()), &sc.vars, &secrets, &captured};
    std::string name;
    try {
      name = expand_templates(st.fault.node, tv);
    } catch (const BadInput& e) {
      return Failure::error(std::string("fault.node: ") + e.what());
    }
    if (!sc.lab.find_node(name))
      return Failure::error("fault.node: \"" + name + "\" (from " + st.fault.node +
                            ") is not a node of lab " + sc.lab.name + " (valid: " + valid() + ")");
    return std::vector<std::string>{name};
  }
  if (st.fault.pick_random) {
    if (st.fault.count > static_cast<int>(nodes.size()))
      return Failure::error("fault.count: cannot pick " + std::to_string(st.fault.count) +
                            " distinct nodes from " + std::to_string(nodes.size()));
    std::string from;
    for (const auto& n : nodes) from += (from.empty() ? "" : ", ") + n;
    auto picked = rng_.pick(nodes, st.fault.count);
    *note = "picked at random from " + from + " (seed " + std::to_string(rng_.seed()) + ")";
    return picked;
  }
  return nodes;
}

NodeResult Runner::run_on_node(const Scenario& sc, const Step& st, const std::string& node_name,
                               const std::map<std::string, std::string>& secrets, bool* infra) {
  NodeResult nr;
  nr.node = node_name;
  nr.user = st.user;
  const Node* node = sc.lab.find_node(node_name);
  const auto captured = captured_for(node_name);
  const TemplateValues tv{&sc.lab, node, &sc.vars, &secrets, &captured};
  const auto start = clock_.now();
  auto finish = [&](NodeResult& r) {
    r.seconds = seconds_between(start, clock_.now());
    r.passed = r.failures.empty() && r.error.empty();
  };

  // when: judged on this node's etcd, asked anew each time (an earlier step may have
  // installed or upgraded it). Where it does not hold the node's part is skipped.
  if (st.when) {
    nr.command = "when " + st.when->text;
    auto t = transport(node_name, st.user, false);
    if (!t) {
      nr.error = "cannot connect to " + node_name + " as " + st.user + ": " + t.error().message;
      nr.failures.push_back("error: " + nr.error);
      *infra = true;
      finish(nr);
      return nr;
    }
    ExecOptions probe;
    probe.timeout = std::chrono::minutes(1);
    auto r = (*t)->exec(etcd_version_probe(), probe);
    auto seen = r ? parse_etcd_version_probe(r->out) : Expected<ObservedVersion>(r.error());
    if (!seen) {
      nr.failures.push_back("when " + st.when->text + ": cannot tell the etcd version on " +
                            node_name + ": " + seen.error().message);
      finish(nr);
      return nr;
    }
    if (!st.when->holds(*parse_version(seen->version))) {
      nr.skipped = true;
      nr.skip_reason = "when " + st.when->text + ": etcd " + seen->version + " (" + seen->source + ")";
      finish(nr);
      return nr;
    }
    nr.command.clear();
  }

  if (st.action == Action::Reboot) {
    nr.command = "reboot " + node_name + " (through the provider)";
    nr.attempts = 1;
    forget_transports(node_name);
    if (auto ok = lab_.reboot(node_name, progress_); !ok) {
      nr.error = ok.error().message;
      nr.failures.push_back("reboot: " + ok.error().message);
    } else {
      nr.exit_status = 0;
    }
    finish(nr);
    return nr;
  }

  // A fault through the provider; kill is a command in the guest, like run (below).
  if (st.action == Action::Fault && st.fault.kind != FaultKind::Kill) {
    const FaultKind kind = st.fault.kind;
    nr.command = std::string(fault_name(kind)) + " " + node_name + " (" + fault_description(kind) +
                 ", through the provider)" + (pick_note_.empty() ? "" : "; " + pick_note_);
    nr.attempts = 1;
    if (fault_breaks_sessions(kind)) forget_transports(node_name);
    if (auto ok = lab_.fault(node_name, kind, progress_); !ok) {
      nr.error = ok.error().message;
      nr.failures.push_back(std::string(fault_name(kind)) + ": " + ok.error().message);
    } else {
      nr.exit_status = 0;
    }
    finish(nr);
    return nr;
  }

  // writer and check_writes talk to etcd from here: a session only to read (or sign)
  // the TLS files on the node.
  if (st.action == Action::Writer || st.action == Action::CheckWrites) {
    nr.attempts = 1;
    std::vector<std::string> failures;
    Expected<CommandResult> r = Failure::error("no writer operation");
    if (st.writer.op == WriterSpec::Op::Start) {
      std::shared_ptr<Transport> tr;
      if (writer_needs_transport(st.writer)) {
        auto t = transport(node_name, st.user, false);
        if (!t) {
          nr.command = "connect as " + st.user;
          nr.error = "cannot connect to " + node_name + " as " + st.user + ": " + t.error().message;
          nr.failures.push_back("error: " + nr.error);
          *infra = true;
          finish(nr);
          return nr;
        }
        tr = *t;
      }
      r = writers_.start(st.writer, tv, lab_.state(), tr.get(), sc.file.parent_path(), redactor_,
                         &nr.command);
    } else if (st.writer.op == WriterSpec::Op::Stop) {
      r = writers_.stop(st.writer, &nr.command);
    } else {
      r = writers_.check(st.writer, sc.name, options_.artifacts_dir, redactor_, &nr.command, &failures);
    }
    if (!r) {
      nr.exit_status = -1;
      nr.error = r.error().message;
      nr.failures.push_back("error: " + nr.error);
    } else {
      nr.exit_status = r->exit_status;
      nr.out = r->out;
      nr.err = r->err;
      if (r->exit_status != 0 && failures.empty())
        failures.push_back(std::string(action_name(st.action)) + ": " + r->err.substr(0, r->err.find('\n')));
      nr.failures = failures;
    }
    finish(nr);
    return nr;
  }

  // copy reaches the nodes it names (which need not be the step's), each through the
  // runner's sessions as the step's user.
  if (st.action == Action::Copy) {
    nr.attempts = 1;
    bool unreachable = false;
    auto r = run_copy(
        st.copy, tv, st.user,
        [&](const std::string& n) { return transport(n, st.user, false); }, redactor_,
        &nr.command, &unreachable);
    if (!r) {
      nr.error = r.error().message;
      nr.failures.push_back("error: " + nr.error);
      if (unreachable) *infra = true;
    } else {
      nr.exit_status = 0;
      nr.out = r->out;
    }
    finish(nr);
    return nr;
  }

  // expect_tls connects from here, not from the node: a session only to read files there.
  std::shared_ptr<Transport> tr;
  if (st.action != Action::ExpectTls || tls_needs_transport(st.tls)) {
    auto t = transport(node_name, st.user, st.action == Action::Relogin);
    if (!t) {
      nr.command = st.action == Action::Relogin ? "relogin as " + st.user : "connect as " + st.user;
      nr.error = "cannot connect to " + node_name + " as " + st.user + ": " + t.error().message;
      nr.failures.push_back("error: " + nr.error);
      *infra = true;
      finish(nr);
      return nr;
    }
    tr = *t;
  }
  if (st.action == Action::Relogin) {
    nr.command = "relogin as " + st.user + " (a fresh SSH session)";
    nr.attempts = 1;
    nr.exit_status = 0;
    finish(nr);
    return nr;
  }

  // What one attempt does, and what it must show.
  Expectation expect;
  expect.exit = st.expect.exit;
  for (const auto& m : st.expect.out) expect.out.push_back(expand(m, tv));
  for (const auto& m : st.expect.err) expect.err.push_back(expand(m, tv));
  ExecOptions opts;
  opts.timeout = st.timeout;
  opts.stdin_data = expand_templates(st.stdin_data, tv);
  for (const auto& p : st.prompts)
    opts.prompts.push_back({expand_templates(p.expect, tv), expand_templates(p.answer, tv)});
  opts.pty = st.pty || !opts.prompts.empty();
  for (const auto& [k, v] : st.env) opts.env.emplace_back(k, expand_templates(v, tv));
  std::optional<Until> until = st.until;

  std::function<Expected<CommandResult>()> attempt;
  // How an attempt's result is judged: the step's expectation, except for expect_tls.
  std::function<std::vector<std::string>(const CommandResult&)> check =
      [&](const CommandResult& r) { return evaluate(expect, r); };
  TlsProbeResult probed;
  TlsProbeOptions tls_options;
  switch (st.action) {
    case Action::Run:
      nr.command = expand_templates(st.run, tv);
      attempt = [&] { return tr->exec(nr.command, opts); };
      break;
    case Action::Fault:  // kill: SIGKILL to the unit's main process, in the guest
      nr.command = kill_unit_command(expand_templates(st.fault.unit, tv));
      attempt = [&] { return tr->exec(nr.command, opts); };
      break;
    case Action::Put: {
      const std::string path = expand_templates(st.put.path, tv);
      const std::string content =
          st.put.content_is_template ? expand_templates(st.put.content, tv) : st.put.content;
      FileAttributes attrs;
      attrs.mode = st.put.mode;
      attrs.owner = expand_templates(st.put.owner, tv);
      attrs.group = expand_templates(st.put.group, tv);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", attrs.mode);
      nr.command = "put " + path + " (mode " + mode +
                   (attrs.owner.empty() ? "" : ", owner " + attrs.owner) +
                   (attrs.group.empty() ? "" : ", group " + attrs.group) + ")";
      nr.input = content;
      attempt = [tr, content, path, attrs]() -> Expected<CommandResult> {
        if (auto ok = tr->put(content, path, attrs); !ok) return ok.error();
        return CommandResult{0, "", ""};
      };
      break;
    }
    case Action::Get: {
      const std::string path = expand_templates(st.get_path, tv);
      nr.command = "get " + path;
      attempt = [tr, path]() -> Expected<CommandResult> {
        auto content = tr->get(path);
        if (!content) return content.error();
        return CommandResult{0, *content, ""};
      };
      break;
    }
    case Action::WaitForPort: {
      // bash's /dev/tcp: needs nothing beyond bash on the node.
      const std::string host = expand_templates(st.wait.host, tv);
      nr.command = "timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1' " + shell_quote(host) + " " +
                   std::to_string(st.wait.port);
      opts.timeout = std::chrono::seconds(10);
      until = Until{std::chrono::seconds(1), st.wait.timeout};
      attempt = [&] { return tr->exec(nr.command, opts); };
      break;
    }
    case Action::WaitForUnit: {
      nr.command = "systemctl is-active " + shell_quote(expand_templates(st.wait.unit, tv));
      opts.timeout = std::chrono::seconds(10);
      until = Until{std::chrono::seconds(1), st.wait.timeout};
      attempt = [&] { return tr->exec(nr.command, opts); };
      break;
    }
    case Action::PkiIssue: {
      nr.command = "pki_issue to " + expand_templates(st.pki.path, tv);
      attempt = [&]() { return run_pki_issue(st.pki, tv, st.user, lab_.state(), *tr, redactor_, &nr.command); };
      break;
    }
    case Action::ExpectTls: {
      auto o = tls_probe_options(st.tls, tv, lab_.state(), tr.get(), sc.file.parent_path(),
                                 redactor_, &nr.command);
      if (!o) {
        if (nr.command.empty()) nr.command = "expect_tls " + expand_templates(st.tls.host, tv);
        nr.error = o.error().message;
        nr.failures.push_back("error: " + nr.error);
        finish(nr);
        return nr;
      }
      tls_options = std::move(*o);
      attempt = [&]() -> Expected<CommandResult> {
        auto r = probe_tls(tls_options);
        if (!r) return r.error();
        probed = *r;
        return CommandResult{r->handshake_ok ? 0 : 1, format_probe(*r), ""};
      };
      check = [&](const CommandResult&) { return check_tls(st.tls, tv, probed); };
      break;
    }
    default: break;
  }

  const std::string what = node_name + ": " + redactor_(st.name);
  for (;;) {
    ++nr.attempts;
    auto r = attempt();
    nr.failures.clear();
    nr.error.clear();
    if (r) {
      nr.exit_status = r->exit_status;
      nr.out = r->out;
      nr.err = r->err;
      nr.failures = check(*r);
    } else {
      nr.exit_status = -1;
      nr.out.clear();
      nr.err.clear();
      nr.error = r.error().message;
      nr.failures.push_back("error: " + r.error().message);
    }
    if (nr.failures.empty() || !until) break;
    if (g_interrupted) {
      nr.failures.push_back("until: interrupted after " + std::to_string(nr.attempts) + " attempts");
      break;
    }
    const auto elapsed = clock_.now() - start;
    if (elapsed >= until->timeout) {
      nr.failures.push_back("until: still failing after " + std::to_string(nr.attempts) +
                            " attempts in " + format_duration(until->timeout));
      break;
    }
    progress_.waiting(what, std::chrono::duration_cast<std::chrono::seconds>(elapsed),
                      std::chrono::duration_cast<std::chrono::seconds>(until->timeout));
    clock_.sleep_for(std::min<Clock::duration>(until->interval, until->timeout - elapsed));
  }
  finish(nr);
  // An error from the transport is not a mismatch: say it, keep `passed` false.
  nr.passed = nr.failures.empty();
  return nr;
}

void Runner::collect_diagnostics(NodeResult& nr) {
  // What a person inspecting the failure would look at first.
  auto t = transport(nr.node, "tux", false);
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"journalctl-etcd.txt", "sudo -n journalctl -u etcd --no-pager -n 1000 2>&1"},
      {"ip-addr.txt", "ip addr 2>&1"}};
  for (const auto& [file, command] : commands) {
    if (!t) {
      nr.diagnostics.emplace_back(file, "(not collected: " + t.error().message + ")\n");
      continue;
    }
    ExecOptions opts;
    opts.timeout = std::chrono::seconds(20);
    auto r = (*t)->exec(command, opts);
    nr.diagnostics.emplace_back(
        file, r ? "$ " + command + "\n" + r->out + r->err
                : "(not collected: " + r.error().message + ")\n");
  }
  const fs::path console = lab_.console_log(nr.node);
  if (!console.empty() && fs::exists(console))
    nr.diagnostics.emplace_back("console.log", read_file(console, 1 << 20));
}

}  // namespace dcslab
