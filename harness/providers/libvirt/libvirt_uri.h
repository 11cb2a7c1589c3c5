// What a lab's libvirt connection URI may be. dcslab drives the libvirt of the machine it
// runs on: the image, kernel and identity disks are local files and the nodes' network
// must be in dcslab's own network namespace, so a URI naming another machine is refused
// when the lab is checked, before anything is created (docs/REMOTE.md).
#pragma once

#include <string>

#include "lab/lab.h"

namespace dcslab {

// A libvirt URI that reaches another machine: a host part (qemu+ssh://host/system) or a
// network transport (+ssh, +tcp, +tls, +libssh, +libssh2). qemu:///system,
// qemu+unix:///...?socket=... and test:///default are local.
bool libvirt_uri_is_remote(const std::string& uri);

// The libvirt provider's check of a lab's provider section (the provider registry's):
// throws BadInput at provider.uri's file:line:col for a remote URI.
void check_libvirt_provider_section(const Lab& lab);

}  // namespace dcslab
