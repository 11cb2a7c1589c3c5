#!/usr/bin/env bash
# The seed's three-node lab on libvirt: real QEMU VMs (TCG here: KVM hangs on these hosts)
# under a private libvirtd, all inside a network namespace that dcslab creates for the lab.
# Checks identity over SSH, host-key pinning, down, and down after a killed up.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip

name=e2e-libvirt
lab=$(make_lab "$name" libvirt)
cleanup() {
  "$DCSLAB" --lab "$lab" down >/dev/null 2>&1 || true
  rm -f "$lab"
}
trap cleanup EXIT
"$DCSLAB" --lab "$lab" down >/dev/null 2>&1 || true   # a previous run's leftovers

step "image"
"$DCSLAB" --lab "$lab" image build

step "up (isolated: own netns, private libvirtd)"
"$DCSLAB" --lab "$lab" up --isolated

step "identity over SSH"
for i in 0 1 2; do
  expect_eq "dcs-0$i hostname -f" "$("$DCSLAB" --lab "$lab" exec dcs-0$i -- hostname -f)" \
    "dcs-0$i.patroni.mydomain"
done
addr=$("$DCSLAB" --lab "$lab" exec dcs-02 -- ip -4 -o addr)
echo "$addr" | grep -q ' 192\.168\.56\.12/24 ' || fail "dcs-02 lacks 192.168.56.12/24: $addr"
echo "ok: dcs-02 holds 192.168.56.12/24"
set +e; "$DCSLAB" --lab "$lab" exec dcs-00 -- sh -c 'exit 7'; rc=$?; set -e
expect_eq "exec passes on the remote exit status" "$rc" 7
expect_eq "status" "$("$DCSLAB" --lab "$lab" status | awk '{print $2}' | sort -u)" running

step "a tampered pinned host key is refused"
pub="$DCSLAB_HOME/labs/$name/nodes/dcs-01/ssh_host_ed25519_key.pub"
cp "$pub" "$pub.orig"
ssh-keygen -q -t ed25519 -N '' -f "/tmp/dcslab-e2e-other-$$" >/dev/null
cp "/tmp/dcslab-e2e-other-$$.pub" "$pub"
set +e; msg=$("$DCSLAB" --lab "$lab" exec dcs-01 -- true 2>&1); rc=$?; set -e
mv "$pub.orig" "$pub"; rm -f "/tmp/dcslab-e2e-other-$$"*
expect_eq "exit status with a wrong host key" "$rc" 3
echo "$msg" | grep -qi 'host key' || fail "message does not explain the host key mismatch: $msg"
echo "ok: refused: $msg"

step "down"
"$DCSLAB" --lab "$lab" down
expect_nothing_left "$name"

step "down after an up killed midway"
"$DCSLAB" --lab "$lab" up --isolated >/tmp/dcslab-e2e-killed-$$.log 2>&1 &
up_pid=$!
for _ in $(seq 1 600); do
  grep -q '"libvirt-domain"' "$DCSLAB_HOME/labs/$name/resources.json" 2>/dev/null && break
  sleep 0.1
done
kill -9 "$up_pid" 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true
grep -q '"libvirt-domain"' "$DCSLAB_HOME/labs/$name/resources.json" ||
  fail "the killed up had not recorded a domain: $(cat /tmp/dcslab-e2e-killed-$$.log)"
rm -f /tmp/dcslab-e2e-killed-$$.log
"$DCSLAB" --lab "$lab" down
expect_nothing_left "$name"
echo "PASS libvirt_up"
