#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/) on two etcd versions at once:
# `dcslab run --matrix suite=bookworm,trixie` runs the suite on bookworm (etcd 3.4) and
# on trixie (etcd 3.5), each on an nspawn lab of its own in a network namespace dcslab
# creates, one after the other. Checked: both columns pass (the matrix's JUnit, a
# testsuite per cell), the only skipped steps are those whose `when:` does not hold on
# that cell's etcd, bookworm's transcript shows what the lab document shows the machines
# print, trixie restores with the document's etcdutl and shows its `auth status`, and
# nothing of either lab is left. Bad --matrix arguments exit 2
# before anything is made.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

name=e2e-matrix
E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider nspawn)
# Each cell's lab, <name>-<suite>.
cell() { "$DCSLAB" --lab "$SEED_LAB" --name "$name-$1" --provider nspawn "${@:2}"; }
out=$(mktemp -d)
cleanup() {
  for s in bookworm trixie; do cell "$s" down >/dev/null 2>&1 || true; done
  rm -rf "$out"
}
trap cleanup EXIT
for s in bookworm trixie; do cell "$s" down >/dev/null 2>&1 || true; done

step "images for both suites (cached by the recipe's hash)"
for s in bookworm trixie; do
  start=$(date +%s)
  "$DCSLAB" image build --suite "$s" | tail -n1
  echo "image $s: $(( $(date +%s) - start ))s"
done

step "bad --matrix arguments exit 2 and make nothing"
for arg in "suite=" "os=bookworm" "suite=bookworm,,trixie" "suite=buster"; do
  set +e
  err=$("$DCSLAB" --isolated "${E2E_LAB[@]}" run --matrix "$arg" "$SRC/scenarios/seed" 2>&1 >/dev/null)
  rc=$?
  set -e
  expect_eq "exit status of --matrix $arg" "$rc" 2
  case "$err" in *"--matrix $arg:"*) ;; *) fail "the error does not name --matrix $arg: $err" ;; esac
  for s in bookworm trixie; do
    [ ! -e "$DCSLAB_HOME/labs/$name-$s" ] || fail "--matrix $arg made lab $name-$s"
  done
done

step "the seed suite on bookworm and trixie"
start=$(date +%s)
set +e
"$DCSLAB" --isolated "${E2E_LAB[@]}" run --matrix suite=bookworm,trixie "$SRC/scenarios/seed" \
  --junit "$out/matrix.xml" --json "$out/matrix.json" --transcript "$out/matrix.md" >"$out/matrix.log" 2>&1
rc=$?
set -e
seconds=$(( $(date +%s) - start ))
grep -v '  ✓ ' "$out/matrix.log" || true
expect_eq "exit status of the matrix run" "$rc" 0

# The console's table: every scenario passed in both columns.
for sc in install environment tls auth kv backup-restore env-vars replication; do
  row=$(grep -E "^$sc +" "$out/matrix.log" | tail -n1 | tr -s ' ')
  expect_eq "matrix row $sc" "$row" "$sc passed passed"
done

# The JUnit file: a testsuite per cell, no failure, skips only by when:.
python3 - "$out/matrix.xml" >"$out/cells.txt" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for s in root.findall("testsuite"):
    cases = s.findall("testcase")
    failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
    skipped = [c.find("skipped").get("message", "") for c in cases if c.find("skipped") is not None]
    other = sum(1 for m in skipped if not m.startswith("when "))
    print(s.get("name"), len(cases), failed, len(skipped), other)
PY
cat "$out/cells.txt"
expect_eq "testsuites" "$(awk '{print $1}' "$out/cells.txt" | paste -sd' ')" \
  "seed[suite=bookworm] seed[suite=trixie]"
while read -r suite tests failed skipped other; do
  [ "$tests" -ge 100 ] || fail "$suite has only $tests testcases"
  expect_eq "$suite failures and errors" "$failed" 0
  expect_eq "$suite skipped other than by when:" "$other" 0
  [ "$skipped" -ge 1 ] || fail "$suite skipped no step: the version guards did nothing"
done <"$out/cells.txt"

# Each cell skipped exactly the steps for the other etcds (3.5's, or 3.4's, and 3.3's:
# `when: etcd < 3.4`, docs/SEED-NOTES.md), and said why.
junit_when_skips "$out/matrix.xml" >"$out/skips.txt"
cat "$out/skips.txt"
grep '^seed\[suite=bookworm\]' "$out/skips.txt" | grep -vE '\| when etcd (>= 3\.5|< 3\.4): etcd 3\.4\.23 \(installed\)$' &&
  fail "bookworm skipped a step for another reason"
grep '^seed\[suite=trixie\]' "$out/skips.txt" | grep -vE '\| when etcd (< 3\.5|< 3\.4|== 3\.4): etcd 3\.5\.16 \(installed\)$' &&
  fail "trixie skipped a step for another reason"
grep -q '^seed\[suite=bookworm\] | 11\. Restauração de backup (dcs-00) |' "$out/skips.txt" ||
  fail "bookworm did not skip the etcdutl restore"
echo "ok: each cell skipped only the other etcd's steps"

# What the document shows the machines print, in bookworm's part of the transcript (the
# whole suite on etcd 3.4 on nspawn: e2e_seed_nspawn runs a part of it alone).
# shellcheck disable=SC2016 # the backquotes are the transcript's
sed -n '/^# dcslab transcript: lab `e2e-matrix-bookworm`/,/^# dcslab transcript: lab `e2e-matrix-trixie`/p' \
  "$out/matrix.md" >"$out/bookworm.md"
[ -s "$out/bookworm.md" ] || fail "the transcript has no part for e2e-matrix-bookworm"
seed_transcript_checks "$out/bookworm.md"

# What the document shows on etcd 3.5, in trixie's part of the transcript.
trixie_part=$(sed -n '/^# dcslab transcript: lab `e2e-matrix-trixie`/,$p' "$out/matrix.md")
for shown in "sudo etcdutl snapshot restore /var/lib/dcs/backup/etcd-snapshot.db" \
  "Authentication Status: true" "AuthRevision: 5" "Error: etcdserver: user name not found"; do
  grep -qF -- "$shown" <<<"$trixie_part" || fail "trixie's transcript lacks: $shown"
done
echo "ok: trixie's transcript shows the document's etcd 3.5 output"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["passed"] and [c["lab"] for c in d["cells"]] == sys.argv[2:], d["cells"]' \
  "$out/matrix.json" "$name-bookworm" "$name-trixie" || fail "the JSON report's cells"

step "each cell's lab was taken down after it"
expect_nothing_left "$name-bookworm"
expect_nothing_left "$name-trixie"
echo "ok: the seed suite on bookworm and trixie (boot included) in ${seconds}s"
echo "PASS matrix_nspawn"
