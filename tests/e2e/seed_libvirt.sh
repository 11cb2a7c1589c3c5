#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/) on the VM path: three QEMU VMs (TCG on
# these hosts) under a private libvirtd, in a network namespace dcslab creates. The suite
# and its checks are seed_suite_checks' (tests/e2e/lib.sh).
# The same run goes on with scenarios/faults/leader-crash.yaml on the seed's cluster:
# the leader loses power, the survivors' etcd journals time the election against
# its bound under emulated CPUs, and the writer's history must be linearizable with
# no acknowledged write lost. The run is one cell of `run --matrix` (suite=bookworm): the
# matrix's path on VMs (the cell's own lab, its JUnit testsuite and table) at no extra
# cost; matrix_nspawn.sh runs both suites' cells on containers.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip iptables python3

name=e2e-seedvm
e2e_lab "$name" libvirt
SEED_MATRIX=suite=bookworm seed_suite_checks libvirt "$name" "$out" faults/leader-crash.yaml leader-crash
grep -E 'new leader dcs-0[0-2] after [0-9]+ ms' "$out/seed.md" | head -n2
grep -qE 'new leader dcs-0[0-2] after [0-9]+ ms' "$out/seed.md" ||
  fail "the transcript does not show the survivors' election time"
echo "PASS seed_libvirt"
