#include "lab/netns.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/fd.h"
#include "base/process.h"

namespace dcslab {

namespace {
std::filesystem::path netns_path(const std::string& name) { return "/run/netns/" + name; }
}  // namespace

// iproute2 owns the /run/netns conventions (the shared bind mount of /run/netns), so
// namespaces made here are the ones `ip netns exec` and `ip -n` see, and vice versa.
Expected<void> netns_create(const std::string& name) {
  if (netns_exists(name)) return Failure::refused("network namespace " + name + " already exists");
  DCSLAB_TRY(run_checked({"ip", "netns", "add", name}));
  DCSLAB_TRY(run_checked({"ip", "-n", name, "link", "set", "lo", "up"}));
  return {};
}

Expected<void> netns_enter(const std::string& name) {
  const Fd fd(::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return Failure::not_found("network namespace " + name + " not found (" + strerror(errno) + ")");
  if (::setns(fd.get(), CLONE_NEWNET) != 0)
    return Failure::error("cannot enter network namespace " + name + ": " + strerror(errno));
  return {};
}

Expected<void> netns_delete(const std::string& name) {
  if (!netns_exists(name)) return {};
  DCSLAB_TRY(run_checked({"ip", "netns", "delete", name}));
  return {};
}

bool netns_exists(const std::string& name) { return std::filesystem::exists(netns_path(name)); }

bool lab_network_is_local(const Lab& lab) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    found = ntohl(in->sin_addr.s_addr) == lab.network.host.value;
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace dcslab
