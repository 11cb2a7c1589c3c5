// writer, watcher and check_writes, over run/writer_steps.h: they talk to etcd from dcslab, with a
// session only to read (or sign) the TLS files on the node.
#include "run/actions/actions.h"

namespace dcslab {

void run_action(const WriterSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  Writers& writers = step.services.writers;
  if (spec.op == WriterSpec::Op::Stop) {
    step.record(spec.info.key, writers.stop(spec, &step.nr.command), {});
    return;
  }
  std::shared_ptr<Transport> tr;
  if (writer_needs_transport(spec)) {
    tr = step.session("connect as " + step.st.user);
    if (!tr) return;
  }
  step.record(spec.info.key,
         writers.start(spec, step.tv, step.services.lab.state(), tr.get(),
                       step.sc.file.parent_path(), step.services.redactor, &step.nr.command),
         {});
}

void run_action(const WatcherSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  Writers& writers = step.services.writers;
  if (spec.op == WatcherSpec::Op::Stop) step.record(spec.info.key, writers.stop_watcher(spec, &step.nr.command), {});
  else step.record(spec.info.key, writers.start_watcher(spec, &step.nr.command), {});
}

void run_action(const CheckWritesSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  std::vector<std::string> failures;
  auto r = step.services.writers.check(spec, step.sc.name, step.services.artifacts_dir,
                                       step.services.redactor, &step.nr.command, &failures);
  step.record(spec.info.key, r, std::move(failures));
}

}  // namespace dcslab
