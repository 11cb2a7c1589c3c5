#!/usr/bin/env bash
# etcd 3.4 -> 3.5, rolling, with authentication (scenarios/upgrades/30-rolling-auth.yaml)
# on a fresh nspawn lab in a network namespace dcslab creates: the seed's cluster is
# built first (what the scenario requires), then each member is upgraded from the
# image's upgrade repository with a background writer running. The run passes, the
# reports show the versions, the cluster version, equal hashkv and no lost write, the
# root password reaches no report, and `down` leaves nothing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

name=e2e-upg
E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider nspawn)
out=$(mktemp -d)
trap e2e_cleanup EXIT
"$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true

step "the image carries the next suite's etcd"
"$DCSLAB" image build >"$out/image.log"
manifest="$DCSLAB_HOME/images/bookworm/manifest.json"
expect_eq "etcd in the image" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["etcd_version"])' "$manifest")" 3.4.23
expect_eq "etcd upgrade in the image" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("etcd_upgrade_version"))' "$manifest")" 3.5.16

step "rolling upgrade with authentication on a fresh lab"
start=$(date +%s)
set +e
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/scenarios/upgrades/30-rolling-auth.yaml" \
  --junit "$out/upgrade.xml" --transcript "$out/upgrade.md" >"$out/upgrade.log" 2>&1
rc=$?
set -e
seconds=$(( $(date +%s) - start ))
grep -v '  ✓ ' "$out/upgrade.log" || true
expect_eq "exit status of the run" "$rc" 0
expect_eq "scenarios run" \
  "$(grep -o '^== [a-z-]*: passed' "$out/upgrade.log" | awk '{print $2}' | tr -d : | paste -sd' ')" \
  "install environment tls auth kv backup-restore env-vars replication upgrade-rolling-auth"

{ read -r suites tests failures skipped; read -r names; } < <(junit_summary "$out/upgrade.xml")
expect_eq "JUnit failures" "$failures" 0
echo "ok: $suites suites, $tests testcases, $skipped skipped ($names)"
# The seed may skip steps that do not apply to its etcd (when:); the upgrade skips none.
expect_eq "upgrade-rolling-auth: testcases, failed, skipped" "$(python3 - "$out/upgrade.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = [s for s in root.iter("testsuite") if s.get("name") == "upgrade-rolling-auth"][0]
cases = suite.findall("testcase")
print(len(cases) >= 40,
      sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None),
      sum(1 for c in cases if c.find("skipped") is not None))
PY
)" "True 0 0"

# What the upgrade printed, in the transcript.
for shown in \
  '"etcdserver":"3.4.23","etcdcluster":"3.4.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.4.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.5.0"' \
  "etcd Version: 3.5.16" "distinct hashes: 1" "distinct auth digests: 1" \
  "acknowledged writes, missing 0" "Authentication Status: true" \
  "refused (invalid auth token)"; do
  grep -qF -- "$shown" "$out/upgrade.md" || fail "the transcript lacks: $shown"
done
echo "ok: the transcript shows versions, cluster versions, hashkv, auth digests, writes"

secret=$(cat "$DCSLAB_HOME/labs/$name/secrets/root_password")
[ "${#secret}" -ge 16 ] || fail "root_password is too short: ${#secret}"
! grep -rqF -- "$secret" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "the root password reached a report"
echo "ok: the root password is in no report, transcript or artifact"

step "down"
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "ok: rolling upgrade with auth on nspawn, seed included: ${seconds}s"
echo "PASS upgrade_nspawn"
