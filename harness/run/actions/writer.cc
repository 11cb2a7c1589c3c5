// writer, watcher and check_writes, over run/writer_steps.h: they talk to etcd from dcslab, with a
// session only to read (or sign) the TLS files on the node.
#include "run/actions/actions.h"

namespace dcslab {

namespace {

// What the writers answered: the result, or the error.
void record(NodeStep& step, const char* action, const Expected<CommandResult>& r,
            std::vector<std::string> failures) {
  NodeResult& nr = step.nr;
  if (!r) {
    nr.exit_status = -1;
    step.fail(r.error().message);
    return;
  }
  nr.exit_status = r->exit_status;
  nr.out = r->out;
  nr.err = r->err;
  if (r->exit_status != 0 && failures.empty())
    failures.push_back(std::string(action) + ": " + r->err.substr(0, r->err.find('\n')));
  nr.failures = std::move(failures);
}

}  // namespace

void run_action(const WriterSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  Writers& writers = step.services.writers;
  if (spec.op == WriterSpec::Op::Stop) {
    record(step, spec.info.key, writers.stop(spec, &step.nr.command), {});
    return;
  }
  std::shared_ptr<Transport> tr;
  if (writer_needs_transport(spec)) {
    tr = step.session("connect as " + step.st.user);
    if (!tr) return;
  }
  record(step, spec.info.key,
         writers.start(spec, step.tv, step.services.lab.state(), tr.get(),
                       step.sc.file.parent_path(), step.services.redactor, &step.nr.command),
         {});
}

void run_action(const WatcherSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  Writers& writers = step.services.writers;
  if (spec.op == WatcherSpec::Op::Stop) record(step, spec.info.key, writers.stop_watcher(spec, &step.nr.command), {});
  else record(step, spec.info.key, writers.start_watcher(spec, &step.nr.command), {});
}

void run_action(const CheckWritesSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  std::vector<std::string> failures;
  auto r = step.services.writers.check(spec, step.sc.name, step.services.artifacts_dir,
                                       step.services.redactor, &step.nr.command, &failures);
  record(step, spec.info.key, r, std::move(failures));
}

}  // namespace dcslab
