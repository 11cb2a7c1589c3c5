// Secrets never reach a report. The runner passes everything it records (commands,
// observed output, expectation messages, diagnostics) through one Redactor before any
// reporter sees it, so no reporter can forget to redact.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dcslab {

inline constexpr const char* kRedacted = "********";

class Redactor {
 public:
  // Registers a secret value; empty values are ignored (they would match everywhere).
  void add(const std::string& secret);
  // `text` with every occurrence of every secret replaced by ********. Longer secrets
  // are replaced first, so a secret that contains another is redacted whole.
  std::string operator()(std::string_view text) const;
  bool empty() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> secrets_;  // longest first
};

}  // namespace dcslab
