#!/usr/bin/env bash
# etcd 3.4 -> 3.5 with authentication, the lab document's cluster's three paths
# (scenarios/upgrades/, docs/UPGRADES.md b, c, d), at once, each on a fresh nspawn lab
# of its own in a network namespace dcslab creates (an upgrade cannot be undone; the
# seed's cluster is built first on each, what the paths require):
#   30  rolling: each member upgraded from the image's upgrade repository with a
#       background writer running; the reports show the versions, the cluster version,
#       equal hashkv and no lost write;
#   20  full stop: every member stops, every node upgrades, every member starts; data
#       and auth objects identical afterwards;
#   40  rolling with users changed while the versions are mixed: FAILS, as
#       docs/UPGRADES.md records, at one step: a user added through the 3.5 member is
#       refused by the 3.4 members.
# No root password reaches a report, and `down` leaves nothing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

paths=(30-rolling-auth 20-full-stop-auth 40-rolling-auth-change)
out=$(mktemp -d)
# on PATH ARGS...: dcslab on that path's own lab.
on() { "$DCSLAB" --lab "$SEED_LAB" --name "e2e-upg-${1%%-*}" --provider nspawn "${@:2}"; }
cleanup() {
  for p in "${paths[@]}"; do on "$p" down >/dev/null 2>&1 || true; done
  rm -rf "$out"
}
trap cleanup EXIT
for p in "${paths[@]}"; do on "$p" down >/dev/null 2>&1 || true; done

step "the image carries the next suite's etcd"
"$DCSLAB" image build >"$out/image.log"
manifest="$DCSLAB_HOME/images/bookworm/manifest.json"
expect_eq "etcd in the image" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["etcd_version"])' "$manifest")" 3.4.23
expect_eq "etcd upgrade in the image" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("etcd_upgrade_version"))' "$manifest")" 3.5.16

step "the three paths at once, each on a fresh isolated lab"
start=$(date +%s)
for p in "${paths[@]}"; do
  on "$p" --isolated run "$SRC/scenarios/upgrades/$p.yaml" \
    --junit "$out/$p.xml" --transcript "$out/$p.md" >"$out/$p.log" 2>&1 &
  echo $! >"$out/$p.pid"
done
declare -A rc
for p in "${paths[@]}"; do
  rc[$p]=0
  wait "$(cat "$out/$p.pid")" || rc[$p]=$?
  grep -v '  ✓ ' "$out/$p.log" | grep -v 'skipped: when' || true
done
seconds=$(( $(date +%s) - start ))
seed="install environment tls auth kv backup-restore env-vars replication"
# scenarios SUITE: the scenarios that passed, in order.
passed() { grep -o '^== [a-z-]*: passed' "$out/$1.log" | awk '{print $2}' | tr -d : | paste -sd' '; }
# testcases PATH SUITE: "testcases failed skipped" of that suite in the path's JUnit, then
# the names of the failed ones, one a line.
testcases() {
  python3 - "$out/$1.xml" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = [s for s in root.iter("testsuite") if s.get("name") == sys.argv[2]][0]
cases = suite.findall("testcase")
bad = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
print(len(cases), len(bad), sum(1 for c in cases if c.find("skipped") is not None))
for c in bad:
    print(c.get("name"))
PY
}

step "c. rolling with authentication: works"
p=30-rolling-auth
expect_eq "$p: exit status" "${rc[$p]}" 0
expect_eq "$p: scenarios passed" "$(passed $p)" "$seed upgrade-rolling-auth"
{ read -r suites tests failures skipped; read -r names; } < <(junit_summary "$out/$p.xml")
expect_eq "$p: JUnit failures" "$failures" 0
echo "ok: $suites suites, $tests testcases, $skipped skipped ($names)"
# The seed may skip steps that do not apply to its etcd (when:); the upgrade skips none.
read -r n bad skip < <(testcases $p upgrade-rolling-auth)
[ "$n" -ge 40 ] || fail "$p: only $n testcases"
expect_eq "$p: failed, skipped" "$bad $skip" "0 0"
must_show $p \
  '"etcdserver":"3.4.23","etcdcluster":"3.4.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.4.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.5.0"' \
  "etcd Version: 3.5.16" "distinct hashes: 1" "distinct auth digests: 1" \
  "acknowledged writes, missing 0" "Authentication Status: true" \
  "refused (invalid auth token)"

step "b. full stop with authentication: works"
p=20-full-stop-auth
expect_eq "$p: exit status" "${rc[$p]}" 0
expect_eq "$p: scenarios passed" "$(passed $p)" "$seed upgrade-full-stop-auth"
read -r n bad skip < <(testcases $p upgrade-full-stop-auth)
[ "$n" -ge 20 ] || fail "$p: only $n testcases"
expect_eq "$p: failed, skipped" "$bad $skip" "0 0"
must_show $p \
  "is unhealthy" '"etcdserver":"3.5.16","etcdcluster":"3.5.0"' \
  "distinct hashes: 1" "distinct auth digests: 1" "Authentication Status: true"

step "d. rolling with a user added through the 3.5 member while mixed: fails where docs/UPGRADES.md says"
p=40-rolling-auth-change
expect_eq "$p: exit status" "${rc[$p]}" 1
expect_eq "$p: scenarios passed" "$(passed $p)" "$seed"
grep -q '^== upgrade-rolling-auth-change: FAILED' "$out/$p.log" || fail "$p: the scenario did not fail"
{ read -r _ bad _; mapfile -t failed; } < <(testcases $p upgrade-rolling-auth-change)
# A testcase is named "<step number>. <step> (<node>)".
expect_eq "$p: failed steps" "$bad: ${failed[*]#*. }" \
  "1: mixed: every member alone accepts app2's password and its writes (dcs-00)"
must_show $p \
  "app on https://192.168.56.11:2379: put OK, get by app" \
  "app2 on https://192.168.56.10:2379: put OK, get by app2" \
  "app2 on https://192.168.56.11:2379: put Error: etcdserver: authentication failed, invalid user ID or password" \
  "app2 on https://192.168.56.12:2379: put Error: etcdserver: authentication failed, invalid user ID or password"

for p in "${paths[@]}"; do
  root_password_in_no_report "e2e-upg-${p%%-*}" "$out"
done
echo "ok: the root password is in no report, transcript or artifact"

step "down"
for p in "${paths[@]}"; do
  on "$p" down
  expect_nothing_left "e2e-upg-${p%%-*}"
done
echo "ok: three upgrade paths with auth on nspawn, seed included, at once: ${seconds}s"
echo "PASS upgrade_nspawn"
