// pg_writer and check_pg_writes, over run/pg_writer_steps.h: they talk to PostgreSQL and
// Patroni's REST API from dcslab, with no session on the step's node.
#include "run/actions/actions.h"

namespace dcslab {

namespace {

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

void run_action(const PgWriterSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  if (!step.services.pg_writers) {
    step.fail("pg_writer: this runner has no PostgreSQL writers");
    return;
  }
  PgWriters& writers = *step.services.pg_writers;
  if (spec.op == PgWriterSpec::Op::Stop) {
    record(step, spec.info.key, writers.stop(spec, &step.nr.command), {});
    return;
  }
  record(step, spec.info.key,
         writers.start(spec, step.tv, step.services.redactor, &step.nr.command), {});
}

void run_action(const CheckPgWritesSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  if (!step.services.pg_writers) {
    step.fail("check_pg_writes: this runner has no PostgreSQL writers");
    return;
  }
  std::vector<std::string> failures;
  auto r = step.services.pg_writers->check(spec, step.sc.name, step.services.artifacts_dir,
                                           step.services.redactor, &step.nr.command, &failures);
  record(step, spec.info.key, r, std::move(failures));
}

}  // namespace dcslab
