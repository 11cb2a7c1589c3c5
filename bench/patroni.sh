#!/usr/bin/env bash
# Patroni on the lab document's DCS (scenarios/patroni/): how long the bootstrap takes,
# and per fault the seconds without a writable primary, the demotions and the time to a
# new leader, on nspawn labs: RUNS times (default 3) each on a fresh lab, medians to
# its section of docs/PERFORMANCE.md.
#   bench/patroni.sh [RUNS]
#     PROVIDER=nspawn
#     FOLDERS="scenarios/patroni scenarios/patroni-dcs"   what each run runs, in order
# Each run: `run --seed 4242 scenarios/patroni scenarios/patroni-dcs` on
# fixtures/labs/patroni.yaml (the seed suite builds the DCS first, through requires; the
# etcd upgrade of patroni-dcs comes last, it cannot be undone). Every lab is isolated.
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
folders=${FOLDERS:-scenarios/patroni scenarios/patroni-dcs}
provider=${PROVIDER:-nspawn}
machine=$(machine_line)
lab=(--lab "$PWD/fixtures/labs/patroni.yaml" --name bench-patroni --provider "$provider")
trap '"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" image build >/dev/null

for r in $(seq "$runs"); do
  echo "run $r: $folders ($provider)"
  # shellcheck disable=SC2086  # the folders, one word each
  bench_fresh_run "run-$r" $folders --artifacts "$BENCH_TMP/run-$r"
done

python3 - "$BENCH_TMP" "$runs" "$folders" >"$BENCH_TMP/rows.md" <<'PY'
import json, os, re, statistics, sys
tmp, runs, folders = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def med(xs): return statistics.median(xs)
def fmt(xs, d=1): return " ".join(f"{x:.{d}f}" for x in xs)
rows = []
def row(what, xs, d=1, unit=" s"):
    if xs:
        rows.append(f"| {what} | {med(xs):.{d}f}{unit} | {fmt(xs, d)} |")
    else:
        rows.append(f"| {what} | - | no passed run |")
reports = {}
for r in range(1, runs + 1):
    try:
        reports[r] = json.load(open(f"{tmp}/run-{r}.json"))
    except (OSError, ValueError):
        pass
def scenario_secs(name):
    return [s["seconds"] for rep in reports.values() for s in rep["scenarios"]
            if s["name"] == name and s["passed"]]
row("scenario `patroni-bootstrap` (apt install on 3 nodes, certificates, config, Patroni up, all checks)",
    scenario_secs("patroni-bootstrap"))
walls = [float(open(f"{tmp}/run-{r}.wall").read()) for r in range(1, runs + 1)
         if r in reports and all(s["passed"] for s in reports[r]["scenarios"])]
row(f"`run {folders}` whole (lab up, the seed suite, every Patroni scenario; down excluded; passed runs)", walls)
# Per fault scenario, from its writer history and role timeline (artifacts):
# the longest time without an acknowledged insert, the demotions the role sampler saw
# (a node going leader -> demoted), the time from the first fault to the first sample of
# a leader on a later timeline (none when the primary was kept).
faults = [("switchover", "patronictl switchover"),
          ("failover", "the Patroni leader's node powered off"),
          ("etcd-leader-crash", "the etcd leader powered off"),
          ("etcd-partition", "the etcd member Patroni uses cut off"),
          ("quorum-loss-failsafe", "etcd quorum lost 25 s, failsafe_mode on"),
          ("quorum-loss", "etcd quorum lost 25 s, failsafe_mode off"),
          ("sync-failover", "the leader powered off, synchronous_mode"),
          ("dcs-restore", "every etcd member crashed, its data deleted, the snapshot restored"),
          ("etcd-rolling-upgrade", "etcd 3.4 -> 3.5 rolling, auth on, Patroni paused")]
for key, what in faults:
    unavailable, demotions, new_leader = [], [], []
    for r in reports:
        name = f"patroni-{key}"
        if not any(s["name"] == name and s["passed"] for s in reports[r]["scenarios"]):
            continue
        h = json.load(open(f"{tmp}/run-{r}/pg-writes-{name}-p1.json"))
        roles = json.load(open(f"{tmp}/run-{r}/pg-roles-{name}-p1.json"))
        c = h["check"]
        unavailable.append(c["longest"]["ms"] / 1000)
        last = {}
        n = 0
        for s in roles["spans"]:
            if s["role"] == "demoted" and last.get(s["node"]) == "leader":
                n += 1
            last[s["node"]] = s["role"]
        demotions.append(n)
        # from a fault step's start (switchover and upgrade have none: no such row)
        first = min((f["start_ms"] for f in c["faults"]), default=None)
        tl0 = c["tenures"][0]["timeline"] if c["tenures"] else 0
        later = [s["from_ms"] for s in roles["spans"]
                 if s["role"] == "leader" and (s.get("timeline") or 0) > tl0]
        if first is not None and later:
            new_leader.append((min(later) - first) / 1000)
    row(f"{what} (`{key}`): longest without an acknowledged insert", unavailable, 2)
    row(f"{what}: demotions sampled", demotions, 0, "")
    if new_leader:
        row(f"{what}: a leader on a new timeline after the fault", new_leader, 2)
# The restore's remedy (scenarios/patroni-dcs/10-dcs-restore.yaml), from the transcript.
cleared = []
for r in reports:
    if not any(s["name"] == "patroni-dcs-restore" and s["passed"] for s in reports[r]["scenarios"]):
        continue  # a failed restore's "failsafe inactive" may name another leader
    try:
        md = open(f"{tmp}/run-{r}.md").read()
    except OSError:
        continue
    cleared += [int(m) / 1000 for m in re.findall(r"failsafe inactive after (\d+) ms", md)]
if cleared:
    row("after the restore: the leader out of failsafe, from the raft index passing the old one", cleared, 2)
print("\n".join(rows))
PY

{
  echo "## Patroni on the DCS"
  echo
  echo "Written by \`bench/patroni.sh $runs\` on $(date -u +%Y-%m-%d) — $machine; provider $provider."
  echo "Each run on a fresh isolated lab: \`dcslab run --seed 4242 $folders\` on"
  echo "fixtures/labs/patroni.yaml (the seed suite builds the DCS first). Medians of $runs runs; a"
  echo "scenario's time is the JSON report's, a whole run's is the command's wall clock; the"
  echo "fault figures come from each scenario's PostgreSQL writer history (an insert every"
  echo "100 ms) and Patroni role timeline (GET /patroni every 200 ms), docs/PATRONI.md."
  echo
  echo "| what | median | runs |"
  echo "|---|---|---|"
  cat "$BENCH_TMP/rows.md"
  echo
  failed_runs
  echo
  echo "With no outage the longest time without an acknowledged insert is one ordinary gap"
  echo "between two inserts (100-300 ms)."
} >"$BENCH_TMP/section.md"
write_section patroni "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
