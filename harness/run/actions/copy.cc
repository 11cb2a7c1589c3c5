// copy, over run/copy_steps.h: it reaches the nodes it names (which need not be the
// step's), each through the lab's sessions as the step's user.
#include "run/actions/actions.h"
#include "run/copy_steps.h"

namespace dcslab {

void run_action(const CopySpec& spec, NodeStep& step) {
  step.nr.attempts = 1;
  bool unreachable = false;
  auto r = run_copy(
      spec, step.tv, step.st.user, [&](const std::string& n) { return step.session_to(n); },
      step.services.redactor, &step.nr.command, &unreachable);
  if (!r) {
    step.fail(r.error().message);
    if (unreachable) step.mark_infrastructure();
    return;
  }
  step.nr.exit_status = 0;
  step.nr.out = r->out;
}

}  // namespace dcslab
