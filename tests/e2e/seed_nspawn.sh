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
e2e_lab "$name" nspawn

step "the order a folder run takes"
"$DCSLAB" "${E2E_LAB[@]}" run "$SRC/scenarios/seed" --list | tee "$out/list.txt"
expect_eq "scenarios, in order" "$(grep -o '^[a-z-]*' "$out/list.txt" | paste -sd' ')" \
  "install environment tls auth kv backup-restore env-vars replication"
grep -q '^kv .*requires: auth$' "$out/list.txt" || fail "kv does not require auth"

step "a scenario run alone on a fresh lab runs what it requires first; --down"
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/scenarios/seed/50-kv.yaml" --down | tee "$out/kv.log"
expect_eq "scenarios run for kv alone" \
  "$(grep -o '^== [a-z-]*: passed' "$out/kv.log" | awk '{print $2}' | tr -d : | paste -sd' ')" \
  "install environment tls auth kv"
grep -q '^ok: 5 scenarios, 5 passed, 0 failed' "$out/kv.log" || fail "kv alone did not pass"
expect_nothing_left "$name"

seed_suite_checks nspawn "$name" "$out"
echo "PASS seed_nspawn"
