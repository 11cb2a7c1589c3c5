// The scenario actions on the lab PKI: pki_issue (certificates pushed to a node) and
// expect_tls (a TLS connection and what it must show). The runner calls these per node;
// they are apart from runner.cc so the runner stays about running steps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "lab/lab.h"
#include "base/redact.h"
#include "scenario/scenario.h"
#include "lab/state.h"
#include "scenario/template.h"
#include "tls/tls_probe.h"
#include "ssh/transport.h"

namespace dcslab {

// Issues (or reuses) the node's certificate in the lab PKI and puts ca.crt, <host>.crt
// and <host>.key (and ca.key if asked) in spec.path on the node, as `user`. Every key it
// reads is added to `redactor` first. *command gets a description for reports; the
// result's out lists what was put (never key material).
Expected<CommandResult> run_pki_issue(const PkiIssueSpec& spec, const TemplateValues& tv,
                                      const std::string& user, LabState& state,
                                      Transport& transport, Redactor& redactor,
                                      std::string* command);

// Whether the step reads a CA or client certificate from the node ("node:/path").
bool tls_needs_transport(const TlsSpec& spec);

// The probe's options: host (a node's name means its address), CA, client certificate
// and key from the lab PKI, local files (relative to `scenario_dir`) or the node.
// Keys are added to `redactor`. *command gets a description for reports.
Expected<TlsProbeOptions> tls_probe_options(const TlsSpec& spec, const TemplateValues& tv,
                                            LabState& state, Transport* transport,
                                            const std::filesystem::path& scenario_dir,
                                            Redactor& redactor, std::string* command);

// What did not hold ("handshake: expected ok, observed fail (tlsv13 alert ...)").
std::vector<std::string> check_tls(const TlsSpec& spec, const TemplateValues& tv,
                                   const TlsProbeResult& result);

}  // namespace dcslab
