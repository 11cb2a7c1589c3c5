#!/usr/bin/env bash
# The writer and check_writes on real clusters (nspawn machines), each on a fresh lab:
#   - etcd 3.4.23 with authentication: fixtures/e2e/writes.yaml, after the lab
#     document's suite up to 80-replication, keeps a writer putting through all three
#     members while etcd restarts on one and stops for a while on another;
#   - etcd 3.5.16 without authentication: fixtures/e2e/writes-3.5.yaml, after the
#     rolling upgrade of scenarios/upgrades/10-rolling-noauth.yaml, while etcd restarts.
# The check must find no lost write, no stale read and no diverged member (3.4: the
# members' range digests; 3.5: etcd's HashKV). Both writers compare-and-set a third of
# the time (an etcd txn through the gateway) and check_writes runs the linearizability
# checker over the whole history (model: linearizable): it must say linearizable, and
# the script prints how long it took. Three watches of the writer's keys (the `watcher`
# action, one through each member) must pass the watch check: ordered, unique, atomic,
# reliable, resumable, every event a write of the history. The history is an artifact of the run
# (writes-<scenario>-<writer>.json) with its verdict; no password reaches a report.
# Prints writes per second and the check's run time.
# Network safety: every lab is up --isolated, so its addresses live only in the network
# namespace (netns dcslab-<lab>) dcslab creates for it and deletes at down; the writer
# runs inside dcslab, which enters that namespace before it starts any thread.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

out=$(mktemp -d)
E2E_LAB=()
cleanup() {
  [ ${#E2E_LAB[@]} -eq 0 ] || "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT

# writes NAME SCENARIO HISTORY METHOD: the scenario on a fresh lab NAME; its history
# must pass, with member hashes taken by METHOD.
writes() {
  local name=$1 scenario=$2 history=$3 method=$4 start rc recheck
  E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider nspawn)
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  "$DCSLAB" "${E2E_LAB[@]}" image build >/dev/null

  step "$scenario on a fresh lab (what it requires first)"
  start=$(date +%s)
  set +e
  "$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/fixtures/e2e/$scenario" \
    --artifacts "$out/$name" >"$out/$name.log" 2>&1
  rc=$?
  set -e
  grep -v '  ✓ ' "$out/$name.log" || true
  expect_eq "exit status of $scenario" "$rc" 0
  echo "run with boot and what it requires: $(( $(date +%s) - start ))s"

  step "the history and its verdict"
  [ -f "$out/$name/$history" ] || fail "no history $history in: $(ls "$out/$name")"
  python3 - "$out/$name/$history" "$method" <<'PY' || fail "the history does not show what it must"
import json, sys
h = json.load(open(sys.argv[1]))
c = h["check"]
puts = [o for o in h["ops"] if o["kind"] == "put"]
finals = [o for o in h["ops"] if o.get("final")]
print(f"history: {len(h['ops'])} operations, {c['acknowledged']} acknowledged, {c['failed']} failed, "
      f"{c['indeterminate']} indeterminate, {c['reads']} reads, {c['final_reads']} final reads, "
      f"lost {c['lost']}, stale {c['stale']}, unexplained {c['unexplained']}, diverged {c['diverged']}")
print("hashes:", ", ".join(f"{m['endpoint']} {m['method']} {m['hash'][:16]}@{m['revision']}" for m in h["hashes"]))
assert c["passed"] is True
assert c["lost"] == 0 and c["stale"] == 0 and c["unexplained"] == 0 and c["diverged"] == 0
assert c["acknowledged"] >= 50, "too few acknowledged writes"
assert {o["endpoint"] for o in puts if o["status"] == "ok"} == {"dcs-00", "dcs-01", "dcs-02"}
assert len(finals) == 3 * c["keys"], (len(finals), c["keys"])
assert len(h["hashes"]) == 3 and len({m["hash"] for m in h["hashes"]}) == 1
assert {m["method"] for m in h["hashes"]} == {sys.argv[2]}, [m["method"] for m in h["hashes"]]
cas = [o for o in h["ops"] if o["kind"] == "cas"]
swapped = [o for o in cas if o["status"] == "ok" and o["swapped"]]
print(f"cas: {len(cas)} ({len(swapped)} swapped, "
      f"{sum(1 for o in cas if o['status'] == 'ok' and not o['swapped'])} not swapped, "
      f"{sum(1 for o in cas if o['status'] == 'failed')} failed, "
      f"{sum(1 for o in cas if o['status'] == 'indeterminate')} indeterminate)")
assert len(swapped) >= 15, "too few compare-and-sets swapped"
assert {o["endpoint"] for o in swapped} == {"dcs-00", "dcs-01", "dcs-02"}
lin = h["linearizability"]
print(f"linearizability: {lin['verdict']} over {lin['ops']} ops in {lin['seconds']:.3f} s ({lin['steps']} steps)")
assert lin["verdict"] == "linearizable", lin["report"]
PY
  step "the watches and their verdict"
  watches="${history/writes-/watches-}"
  watches="$out/$name/${watches%-*}-wa.json"
  [ -f "$watches" ] || fail "no watch record in: $(ls "$out/$name")"
  python3 - "$watches" <<'PY' || fail "the watches do not show what they must"
import json, sys
w = json.load(open(sys.argv[1]))
c = w["check"]
print("watches:", c["summary"])
for x in w["watches"]:
    members = sorted({s["endpoint"] for s in x["sessions"]})
    ends = [s["end"] for s in x["sessions"][:-1]]
    print(f"  {x['id']}: {len(x['events'])} events, {len(x['sessions'])} sessions through {', '.join(members)}"
          + (f"; ended: {'; '.join(e[:60] for e in ends)}" if ends else ""))
assert c["passed"] is True, c["findings"][:5]
assert c["watches"] == 3
for x in w["watches"]:
    assert len(x["events"]) >= 50, (x["id"], len(x["events"]))
PY
  [ -z "${DCSLAB_E2E_KEEP:-}" ] || cp "$watches" "$DCSLAB_E2E_KEEP/"

  # DCSLAB_E2E_KEEP=DIR keeps the history for inspection.
  [ -z "${DCSLAB_E2E_KEEP:-}" ] || cp "$out/$name/$history" "$DCSLAB_E2E_KEEP/"
  grep -E 'writer [a-z0-9]+: [0-9]+ puts|check took|^ *linearizability \(' "$out/$name.log" || \
    grep -rhE 'writer [a-z0-9]+: [0-9]+ puts|check took|^ *linearizability \(' "$out/$name" | head -3
  # The saved history re-checked offline gives the same verdict (exit 0: linearizable).
  set +e
  recheck=$("$DCSLAB" check history "$out/$name/$history" 2>&1)
  rc=$?
  set -e
  echo "${recheck%%$'\n'*}"
  expect_eq "dcslab check history on the saved history" "$rc" 0

  if [ -f "$DCSLAB_HOME/labs/$name/secrets/root_password" ]; then
    root_password_in_no_report "$name" "$out"
    echo "ok: the root password is in no report or history"
  fi

  step "down"
  "$DCSLAB" "${E2E_LAB[@]}" down
  expect_nothing_left "$name"
  E2E_LAB=()
}

writes e2e-writes writes.yaml writes-writes-w1.json range-sha256
writes e2e-writes35 writes-3.5.yaml writes-writes-3.5-w35.json hashkv
echo "PASS writes_nspawn"
