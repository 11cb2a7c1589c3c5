// run, put, get, wait_for_port, wait_for_unit, reboot, relogin.
#include <cstdio>

#include "base/process.h"
#include "run/actions/actions.h"

namespace dcslab {

namespace {

std::string connect_as(const NodeStep& step) { return "connect as " + step.st.user; }

// nr.command polled on the node every second until the action's timeout, each try at
// most 10 s.
void poll(NodeStep& step, const std::shared_ptr<Transport>& tr, ExecOptions opts,
          std::chrono::milliseconds timeout) {
  opts.timeout = std::chrono::seconds(10);
  step.repeat([&] { return tr->exec(step.nr.command, opts); }, {},
              Until{std::chrono::seconds(1), timeout});
}

}  // namespace

void run_action(const RunSpec& spec, NodeStep& step) {
  auto tr = step.session(connect_as(step));
  if (!tr) return;
  const ExecOptions opts = step.prepare_attempts();
  step.nr.command = step.expand(spec.command);
  step.repeat([&] { return tr->exec(step.nr.command, opts); });
}

void run_action(const PutSpec& spec, NodeStep& step) {
  auto tr = step.session(connect_as(step));
  if (!tr) return;
  step.prepare_attempts();
  const std::string path = step.expand(spec.path);
  const std::string content = spec.content_is_template ? step.expand(spec.content) : spec.content;
  FileAttributes attrs;
  attrs.mode = spec.mode;
  attrs.owner = step.expand(spec.owner);
  attrs.group = step.expand(spec.group);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", attrs.mode);
  step.nr.command = "put " + path + " (mode " + mode +
                    (attrs.owner.empty() ? "" : ", owner " + attrs.owner) +
                    (attrs.group.empty() ? "" : ", group " + attrs.group) + ")";
  step.nr.input = content;
  step.repeat([&]() -> Expected<CommandResult> {
    if (auto ok = tr->put(content, path, attrs); !ok) return ok.error();
    return CommandResult{0, "", ""};
  });
}

void run_action(const GetSpec& spec, NodeStep& step) {
  auto tr = step.session(connect_as(step));
  if (!tr) return;
  step.prepare_attempts();
  const std::string path = step.expand(spec.path);
  step.nr.command = "get " + path;
  step.repeat([&]() -> Expected<CommandResult> {
    auto content = tr->get(path);
    if (!content) return content.error();
    return CommandResult{0, *content, ""};
  });
}

void run_action(const WaitForPortSpec& spec, NodeStep& step) {
  auto tr = step.session(connect_as(step));
  if (!tr) return;
  const ExecOptions opts = step.prepare_attempts();
  // bash's /dev/tcp: needs nothing beyond bash on the node.
  const std::string host = step.expand(spec.host);
  step.nr.command = "timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1' " + shell_quote(host) + " " +
                    std::to_string(spec.port);
  poll(step, tr, opts, spec.timeout);
}

void run_action(const WaitForUnitSpec& spec, NodeStep& step) {
  auto tr = step.session(connect_as(step));
  if (!tr) return;
  const ExecOptions opts = step.prepare_attempts();
  step.nr.command = "systemctl is-active " + shell_quote(step.expand(spec.unit));
  poll(step, tr, opts, spec.timeout);
}

// Through the provider; the LabControl drops the node's sessions (they die with it).
void run_action(const RebootSpec&, NodeStep& step) {
  step.nr.command = "reboot " + step.node + " (through the provider)";
  step.once(step.services.lab.reboot(step.node, step.services.progress), "reboot");
}

void run_action(const ReloginSpec&, NodeStep& step) {
  if (!step.session("relogin as " + step.st.user, true)) return;
  step.nr.command = "relogin as " + step.st.user + " (a fresh SSH session)";
  step.nr.attempts = 1;
  step.nr.exit_status = 0;
}

}  // namespace dcslab
