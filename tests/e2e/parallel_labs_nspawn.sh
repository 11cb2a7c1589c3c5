#!/usr/bin/env bash
# Two labs with the same node names and the same addresses (192.168.56.0/24) side by
# side, each in its own network namespace: each lab's 192.168.56.11 is its own dcs-01,
# and taking one lab down leaves the other running.
# Network safety: every lab here is up --isolated, so its addresses live only in the
# network namespace (netns dcslab-<lab>) that dcslab creates for it and deletes at down;
# commands reach the nodes from inside it (dcslab exec, or node to node).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip

A=e2e-para-a
B=e2e-para-b
# on NAME ARGS...: dcslab on lab NAME, the seed's lab on nspawn.
on() { "$DCSLAB" --lab "$SEED_LAB" --name "$1" --provider nspawn "${@:2}"; }
cleanup() {
  on "$A" down >/dev/null 2>&1 || true
  on "$B" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

step "image"
on "$A" image build

step "both labs up at once, isolated"
on "$A" up --isolated >/tmp/dcslab-e2e-para-a-$$.log 2>&1 &
pa=$!
on "$B" up --isolated >/tmp/dcslab-e2e-para-b-$$.log 2>&1 &
pb=$!
wait "$pa" || { cat /tmp/dcslab-e2e-para-a-$$.log; fail "lab $A did not come up"; }
wait "$pb" || { cat /tmp/dcslab-e2e-para-b-$$.log; fail "lab $B did not come up"; }
rm -f /tmp/dcslab-e2e-para-[ab]-$$.log

step "same addresses, different machines"
for i in 0 1 2; do
  a=$(on "$A" exec dcs-0$i -- cat /etc/machine-id)
  b=$(on "$B" exec dcs-0$i -- cat /etc/machine-id)
  if [ -z "$a" ] || [ "$a" = "$b" ]; then fail "dcs-0$i: machine-id '$a' in $A and '$b' in $B"; fi
  expect_eq "$A dcs-0$i hostname" "$(on "$A" exec dcs-0$i -- hostname)" "dcs-0$i"
  expect_eq "$B dcs-0$i address" \
    "$(on "$B" exec dcs-0$i -- ip -4 -o addr show dev host0 | awk '{print $4}')" \
    "192.168.56.1$i/24"
done

step "from each lab's dcs-00, 192.168.56.11 is that lab's own dcs-01 (its pinned host key)"
for name in "$A" "$B"; do
  seen=$(on "$name" exec dcs-00 -- ssh-keyscan -t ed25519 192.168.56.11 2>/dev/null |
    awk '{print $3}')
  own=$(awk '{print $2}' "$DCSLAB_HOME/labs/$name/nodes/dcs-01/ssh_host_ed25519_key.pub")
  [ -n "$seen" ] || fail "$name: dcs-00 could not reach 192.168.56.11"
  expect_eq "$name: key of 192.168.56.11 seen from its dcs-00" "$seen" "$own"
done
[ "$(awk '{print $2}' "$DCSLAB_HOME/labs/$A/nodes/dcs-01/ssh_host_ed25519_key.pub")" != \
  "$(awk '{print $2}' "$DCSLAB_HOME/labs/$B/nodes/dcs-01/ssh_host_ed25519_key.pub")" ] ||
  fail "both labs' dcs-01 have the same host key; the check above proves nothing"

step "a marker written in $A is not in $B"
on "$A" exec dcs-01 -- "echo $A > marker"
expect_eq "$A marker" "$(on "$A" exec dcs-01 -- cat marker)" "$A"
set +e; on "$B" exec dcs-01 -- test -e marker; rc=$?; set -e
expect_eq "$B has no marker (test -e exit)" "$rc" 1

step "down $A leaves $B running"
on "$A" down
expect_nothing_left "$A"
expect_eq "$B status" "$(on "$B" status | awk '{print $2}' | sort -u)" running
expect_eq "$B dcs-00 still answers" "$(on "$B" exec dcs-00 -- hostname)" dcs-00
[ -d /run/systemd/nspawn/propagate/dcslab-$B-dcs-00 ] ||
  fail "$B's nspawn propagate folder vanished with $A's down"
on "$B" down
expect_nothing_left "$B"
echo "PASS parallel_labs_nspawn"
