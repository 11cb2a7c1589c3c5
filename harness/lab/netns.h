// Network namespaces. Lab traffic (192.168.56.0/24 by default) must stay inside a
// namespace the run created itself: tests and CI always run labs isolated, and the harness
// refuses to wait for SSH on an address whose network is not in its own namespace.
#pragma once

#include <string>

#include "base/error.h"
#include "lab/lab.h"

namespace dcslab {

// Creates the named namespace as `ip netns add` does (a bind mount of the namespace at
// /run/netns/NAME) with loopback up. Fails if it exists.
Expected<void> netns_create(const std::string& name);
// Moves the calling thread (call it before starting any other thread) into the named
// namespace.
Expected<void> netns_enter(const std::string& name);
Expected<void> netns_delete(const std::string& name);
bool netns_exists(const std::string& name);

// True when an interface in the current namespace holds `lab.network.host` — the lab
// network was created (or found) here, so traffic to node addresses stays on it.
bool lab_network_is_local(const Lab& lab);

}  // namespace dcslab
