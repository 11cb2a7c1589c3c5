// A step's `when:` guard: "etcd >= 3.5". The step runs on a node only where the guard
// holds for the etcd that node has; elsewhere it is reported as skipped.
//
// The version is the one observed on the node (etcd_version_probe()): the installed
// etcd-server package's upstream version (no epoch, no Debian revision), or, when
// etcd-server is not installed, apt's candidate version (`apt-cache policy`), which is
// what the lab document's `apt install` would install; before the node's first
// `apt update` (no lists, no candidate), the version in the image's local repository.
//
// Versions compare numerically by component, at the guard's precision: the observed
// version is cut to as many components as the guard names, so 3.5.16 == 3.5 holds,
// 3.4.23 <= 3.4 holds and > 3.5 means 3.6 or later. To compare patch levels, write
// them (>= 3.5.16).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace dcslab {

enum class VersionOp { Eq, Ne, Lt, Le, Gt, Ge };
const char* version_op_text(VersionOp op);

// "3", "3.5", "3.4.23": digits separated by dots, at most 4 components.
std::optional<std::vector<int>> parse_version(const std::string& text);

// <0, 0, >0 as `a` is below, equal to or above `b`, comparing only the first
// `precision` components (a missing component counts as 0).
int compare_versions(const std::vector<int>& a, const std::vector<int>& b, std::size_t precision);

struct VersionGuard {
  std::string subject = "etcd";  // the only one so far
  VersionOp op = VersionOp::Ge;
  std::vector<int> version;
  std::string text;              // as written, trimmed
  bool holds(const std::vector<int>& observed) const;
};

// A guard, or an error message and the offset in `text` it is about.
struct VersionGuardError {
  std::string message;
  std::size_t offset = 0;
};
std::optional<VersionGuard> parse_version_guard(const std::string& text, VersionGuardError* error);

// "1:3.4.23-4+b5" -> "3.4.23" (no epoch, no Debian revision).
std::string upstream_version(const std::string& debian_version);

// What a node runs to tell its etcd version (one command, parsed by
// parse_etcd_version_probe): dpkg's status and version of etcd-server, apt's policy, and
// the version in the image's local repository (/var/local/dcslab-repo).
const std::string& etcd_version_probe();

struct ObservedVersion {
  std::string version;  // upstream, e.g. 3.4.23
  std::string source;   // "installed", "apt candidate" or "local repository"
};
// NotFound when etcd-server is neither installed, nor available to apt, nor in the
// image's local repository.
Expected<ObservedVersion> parse_etcd_version_probe(const std::string& output);

}  // namespace dcslab
