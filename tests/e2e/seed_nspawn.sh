#!/usr/bin/env bash
# The lab document's procedures (scenarios/seed/, one file per section) on nspawn labs
# in a network namespace dcslab creates. First a scenario run alone on a fresh lab
# (50-kv.yaml) runs what it requires before it, and `run --down` leaves nothing.
# The whole suite on nspawn (all eight pass, JUnit, the transcript shows what the
# document shows the machines print) is e2e_matrix_nspawn's bookworm cell; the same
# checks on a lab kept up, with its root password in no report, are e2e_seed_libvirt's
# (seed_suite_checks). One run of the whole suite on nspawn less: the CI budget.
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
echo "PASS seed_nspawn"
