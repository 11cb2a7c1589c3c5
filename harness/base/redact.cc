#include "base/redact.h"

#include <algorithm>

namespace dcslab {

void Redactor::add(const std::string& secret) {
  if (secret.empty()) return;
  std::lock_guard lock(mu_);
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(secret);
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

bool Redactor::empty() const {
  std::lock_guard lock(mu_);
  return secrets_.empty();
}

std::string Redactor::operator()(std::string_view text) const {
  std::lock_guard lock(mu_);
  std::string out(text);
  for (const auto& s : secrets_) {
    std::size_t pos = 0;
    while ((pos = out.find(s, pos)) != std::string::npos) {
      out.replace(pos, s.size(), kRedacted);
      pos += std::char_traits<char>::length(kRedacted);
    }
  }
  return out;
}

}  // namespace dcslab
