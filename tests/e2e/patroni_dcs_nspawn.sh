#!/usr/bin/env bash
# The DCS's own operations under a running Patroni cluster (scenarios/patroni-dcs/) on
# one nspawn lab of six machines (fixtures/labs/patroni.yaml), isolated in a network
# namespace dcslab creates: the seed up to 80-replication and patroni/10-bootstrap (what
# both require), then the lab document's snapshot restore of all three etcd members,
# then the rolling etcd upgrade 3.4.23 -> 3.5.16 with authentication (last: it cannot be
# undone), each under a PostgreSQL writer; every history says no split brain and no
# lost acknowledged insert, and the Patroni leader stayed the same on the same timeline;
# no password reaches a report; `--down` leaves nothing.
# Not part of e2e_patroni_nspawn: that one is at its CI budget (~7-9 min) on its own.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

patroni_lab e2e-patroni-dcs

step "the order a folder run takes"
"$DCSLAB" "${E2E_LAB[@]}" run "$SRC/scenarios/patroni-dcs" --list | tee "$out/list.txt"
expect_eq "scenarios, in order" "$(grep -o '^[a-z-]*' "$out/list.txt" | paste -sd' ')" \
  "patroni-dcs-restore patroni-etcd-rolling-upgrade"

step "scenarios/patroni-dcs on a fresh lab"
patroni_run "boot, seed, bootstrap and both" "$SRC/scenarios/patroni-dcs"
expect_eq "exit status" "$rc" 0
grep -q '^ok: 11 scenarios, 11 passed, 0 failed' "$out/run.log" || fail "not every scenario passed"

step "each write history and its verdict"
for scenario in dcs-restore etcd-rolling-upgrade; do
  pg_history_one_tenure "$out/artifacts" "$scenario"
done
# What docs/PATRONI.md records: the revisions around the restore, what Patroni logged.
# (each line is in several artifacts: the step's stdout, the report, the transcript)
grep -rhoE 'snapshot [0-9]+, before the disaster [0-9]+, restored cluster now [0-9]+|raft index before the disaster [0-9]+, restored cluster now [0-9]+|^(read timeouts|authentications) since: [0-9]+|failsafe inactive after [0-9]+ ms' \
  "$out/artifacts"/*-patroni-dcs-restore | sort -u || true
grep -rhoE 'pg-0[0-2] (invalid auth token|read timeouts|warnings and errors|kept the primary while paused): [0-9]+' "$out/artifacts"/*-patroni-* | sort -u || true

secrets_in_no_report "$name" "$out"

step "down"
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "PASS patroni_dcs_nspawn"
