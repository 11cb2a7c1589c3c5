#include "run/actions/node_step.h"

#include <algorithm>

#include "base/interrupt.h"

namespace dcslab {

NodeStep::NodeStep(const StepServices& services, const Scenario& sc, const Step& st,
                   const std::string& node, const TemplateValues& tv,
                   const std::string& nodes_note, NodeResult& nr, bool* infra)
    : services(services),
      sc(sc),
      st(st),
      node(node),
      tv(tv),
      nodes_note(nodes_note),
      nr(nr),
      start(services.clock.now()),
      infra_(infra) {}

std::shared_ptr<Transport> NodeStep::session(const std::string& command, bool fresh) {
  auto t = services.lab.connect(node, st.user, fresh);
  if (t) return *t;
  if (!command.empty()) nr.command = command;
  fail("cannot connect to " + node + " as " + st.user + ": " + t.error().message);
  mark_infrastructure();
  return nullptr;
}

Expected<std::shared_ptr<Transport>> NodeStep::session_to(const std::string& other) const {
  return services.lab.connect(other, st.user, false);
}

void NodeStep::fail(const std::string& error) {
  nr.error = error;
  nr.failures.push_back("error: " + nr.error);
}

void NodeStep::once(const Expected<void>& done, const std::string& what) {
  nr.attempts = 1;
  if (!done) {
    nr.error = done.error().message;
    nr.failures.push_back(what + ": " + done.error().message);
  } else {
    nr.exit_status = 0;
  }
}

void NodeStep::record(const char* action, const Expected<CommandResult>& r, std::vector<std::string> failures) {
  if (!r) {
    nr.exit_status = -1;
    fail(r.error().message);
    return;
  }
  nr.exit_status = r->exit_status;
  nr.out = r->out;
  nr.err = r->err;
  if (r->exit_status != 0 && failures.empty())
    failures.push_back(std::string(action) + ": " + r->err.substr(0, r->err.find('\n')));
  nr.failures = std::move(failures);
}

ExecOptions NodeStep::prepare_attempts() {
  expect_ = Expectation{};
  expect_.exit = st.expect.exit;
  for (const auto& m : st.expect.out) expect_.out.push_back(dcslab::expand(m, tv));
  for (const auto& m : st.expect.err) expect_.err.push_back(dcslab::expand(m, tv));
  ExecOptions opts;
  opts.timeout = st.timeout;
  opts.output_limit = st.output_limit;
  // Ctrl-C or SIGTERM stops the command on the node now, not at the step's timeout, so
  // the reports of what ran are written while CI still waits for them.
  opts.cancelled = [] { return g_interrupted.load(); };
  opts.stdin_data = expand(st.stdin_data);
  for (const auto& p : st.prompts) opts.prompts.push_back({expand(p.expect), expand(p.answer)});
  opts.pty = st.pty || !opts.prompts.empty();
  for (const auto& [k, v] : st.env) opts.env.emplace_back(k, expand(v));
  return opts;
}

void NodeStep::repeat(const Attempt& attempt, const Check& check) {
  repeat(attempt, check, st.until);
}

void NodeStep::repeat(const Attempt& attempt, const Check& check,
                      const std::optional<Until>& until) {
  Clock& clock = services.clock;
  const std::string what = node + ": " + services.redactor(st.name);
  for (;;) {
    ++nr.attempts;
    auto r = attempt();
    nr.failures.clear();
    nr.error.clear();
    if (r) {
      nr.exit_status = r->exit_status;
      nr.out = r->out;
      nr.err = r->err;
      nr.out_dropped = r->out_dropped;
      nr.err_dropped = r->err_dropped;
      nr.failures = check ? check(*r) : evaluate(expect_, *r);
    } else {
      nr.exit_status = -1;
      nr.out.clear();
      nr.err.clear();
      nr.out_dropped = nr.err_dropped = 0;
      fail(r.error().message);
    }
    if (nr.failures.empty() || !until) break;
    if (g_interrupted) {
      nr.failures.push_back("until: interrupted after " + std::to_string(nr.attempts) + " attempts");
      break;
    }
    const auto elapsed = clock.now() - start;
    if (elapsed >= until->timeout) {
      nr.failures.push_back("until: still failing after " + std::to_string(nr.attempts) +
                            " attempts in " + format_duration(until->timeout));
      break;
    }
    services.progress.waiting(what, std::chrono::duration_cast<std::chrono::seconds>(elapsed),
                              std::chrono::duration_cast<std::chrono::seconds>(until->timeout));
    clock.sleep_for(std::min<Clock::duration>(until->interval, until->timeout - elapsed));
  }
}

}  // namespace dcslab
