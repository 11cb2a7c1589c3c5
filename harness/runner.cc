#include "runner.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "error.h"
#include "lab_ops.h"  // g_interrupted
#include "pki_steps.h"
#include "process.h"

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

std::string generate_secret(int length) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  while (static_cast<int>(s.size()) < length) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof buf) != 1) throw Fatal("cannot generate a secret: RAND_bytes failed");
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 62 * 4: keeps the choice uniform
      s += alphabet[b % 62];
      if (static_cast<int>(s.size()) == length) break;
    }
  }
  return s;
}

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
      options_(options) {}

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

ScenarioResult Runner::not_run(const Scenario& sc, const std::string& why) {
  ScenarioResult res;
  res.name = sc.name;
  res.description = sc.description;
  res.file = sc.file.string();
  res.lab = sc.lab.name;
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
  res.lab = sc.lab.name;
  res.started_at = utc_now_iso();
  const auto secrets = resolve_secrets(sc, lab_.state(), redactor_);
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
  res.passed = !failed;
  res.seconds = seconds_between(start, clock_.now());
  if (res.passed) lab_.state().set("passed:" + sc.name, res.started_at);
  for (auto* r : reporters_) r->scenario_finished(res);
  return res;
}

StepResult Runner::run_step(const Scenario& sc, const Step& st, int index,
                            const std::map<std::string, std::string>& secrets, bool* infra) {
  StepResult sr;
  sr.index = index;
  sr.action = action_name(st.action);
  TemplateValues first{&sc.lab, sc.lab.find_node(st.on.front()), &sc.vars, &secrets};
  sr.name = redactor_(expand_templates(st.name, first));
  sr.expected = redactor_(describe_expectation(st.expect));
  sr.nodes.resize(st.on.size());
  std::vector<char> node_infra(st.on.size(), 0);
  if (st.on.size() == 1) {
    bool f = false;
    sr.nodes[0] = run_on_node(sc, st, st.on[0], secrets, &f);
    node_infra[0] = f;
  } else {
    // One thread per node, each with its own transport: the nodes of a lab are
    // independent machines, and a three-node step should take as long as one.
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < st.on.size(); ++i)
      threads.emplace_back([&, i] {
        bool f = false;
        try {
          sr.nodes[i] = run_on_node(sc, st, st.on[i], secrets, &f);
        } catch (const std::exception& e) {
          sr.nodes[i].node = st.on[i];
          sr.nodes[i].error = e.what();
          sr.nodes[i].failures.push_back(std::string("error: ") + e.what());
        }
        node_infra[i] = f;
      });
    for (auto& t : threads) t.join();
  }
  sr.passed = true;
  for (std::size_t i = 0; i < sr.nodes.size(); ++i) {
    if (node_infra[i]) *infra = true;
    if (!sr.nodes[i].passed) {
      sr.passed = false;
      if (options_.collect_diagnostics && !node_infra[i]) collect_diagnostics(sr.nodes[i]);
    }
    sr.nodes[i] = record(std::move(sr.nodes[i]));
  }
  return sr;
}

NodeResult Runner::run_on_node(const Scenario& sc, const Step& st, const std::string& node_name,
                               const std::map<std::string, std::string>& secrets, bool* infra) {
  NodeResult nr;
  nr.node = node_name;
  nr.user = st.user;
  const Node* node = sc.lab.find_node(node_name);
  const TemplateValues tv{&sc.lab, node, &sc.vars, &secrets};
  const auto start = clock_.now();
  auto finish = [&](NodeResult& r) {
    r.seconds = seconds_between(start, clock_.now());
    r.passed = r.failures.empty() && r.error.empty();
  };

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
