#include "scenario/version_guard.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "base/text.h"

namespace dcslab {

const char* version_op_text(VersionOp op) {
  switch (op) {
    case VersionOp::Eq: return "==";
    case VersionOp::Ne: return "!=";
    case VersionOp::Lt: return "<";
    case VersionOp::Le: return "<=";
    case VersionOp::Gt: return ">";
    case VersionOp::Ge: return ">=";
  }
  return "?";
}

std::optional<std::vector<int>> parse_version(const std::string& text) {
  std::vector<int> parts;
  std::size_t i = 0;
  while (true) {
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 6) return std::nullopt;
    parts.push_back(std::stoi(text.substr(start, i - start)));
    if (i == text.size()) break;
    if (text[i] != '.') return std::nullopt;
    ++i;
  }
  if (parts.size() > 4) return std::nullopt;
  return parts;
}

int compare_versions(const std::vector<int>& a, const std::vector<int>& b, std::size_t precision) {
  for (std::size_t i = 0; i < precision; ++i) {
    const int x = i < a.size() ? a[i] : 0;
    const int y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool VersionGuard::holds(const std::vector<int>& observed) const {
  const int c = compare_versions(observed, version, version.size());
  switch (op) {
    case VersionOp::Eq: return c == 0;
    case VersionOp::Ne: return c != 0;
    case VersionOp::Lt: return c < 0;
    case VersionOp::Le: return c <= 0;
    case VersionOp::Gt: return c > 0;
    case VersionOp::Ge: return c >= 0;
  }
  return false;
}

std::optional<VersionGuard> parse_version_guard(const std::string& text, VersionGuardError* error) {
  auto fail = [&](std::size_t offset, std::string message) -> std::optional<VersionGuard> {
    if (error) *error = {std::move(message), offset};
    return std::nullopt;
  };
  const std::string example = " (e.g. \"etcd >= 3.5\")";
  auto skip_space = [&](std::size_t i) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    return i;
  };
  std::size_t i = skip_space(0);
  // The subject: a word.
  const std::size_t subject_at = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' ||
                             text[i] == '-'))
    ++i;
  const std::string subject = text.substr(subject_at, i - subject_at);
  if (subject.empty())
    return fail(subject_at, "expected SUBJECT OPERATOR VERSION" + example);
  if (subject != "etcd")
    return fail(subject_at, "unknown subject \"" + subject + "\" (valid: etcd)");
  // The operator: the longest of ==, !=, <=, >=, <, >.
  i = skip_space(i);
  const std::size_t op_at = i;
  VersionGuard g;
  g.subject = subject;
  auto next = [&](std::size_t k) { return k < text.size() ? text[k] : '\0'; };
  const char c0 = next(i), c1 = next(i + 1);
  if (c0 == '=' && c1 == '=') g.op = VersionOp::Eq, i += 2;
  else if (c0 == '!' && c1 == '=') g.op = VersionOp::Ne, i += 2;
  else if (c0 == '<' && c1 == '=') g.op = VersionOp::Le, i += 2;
  else if (c0 == '>' && c1 == '=') g.op = VersionOp::Ge, i += 2;
  else if (c0 == '<') g.op = VersionOp::Lt, i += 1;
  else if (c0 == '>') g.op = VersionOp::Gt, i += 1;
  else {
    std::size_t end = i;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
           !std::isdigit(static_cast<unsigned char>(text[end])))
      ++end;
    const std::string found = text.substr(i, end - i);
    return fail(op_at, (found.empty() ? std::string("expected an operator")
                                      : "\"" + found + "\" is not an operator") +
                           " (valid: ==, !=, <, <=, >, >=)");
  }
  // The version: the rest, up to trailing space.
  i = skip_space(i);
  const std::size_t version_at = i;
  std::size_t end = text.size();
  while (end > i && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  const std::string version = text.substr(i, end - i);
  if (version.empty()) return fail(version_at, "expected a version after " + std::string(version_op_text(g.op)) + example);
  auto parts = parse_version(version);
  if (!parts)
    return fail(version_at, "\"" + version +
                                "\" is not a version (digits separated by dots, e.g. 3.5 or 3.4.23)");
  g.version = *parts;
  g.text = g.subject + " " + version_op_text(g.op) + " " + version;
  return g;
}

std::string upstream_version(const std::string& debian_version) {
  std::string v = debian_version;
  if (const auto colon = v.find(':'); colon != std::string::npos) v = v.substr(colon + 1);
  if (const auto dash = v.rfind('-'); dash != std::string::npos) v = v.substr(0, dash);
  // A Debian upstream version may carry +ds, ~rc1 and the like after the number.
  const auto end = v.find_first_not_of("0123456789.");
  if (end != std::string::npos) v = v.substr(0, end);
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v;
}

const std::string& etcd_version_probe() {
  // One round trip. dpkg's abbreviated status: the second letter is the package's state
  // (i installed, n not installed, c only config files left, ...). Before the node's
  // first `apt update` apt has no lists and no candidate; the image's local repository
  // (images/build-rootfs) holds what that update would offer.
  static const std::string probe =
      "dpkg-query -W -f='dpkg: ${db:Status-Abbrev}|${Version}\\n' etcd-server 2>/dev/null; "
      "LC_ALL=C apt-cache policy etcd-server 2>/dev/null; "
      "awk '/^Package: /{p=($2==\"etcd-server\")} p&&/^Version: /{print \"repo: \"$2}' "
      "/var/local/dcslab-repo/Packages 2>/dev/null; true";
  return probe;
}

Expected<ObservedVersion> parse_etcd_version_probe(const std::string& output) {
  std::istringstream in(output);
  std::string installed, candidate, repo;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("dpkg: ", 0) == 0) {
      const std::string rest = line.substr(6);
      const auto bar = rest.find('|');
      if (bar == std::string::npos || bar < 2) continue;
      // Files of this version are on disk: installed, or unpacked / half-configured /
      // awaiting triggers.
      const char state = rest[1];
      if (std::string("iuftw").find(state) != std::string::npos) installed = rest.substr(bar + 1);
      continue;
    }
    if (line.rfind("repo: ", 0) == 0) {
      repo = line.substr(6);
      continue;
    }
    const auto at = line.find("Candidate:");
    if (at == std::string::npos) continue;
    std::string v = line.substr(at + 10);
    v.erase(0, v.find_first_not_of(' '));
    v = rtrim(v);
    if (v != "(none)") candidate = v;
  }
  auto make = [](const std::string& deb, const char* source) -> Expected<ObservedVersion> {
    const std::string up = upstream_version(deb);
    if (!parse_version(up))
      return Failure::error("cannot read the etcd-server version \"" + deb + "\" (" + source + ")");
    return ObservedVersion{up, source};
  };
  if (!installed.empty()) return make(installed, "installed");
  if (!candidate.empty()) return make(candidate, "apt candidate");
  if (!repo.empty()) return make(repo, "local repository");
  return Failure::not_found(
      "etcd-server is neither installed, nor available to apt, nor in /var/local/dcslab-repo");
}

}  // namespace dcslab
