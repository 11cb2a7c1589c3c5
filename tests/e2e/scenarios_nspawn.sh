#!/usr/bin/env bash
# The scenario runner on a real lab (nspawn machines in a network namespace dcslab
# creates): scenarios/smoke.yaml passes and its JUnit report parses with a standard JUnit
# reader; a deliberately failing scenario exits 1, shows expected against observed, and
# reports exactly one failure; the lab is kept after the failure; a run sent a real
# SIGTERM in the middle of a step exits 3 and still writes JUnit (read back with Python's
# XML parser), JSON and transcript naming the interrupted step; --down removes the lab.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

name=e2e-scn
e2e_lab "$name" nspawn

# junit_counts FILE: "tests failures" summed over the testsuites, by Python's own parser.
junit_counts() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [c for s in suites for c in s.findall("testcase")]
print(len(cases), sum(1 for c in cases if c.find("failure") is not None))
PY
}

step "smoke passes"
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/scenarios/smoke.yaml" \
  --junit "$out/smoke.xml" --transcript "$out/smoke.md" --json "$out/smoke.json" | tee "$out/smoke.log"
read -r tests failures < <(junit_counts "$out/smoke.xml")
[ "$tests" -ge 10 ] || fail "smoke JUnit has only $tests testcases"
expect_eq "smoke JUnit failures" "$failures" 0
grep -q 'hostname -f' "$out/smoke.md" || fail "transcript lacks the commands"
grep -q 'dcs-01.patroni.mydomain' "$out/smoke.md" || fail "transcript lacks observed output"
secret=$(cat "$DCSLAB_HOME/labs/$name/secrets/smoke_password")
expect_eq "generated secret length" "${#secret}" 16
! grep -rqF -- "$secret" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "the secret reached a report"
echo "ok: the generated secret is in no report, transcript or artifact"

step "a failing scenario exits 1 with expected vs observed"
set +e
"$DCSLAB" "${E2E_LAB[@]}" run "$SRC/fixtures/scenarios/failing.yaml" --junit "$out/failing.xml" >"$out/failing.log" 2>&1
rc=$?
set -e
cat "$out/failing.log"
expect_eq "exit status of a failing scenario" "$rc" 1
if ! grep -qi 'expected' "$out/failing.log" || ! grep -qi 'observed' "$out/failing.log"; then
  fail "no expected/observed in the failure output"
fi
read -r tests failures < <(junit_counts "$out/failing.xml")
expect_eq "failing JUnit failures" "$failures" 1
expect_eq "lab kept after the failure" "$("$DCSLAB" "${E2E_LAB[@]}" status | awk '{print $2}' | sort -u)" running

step "SIGTERM in the middle of a step: exit 3, and the reports say what ran"
cat >"$out/stopped.yaml" <<'YAML'
name: stopped
steps:
  - name: first
    on: dcs-00
    run: echo one
  - name: forever
    on: dcs-01
    run: sleep 417
  - name: never
    on: dcs-02
    run: echo three
YAML
"$DCSLAB" "${E2E_LAB[@]}" run "$out/stopped.yaml" --junit "$out/stopped.xml" \
  --json "$out/stopped.json" --transcript "$out/stopped.md" >"$out/stopped.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 300); do
  "$DCSLAB" "${E2E_LAB[@]}" exec dcs-01 -- pgrep -f 'slee[p] 417' >/dev/null && break
  sleep 0.1
done
"$DCSLAB" "${E2E_LAB[@]}" exec dcs-01 -- pgrep -f 'slee[p] 417' >/dev/null ||
  fail "the step never started: $(cat "$out/stopped.log")"
kill -TERM "$run_pid"
set +e; wait "$run_pid"; rc=$?; set -e
cat "$out/stopped.log"
expect_eq "exit status of a run stopped by SIGTERM" "$rc" 3
python3 - "$out/stopped.xml" "$out/stopped.json" <<'PY' || fail "the reports of the stopped run are wrong"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
assert [s.get("name") for s in suites] == ["stopped"], [s.get("name") for s in suites]
cases = suites[0].findall("testcase")
names = [c.get("name") for c in cases]
assert names == ["1. first (dcs-00)", "2. forever (dcs-01)", "never"], names
first, forever, never = cases
assert all(first.find(k) is None for k in ("failure", "error", "skipped")), ET.tostring(first)
error = forever.find("error")
assert error is not None and "interrupted" in error.get("message", ""), ET.tostring(forever)
assert never.find("skipped") is not None, ET.tostring(never)
report = json.load(open(sys.argv[2]))
scenario = report["scenarios"][0]
assert scenario["interrupted"] is True and scenario["passed"] is False, scenario
print("ok: JUnit (xml.etree) and JSON say: first passed, forever interrupted, never skipped")
PY
grep -q 'never' "$out/stopped.md" || fail "the transcript does not name the step not run"

step "run --down removes the lab"
"$DCSLAB" "${E2E_LAB[@]}" run "$SRC/scenarios/smoke.yaml" --only smoke --down >/dev/null
expect_nothing_left "$name"
echo "PASS scenarios_nspawn"
