#!/usr/bin/env bash
# Booted templates on libvirt (issue 18): `up` restores every node from the image's
# template (booting it once if the image has none) and gives each its own identity
# through the guest agent; clones never share random state or a machine-id; a restored
# node cold-boots after a crash; a template that does not fit is not used: up says why
# and boots cold.
# Every up is --isolated: the lab lives in a network namespace dcslab creates (recorded
# in the lab's state, entered by exec, run and fault; removed by down), so the lab
# addresses below are only read from the guests' own `ip addr`.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 qemu-img mmdebstrap ip iptables
name=e2e-template
e2e_lab "$name" libvirt
image=$(readlink -f "$DCSLAB_HOME/images/bookworm")
lab=("${E2E_LAB[@]}")

step "up from the template"
"$DCSLAB" "${lab[@]}" up --isolated 2>&1 | tee "$out/up.log"
grep -q "nodes restored from the template" "$out/up.log" || fail "up did not restore from the template"
# The template this lab used (an image keeps one a machine shape, e.g. tcg-1024m-2c;
# a workstation may hold others from labs of other shapes).
template=$(sed -n 's/.* nodes restored from the template \([^ ]*\) in .*/\1/p' "$out/up.log")
[ -n "$template" ] || fail "up did not name the template it restored from"
manifest="$image/templates/$template/manifest.json"
[ -f "$manifest" ] || fail "no manifest for the template $template: $manifest"
[ -f "$(dirname "$manifest")/state.save" ] || fail "no state.save beside $manifest"
echo "ok: template $(dirname "$manifest")"

step "each clone is its own node"
for i in 0 1 2; do
  expect_eq "dcs-0$i hostname -f" "$("$DCSLAB" "${lab[@]}" exec dcs-0$i -- hostname -f)" \
    "dcs-0$i.patroni.mydomain"
  addr=$("$DCSLAB" "${lab[@]}" exec dcs-0$i -- ip -4 -o addr show dev eth0)
  grep -q " 192\.168\.56\.1$i/24 " <<<"$addr" || fail "dcs-0$i lacks 192.168.56.1$i/24: $addr"
  expect_eq "dcs-0$i dcslab-clone result" \
    "$("$DCSLAB" "${lab[@]}" exec dcs-0$i -- systemctl show -P Result dcslab-clone.service)" success
done
macs=$(for i in 0 1 2; do "$DCSLAB" "${lab[@]}" exec dcs-0$i -- cat /sys/class/net/eth0/address; done | sort -u | wc -l)
expect_eq "distinct MAC addresses" "$macs" 3
"$DCSLAB" "${lab[@]}" run "$SRC/scenarios/smoke.yaml"

step "clones never share random state"
r0=$("$DCSLAB" "${lab[@]}" exec dcs-00 -- sh -c 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"')
r1=$("$DCSLAB" "${lab[@]}" exec dcs-01 -- sh -c 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"')
if [ ${#r0} != 64 ] || [ ${#r1} != 64 ]; then fail "could not read 32 random bytes: '$r0' '$r1'"; fi
[ "$r0" != "$r1" ] || fail "dcs-00 and dcs-01 read the same random bytes: $r0"
echo "ok: random bytes differ ($r0 / $r1)"
k0=$("$DCSLAB" "${lab[@]}" exec dcs-00 -- sh -c 'openssl genpkey -algorithm ed25519 | openssl pkey -pubout')
k1=$("$DCSLAB" "${lab[@]}" exec dcs-01 -- sh -c 'openssl genpkey -algorithm ed25519 | openssl pkey -pubout')
grep -q "BEGIN PUBLIC KEY" <<<"$k0" || fail "no key from openssl on dcs-00: $k0"
[ "$k0" != "$k1" ] || fail "dcs-00 and dcs-01 generated the same TLS key"
echo "ok: generated keys differ"
ids=$(for i in 0 1 2; do "$DCSLAB" "${lab[@]}" exec dcs-0$i -- cat /etc/machine-id; done)
echo "$ids"
expect_eq "distinct machine-ids of 32 hex digits" \
  "$(echo "$ids" | grep -xE '[0-9a-f]{32}' | sort -u | wc -l)" 3
# journald restarted under the clone's id: journalctl, which reads this machine's
# journal only, shows what sshd logged after the clone's identity.
journal=$("$DCSLAB" "${lab[@]}" exec -u root dcs-00 -- journalctl -b -u ssh)
grep -q "Server listening on" <<<"$journal" ||
  fail "dcs-00's journalctl does not show sshd starting under the clone's machine-id"
echo "ok: each clone has its own machine-id, and its journal under it"
skew=$("$DCSLAB" "${lab[@]}" exec dcs-02 -- date +%s)
off=$(( skew - $(date +%s) ))
if [ "$off" -gt 2 ] || [ "$off" -lt -2 ]; then fail "dcs-02's clock is ${off} s off the host's"; fi
echo "ok: dcs-02's clock within 2 s of the host's"

step "a restored node boots cold after a crash"
"$DCSLAB" "${lab[@]}" fault dcs-01 crash
"$DCSLAB" "${lab[@]}" fault dcs-01 start
expect_eq "dcs-01 after crash + start" "$("$DCSLAB" "${lab[@]}" exec dcs-01 -- hostname)" dcs-01
journal=$("$DCSLAB" "${lab[@]}" exec -u root dcs-01 -- journalctl -b -u dcslab-identity)
grep -q "applied identity of dcs-01" <<<"$journal" ||
  fail "dcs-01 did not apply its identity from its disk at the cold boot"
echo "ok: dcs-01 cold-booted with its identity disk"

step "down"
record_lab_pid_namespaces "$name" "/tmp/dcslab-e2e-pidns-$$"
"$DCSLAB" "${lab[@]}" down
expect_nothing_left "$name" "/tmp/dcslab-e2e-pidns-$$"
rm -f "/tmp/dcslab-e2e-pidns-$$"

step "a template that does not fit: up says why and boots cold (the template is dropped)"
sed -i 's/"memory_mib": [0-9]*/"memory_mib": 1/' "$manifest"
"$DCSLAB" "${lab[@]}" up --isolated 2>&1 | tee "$out/up-cold.log"
grep -q 'booting cold: .*does not fit (memory (MiB): the template.s is "1", now' "$out/up-cold.log" ||
  fail "up did not say why it boots cold"
grep -q "restored from the template" "$out/up-cold.log" && fail "up restored from a template that does not fit"
[ ! -e "$manifest" ] || fail "the stale template was kept"
expect_eq "dcs-02 hostname after the cold boot" "$("$DCSLAB" "${lab[@]}" exec dcs-02 -- hostname)" dcs-02
"$DCSLAB" "${lab[@]}" down
expect_nothing_left "$name" ""
echo "PASS template_libvirt"
