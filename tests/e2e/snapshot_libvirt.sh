#!/usr/bin/env bash
# Lab snapshots with memory state on libvirt: save the running three-node lab, change
# it, revert, and find the old state back without a boot; the guests' clocks follow the
# host after the revert; a scenario with `from:` makes its lab state on the first run and
# reverts to it on the second; down removes the snapshots with everything else.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd libvirtd virtlogd qemu-system-x86_64 mmdebstrap ip iptables python3 bc

name=e2e-snap
E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider libvirt)
trap e2e_cleanup EXIT
d() { "$DCSLAB" "${E2E_LAB[@]}" "$@"; }
d down >/dev/null 2>&1 || true   # a previous run's leftovers

step "image and up (isolated)"
d image build
d up --isolated

step "save"
d exec dcs-00 -- 'echo before > marker && sync'
# dcs-01's clock an hour behind in the snapshot: the revert must set it, not just find it
# close enough.
d exec dcs-01 -- 'sudo date -u -s "-1 hour" >/dev/null'
d snapshot save base
d snapshot list | tee /tmp/dcslab-e2e-snap-list-$$
grep -q '^base .*dcs-00,dcs-01,dcs-02$' /tmp/dcslab-e2e-snap-list-$$ || fail "list does not show base on every node"
rm -f /tmp/dcslab-e2e-snap-list-$$
expect_eq "ledger entries for the snapshot" \
  "$(grep -c '"libvirt-snapshot"' "$DCSLAB_HOME/labs/$name/resources.json")" 3
set +e; d snapshot save base >/dev/null 2>&1; rc=$?; set -e
expect_eq "saving an existing name again is refused (exit)" "$rc" 2

step "change, then revert"
d exec dcs-00 -- 'echo after > marker && sync'
expect_eq "marker changed" "$(d exec dcs-00 -- cat marker)" after
start=$(date +%s.%N)
d snapshot revert base 2>&1 | tee /tmp/dcslab-e2e-snap-revert-$$
echo "revert incl. clocks: $(echo "$(date +%s.%N) - $start" | bc) s"
revert_log=$(cat /tmp/dcslab-e2e-snap-revert-$$); rm -f /tmp/dcslab-e2e-snap-revert-$$
grep -q 'clocks set from the host in .* s over guest agent (were: .*dcs-01 -36[0-9][0-9]\.[0-9] s' <<<"$revert_log" ||
  fail "the revert did not set the clocks through the guest agents, dcs-01 an hour behind: $revert_log"
echo "ok: clocks set through the guest agents, dcs-01 was an hour behind"
expect_eq "marker after revert" "$(d exec dcs-00 -- cat marker)" before
expect_eq "status after revert" "$(d status | awk '{print $2}' | sort -u)" running

step "clocks follow the host after the revert"
# The guest's time must fall between the host's before and after the exec (a slow exec
# under TCG widens the window, not the tolerance), give or take 2 s.
for i in 0 1 2; do
  before=$(date +%s)
  guest=$(d exec dcs-0$i -- date +%s)
  after=$(date +%s)
  (( guest >= before - 2 && guest <= after + 2 )) ||
    fail "dcs-0$i clock $guest is off the host's [$before, $after] after the revert"
  echo "ok: dcs-0$i clock $guest within the host's [$before, $after]"
done

step "a revert to an unknown snapshot is refused"
set +e; d snapshot revert nosuch >/dev/null 2>&1; rc=$?; set -e
expect_eq "exit status" "$rc" 2

step "a scenario with from: saves its state on the first run and reverts to it on the second"
# from-state requires from-setup and starts from the lab state from-ready; it leaves the
# lab changed, so its second run passes only if the lab really went back to from-ready.
out=$(mktemp -d)
d run "$SRC/fixtures/e2e/from-state.yaml" --json "$out/first.json" | tee "$out/first.log"
grep -q '^== from-state: lab state from-ready saved in' "$out/first.log" ||
  fail "the first run did not save the state"
expect_eq "first run: scenarios run" \
  "$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1]))["scenarios"]))' "$out/first.json")" \
  "from-setup from-state"
list=$(d snapshot list)
grep -q '^from-ready .*dcs-00,dcs-01,dcs-02$' <<<"$list" || fail "from-ready is not a lab snapshot: $list"
start=$(date +%s.%N)
d run "$SRC/fixtures/e2e/from-state.yaml" --json "$out/second.json" | tee "$out/second.log"
echo "second run, revert included: $(echo "$(date +%s.%N) - $start" | bc) s"
grep -q '^== from-state: from from-ready: lab reverted to from-ready in' "$out/second.log" ||
  fail "the second run did not revert"
grep -q '^== from-setup: not run: the lab state from-ready provides it' "$out/second.log" ||
  fail "the second run did not say why from-setup was not run"
expect_eq "second run: scenarios run (no requires)" \
  "$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1]))["scenarios"]))' "$out/second.json")" \
  "from-state"
for i in 0 1 2; do
  before=$(date +%s); guest=$(d exec dcs-0$i -- date +%s); after=$(date +%s)
  (( guest >= before - 2 && guest <= after + 2 )) ||
    fail "dcs-0$i clock $guest is off the host's [$before, $after] after the run's revert"
done
echo "ok: clocks follow the host after the run's revert"
rm -rf "$out"

step "delete, save again, then down with the snapshot still there"
d snapshot delete base
list=$(d snapshot list)
! grep -q '^base ' <<<"$list" || fail "base is still listed after delete: $list"
echo "ok: base is gone from the list"
d snapshot save again
d down
expect_nothing_left "$name"
echo "PASS snapshot_libvirt"
