#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/) on the VM path: three QEMU VMs (TCG on
# these hosts) under a private libvirtd, in a network namespace dcslab creates. The suite
# and its checks are those of seed_nspawn.sh (tests/e2e/lib.sh: seed_suite_checks).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip iptables python3

name=e2e-seedvm
E2E_LAB=$(make_lab "$name" libvirt)
out=$(mktemp -d)
cleanup() {
  "$DCSLAB" --lab "$E2E_LAB" down >/dev/null 2>&1 || true
  rm -rf "$E2E_LAB" "$out"
}
trap cleanup EXIT
"$DCSLAB" --lab "$E2E_LAB" down >/dev/null 2>&1 || true
"$DCSLAB" image build >/dev/null
seed_suite_checks libvirt "$name" "$out"
echo "PASS seed_libvirt"
