#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/) on the VM path: three QEMU VMs (TCG on
# these hosts) under a private libvirtd, in a network namespace dcslab creates. The suite
# and its checks are those of seed_nspawn.sh (tests/e2e/lib.sh: seed_suite_checks).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip iptables python3

name=e2e-seedvm
e2e_lab "$name" libvirt
seed_suite_checks libvirt "$name" "$out"
echo "PASS seed_libvirt"
