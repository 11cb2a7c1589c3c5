#!/usr/bin/env bash
# Upgrade path a (the rolling etcd upgrade 3.4.23 -> 3.5.16 without authentication)
# under a running Patroni cluster, on one nspawn lab of six machines
# (fixtures/labs/patroni.yaml) isolated in a network namespace dcslab creates: the seed
# up to 80-replication and patroni/10-bootstrap, then patroni-noauth/10-dcs-auth-off
# (authentication off, Patroni restarted without its etcd user while PostgreSQL runs on)
# and patroni-dcs/20-etcd-rolling-upgrade under a PostgreSQL writer. The history says
# no split brain and no lost acknowledged insert, one tenure on one timeline; Patroni
# logged no authentication and no invalid token; `--down` leaves nothing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

patroni_lab e2e-patroni-noauth

step "authentication off, then the rolling upgrade, on a fresh lab"
patroni_run "boot, seed, bootstrap, auth off and the upgrade" \
  "$SRC/scenarios/patroni-noauth/10-dcs-auth-off.yaml" "$SRC/scenarios/patroni-dcs/20-etcd-rolling-upgrade.yaml"
expect_eq "exit status" "$rc" 0
grep -q '^ok: 11 scenarios, 11 passed, 0 failed' "$out/run.log" || fail "not every scenario passed"
# the order: the auth-off scenario before the upgrade, both after the bootstrap
order=$(sed -nE 's/^== (patroni-bootstrap|patroni-dcs-auth-off|patroni-etcd-rolling-upgrade) \(.*/\1/p' "$out/run.log" | paste -sd' ')
expect_eq "the last three scenarios, in order" "$order" \
  "patroni-bootstrap patroni-dcs-auth-off patroni-etcd-rolling-upgrade"

step "what the upgrade saw without authentication"
pg_history_one_tenure "$out/artifacts" etcd-rolling-upgrade
# Both checks are the scenarios' own output: authentication was off before and after,
# and no Patroni node met a token (none logged an invalid one).
grep -rhqE '^https://[0-9.]+:2379 authentication off$' "$out/artifacts"/*-patroni-etcd-rolling-upgrade ||
  fail "the upgrade did not report authentication off"
grep -rhoE 'pg-0[0-2] (log lines|warnings and errors|kept the primary while paused): [0-9]+' "$out/artifacts"/*-patroni-etcd-rolling-upgrade | sort -u || true
counts=$(grep -rhoE 'pg-0[0-2] invalid auth token: [0-9]+' "$out/artifacts"/*-patroni-etcd-rolling-upgrade | sort -u)
printf '%s\n' "$counts"
expect_eq "nodes that logged no invalid token" "$(printf '%s\n' "$counts" | grep -c ': 0$')" 3

secrets_in_no_report "$name" "$out"

step "down"
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "PASS patroni_noauth_nspawn"
