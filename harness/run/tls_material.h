// The TLS material a step names, read once for every step that names it (expect_tls,
// writer), so they accept the same words and fail alike:
//   lab          the lab PKI's CA (<lab state>/pki/ca.crt; a CA only)
//   none         nothing: the server is not verified (a CA only)
//   node:/path   read through a session to the step's node
//   a path       a local file, relative to the scenario's folder
#pragma once

#include <filesystem>
#include <string>

#include "base/error.h"
#include "base/redact.h"
#include "lab/state.h"
#include "ssh/transport.h"
#include "tls/https_client.h"

namespace dcslab {

// Where the files are read from.
struct TlsFiles {
  const LabState& state;
  Transport* transport;                // null: a node:/ source cannot be read
  std::filesystem::path scenario_dir;  // what a relative local path is relative to

  // A local source as a path (relative ones under scenario_dir).
  std::filesystem::path local(const std::string& source) const;
  // The text of a node:/ or local source.
  Expected<std::string> read(const std::string& source) const;
};

// "node:/path": read on the step's node.
bool on_node(const std::string& source);
// A local file's text.
Expected<std::string> read_local_file(const std::filesystem::path& file);

// The CA (lab | none | node:/path | a file) and a client certificate and key (files,
// both or neither; empty: none), as PEM. The key goes to `redactor` before anything
// could print it.
Expected<TlsClientConfig> read_tls_material(const std::string& ca, const std::string& cert,
                                            const std::string& key, const TlsFiles& files,
                                            Redactor& redactor);

}  // namespace dcslab
