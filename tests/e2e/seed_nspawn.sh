#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/, one file per section) on nspawn labs
# in a network namespace dcslab creates. First a scenario run alone on a fresh lab
# (50-kv.yaml) runs what it requires before it, and `run --down` leaves nothing. Then
# the whole suite on a fresh lab: all eight pass, the JUnit report has no failure, the
# transcript shows what the document shows the machines print, the root password
# reaches no report; `down` leaves nothing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

name=e2e-seed
E2E_LAB=$(make_lab "$name" nspawn)
out=$(mktemp -d)
cleanup() {
  "$DCSLAB" --lab "$E2E_LAB" down >/dev/null 2>&1 || true
  rm -rf "$E2E_LAB" "$out"
}
trap cleanup EXIT
"$DCSLAB" --lab "$E2E_LAB" down >/dev/null 2>&1 || true
"$DCSLAB" image build >/dev/null

# junit_summary FILE: "suites tests failures skipped" and the suite names, by Python's parser.
junit_summary() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [c for s in suites for c in s.findall("testcase")]
print(len(suites), len(cases),
      sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None),
      sum(1 for c in cases if c.find("skipped") is not None))
print(" ".join(s.get("name", "") for s in suites))
PY
}

step "the order a folder run takes"
"$DCSLAB" --lab "$E2E_LAB" run "$SRC/scenarios/seed" --list | tee "$out/list.txt"
expect_eq "scenarios, in order" "$(grep -o '^[a-z-]*' "$out/list.txt" | paste -sd' ')" \
  "install environment tls auth kv backup-restore env-vars replication"
grep -q '^kv .*requires: auth$' "$out/list.txt" || fail "kv does not require auth"

step "a scenario run alone on a fresh lab runs what it requires first; --down"
"$DCSLAB" --isolated --lab "$E2E_LAB" run "$SRC/scenarios/seed/50-kv.yaml" --down | tee "$out/kv.log"
expect_eq "scenarios run for kv alone" \
  "$(grep -o '^== [a-z-]*: passed' "$out/kv.log" | awk '{print $2}' | tr -d : | paste -sd' ')" \
  "install environment tls auth kv"
grep -q '^ok: 5 scenarios, 5 passed, 0 failed' "$out/kv.log" || fail "kv alone did not pass"
expect_nothing_left "$name"

step "the whole suite on a fresh lab (boot included)"
start=$(date +%s.%N)
set +e
"$DCSLAB" --isolated --lab "$E2E_LAB" run "$SRC/scenarios/seed" \
  --junit "$out/seed.xml" --transcript "$out/seed.md" --json "$out/seed.json" >"$out/seed.log" 2>&1
rc=$?
set -e
seconds=$(echo "$(date +%s.%N) - $start" | bc)
grep -v '  ✓ ' "$out/seed.log" || true
expect_eq "exit status of the suite" "$rc" 0
echo "suite with boot: ${seconds}s; $(grep '^ok: ' "$out/seed.log")"

{ read -r suites tests failures skipped; read -r names; } < <(junit_summary "$out/seed.xml")
expect_eq "JUnit testsuites" "$suites" 8
expect_eq "JUnit suite names" "$names" \
  "install environment tls auth kv backup-restore env-vars replication"
expect_eq "JUnit failures" "$failures" 0
expect_eq "JUnit skipped" "$skipped" 0
[ "$tests" -ge 100 ] || fail "JUnit has only $tests testcases"
echo "ok: $tests testcases"

# What the document shows the machines print, in the transcript.
for shown in \
  "Adding user tux to group etcd" \
  "Certificate request self-signature ok" \
  "subject=CN = dcs-00" \
  "8cc5336ad7ebe6b, started, dcs-00, https://192.168.56.10:2380, https://192.168.56.10:2379, false" \
  "Role root created" "User root created" "Role root is granted to user root" \
  "Authentication Enabled" "Error: etcdserver: user name not found" \
  "Snapshot saved at /var/lib/dcs/backup/etcd-snapshot.db" \
  "etcd etcd" "etcd-snapshot.db" \
  ", started, dcs-02, https://192.168.56.12:2380, https://192.168.56.12:2379, false" \
  "leaders: 1"; do
  grep -qF -- "$shown" "$out/seed.md" || fail "the transcript lacks: $shown"
done
echo "ok: the transcript shows the document's outputs"
grep -qE '^revision: ([0-9]+) -> \1$' "$out/seed.md" || fail "the transcript lacks the revision comparison"

secret=$(cat "$DCSLAB_HOME/labs/$name/secrets/root_password")
[ "${#secret}" -ge 16 ] || fail "root_password is too short: ${#secret}"
! grep -rqF -- "$secret" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "the root password reached a report"
echo "ok: the root password is in no report, transcript or artifact"

step "down"
"$DCSLAB" --lab "$E2E_LAB" down
expect_nothing_left "$name"
echo "PASS seed_nspawn (suite with boot: ${seconds}s)"
