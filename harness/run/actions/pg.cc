// pg_writer and check_pg_writes, over run/pg_writer_steps.h: they talk to PostgreSQL and
// Patroni's REST API from dcslab, with no session on the step's node.
#include "run/actions/actions.h"

namespace dcslab {

void run_action(const PgWriterSpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  if (!step.services.pg_writers) {
    step.fail("pg_writer: this runner has no PostgreSQL writers");
    return;
  }
  PgWriters& writers = *step.services.pg_writers;
  if (spec.op == PgWriterSpec::Op::Stop) {
    step.record(spec.info.key, writers.stop(spec, &step.nr.command), {});
    return;
  }
  step.record(spec.info.key,
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
  step.record(spec.info.key, r, std::move(failures));
}

}  // namespace dcslab
