// pki_issue and expect_tls, over run/pki_steps.h.
#include "run/actions/actions.h"
#include "run/pki_steps.h"

namespace dcslab {

void run_action(const PkiIssueSpec& spec, NodeStep& step) {
  auto tr = step.session("connect as " + step.st.user);
  if (!tr) return;
  step.prepare_attempts();
  step.nr.command = "pki_issue to " + step.expand(spec.path);
  step.repeat([&] {
    return run_pki_issue(spec, step.tv, step.st.user, step.services.lab.state(), *tr,
                         step.services.redactor, &step.nr.command);
  });
}

// From here, not from the node: a session only to read files there.
void run_action(const TlsSpec& spec, NodeStep& step) {
  std::shared_ptr<Transport> tr;
  if (tls_needs_transport(spec)) {
    tr = step.session("connect as " + step.st.user);
    if (!tr) return;
  }
  step.prepare_attempts();
  auto options = tls_probe_options(spec, step.tv, step.services.lab.state(), tr.get(),
                                   step.sc.file.parent_path(), step.services.redactor,
                                   &step.nr.command);
  if (!options) {
    if (step.nr.command.empty()) step.nr.command = "expect_tls " + step.expand(spec.host);
    step.fail(options.error().message);
    return;
  }
  TlsProbeResult probed;
  step.repeat(
      [&]() -> Expected<CommandResult> {
        auto r = probe_tls(*options);
        if (!r) return r.error();
        probed = *r;
        return CommandResult{r->handshake_ok ? 0 : 1, format_probe(*r), ""};
      },
      [&](const CommandResult&) { return check_tls(spec, step.tv, probed); });
}

}  // namespace dcslab
