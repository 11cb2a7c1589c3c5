#!/usr/bin/env bash
# The seed's three-node lab on libvirt: real QEMU VMs (TCG here: KVM hangs on these hosts)
# under a private libvirtd, all inside a network namespace that dcslab creates for the lab.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip iptables
lab_up_checks libvirt e2e-libvirt libvirt-domain
echo "PASS libvirt_up"
