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

name=e2e-patroni-noauth
E2E_LAB=(--lab "$SRC/fixtures/labs/patroni.yaml" --name "$name" --provider nspawn)
out=$(mktemp -d)
cleanup() {
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
"$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
"$DCSLAB" image build >/dev/null

step "authentication off, then the rolling upgrade, on a fresh lab"
start=$(date +%s)
set +e
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/scenarios/patroni-noauth/10-dcs-auth-off.yaml" \
  "$SRC/scenarios/patroni-dcs/20-etcd-rolling-upgrade.yaml" --artifacts "$out/artifacts" >"$out/run.log" 2>&1
rc=$?
set -e
grep -v '  ✓ ' "$out/run.log" || true
echo "run with boot, seed, bootstrap, auth off and the upgrade: $(( $(date +%s) - start ))s"
expect_eq "exit status" "$rc" 0
grep -q '^ok: 11 scenarios, 11 passed, 0 failed' "$out/run.log" || fail "not every scenario passed"
# the order: the auth-off scenario before the upgrade, both after the bootstrap
order=$(sed -nE 's/^== (patroni-bootstrap|patroni-dcs-auth-off|patroni-etcd-rolling-upgrade) \(.*/\1/p' "$out/run.log" | paste -sd' ')
expect_eq "the last three scenarios, in order" "$order" \
  "patroni-bootstrap patroni-dcs-auth-off patroni-etcd-rolling-upgrade"

step "what the upgrade saw without authentication"
history=$out/artifacts/pg-writes-patroni-etcd-rolling-upgrade-p1.json
[ -f "$history" ] || fail "no history: $(ls "$out/artifacts")"
python3 - "$history" <<'PY' || fail "the history does not show what it must"
import json, sys
c = json.load(open(sys.argv[1]))["check"]
print("rolling upgrade without authentication: %s" % c["summary"])
assert c["split_brain"] == 0 and c["timeline_forks"] == 0, c
assert c["final_read"] is True and c["lost"] == 0 and c["unexplained"] == 0, c
assert c["writes"] >= 50 and c["acknowledged"] >= 20, c
assert len({(t["node"], t["timeline"]) for t in c["tenures"]}) == 1, c["tenures"]
print("  longest without an acknowledged insert: %.0f ms" % c["longest"]["ms"])
PY
# Both checks are the scenarios' own output: authentication was off before and after,
# and no Patroni node met a token (none logged an invalid one).
grep -rhqE '^https://[0-9.]+:2379 authentication off$' "$out/artifacts"/*-patroni-etcd-rolling-upgrade ||
  fail "the upgrade did not report authentication off"
counts=$(grep -rhoE 'pg-0[0-2] invalid auth token: [0-9]+' "$out/artifacts"/*-patroni-etcd-rolling-upgrade | sort -u)
printf '%s\n' "$counts"
expect_eq "nodes that logged no invalid token" "$(printf '%s\n' "$counts" | grep -c ': 0$')" 3

for secret in "$DCSLAB_HOME/labs/$name"/secrets/*; do
  [ -f "$secret" ] || continue
  ! grep -rqsF -- "$(cat "$secret")" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "secret ${secret##*/} reached a report"
done
echo "ok: no secret is in a report or history"

step "down"
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "PASS patroni_noauth_nspawn"
