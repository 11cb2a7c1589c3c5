// What a lab's libvirt connection URI may be. dcslab drives the libvirt of the machine it
// runs on: the image, kernel and identity disks are local files and the nodes' network
// must be in dcslab's own network namespace, so a URI naming another machine is refused
// when the lab is checked, before anything is created (docs/REMOTE.md).
#pragma once

#include <optional>
#include <string>

#include "base/process.h"
#include "lab/lab.h"

namespace dcslab {

// A libvirt URI that reaches another machine: a host part (qemu+ssh://host/system) or a
// network transport (+ssh, +tcp, +tls, +libssh, +libssh2). qemu:///system,
// qemu+unix:///...?socket=... and test:///default are local.
bool libvirt_uri_is_remote(const std::string& uri);

// Where the local QEMU driver behind `uri` writes a running domain's pid file
// (<state dir>/<domain>.pid): /run/libvirt/qemu for qemu:///system, the folder of the
// socket's for a daemon reached through ?socket= (a private libvirtd's run/ is its
// /run/libvirt), $XDG_RUNTIME_DIR/libvirt/qemu/run for qemu:///session; "" for a URI
// whose QEMU processes are not on this host's /proc (test:///, another driver).
std::string libvirt_qemu_pidfile(const std::string& uri, const std::string& domain);

// The QEMU process of `domain`, from its pid file, when that process's command line
// names the domain (-name guest=<domain>,...): a stale pid file's pid may be anyone's
// by now.
std::optional<ProcessId> libvirt_qemu_process(const std::string& pidfile, const std::string& domain);

// The libvirt provider's check of a lab's provider section (the provider registry's):
// throws BadInput at provider.uri's file:line:col for a remote URI.
void check_libvirt_provider_section(const Lab& lab);

}  // namespace dcslab
