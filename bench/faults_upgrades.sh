#!/usr/bin/env bash
# How long the fault scenarios and the etcd upgrade paths take, and what they measured
# (time to a new leader, time for a write without quorum to fail), on nspawn labs: RUNS
# times (default 3) each on a fresh lab, medians to its section of docs/PERFORMANCE.md.
#   bench/faults_upgrades.sh [RUNS]
#     UPGRADES="10-rolling-noauth 30-rolling-auth"  the upgrade paths (scenarios/upgrades/;
#                                                   empty: none)
#     PROVIDER=nspawn      libvirt writes a section of its own (faults_upgrades_libvirt)
# Each run: `run --seed 4242 scenarios/faults` (the seed suite builds the cluster first,
# through requires), then each upgrade path on a lab of its own. Every lab is isolated.
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
upgrades=${UPGRADES-10-rolling-noauth 30-rolling-auth}
provider=${PROVIDER:-nspawn}
# nspawn's figures keep their section; another provider's go beside them.
section=faults_upgrades section_title=""
if [ "$provider" != nspawn ]; then
  section=faults_upgrades_$provider section_title=" on $provider"
fi
machine=$(machine_line)
lab=(--lab "$SEED_LAB" --name bench-faults --provider "$provider")
trap '"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" image build >/dev/null

for r in $(seq "$runs"); do
  echo "run $r: scenarios/faults ($provider)"
  bench_fresh_run "faults-$r" scenarios/faults
  for u in $upgrades; do
    echo "run $r: scenarios/upgrades/$u.yaml ($provider)"
    bench_fresh_run "upgrade-$u-$r" "scenarios/upgrades/$u.yaml"
  done
done

python3 - "$BENCH_TMP" "$runs" "$upgrades" >"$BENCH_TMP/rows.md" <<'PY'
import json, re, statistics, sys
tmp, runs, upgrades = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def med(xs): return statistics.median(xs)
def fmt(xs): return " ".join(f"{x:.1f}" for x in xs)
rows = []
def scenario_rows(prefix, names):
    for name in names:
        secs = []
        for r in range(1, runs + 1):
            rep = json.load(open(f"{tmp}/{prefix}-{r}.json"))
            secs += [s["seconds"] for s in rep["scenarios"] if s["name"] == name and s["passed"]]
        if secs:
            rows.append(f"| scenario `{name}` | {med(secs):.1f} s | {fmt(secs)} |")
fault_names = ["leader-crash", "minority-partition", "quorum-loss", "full-disaster"]
scenario_rows("faults", fault_names)
walls = [float(open(f"{tmp}/faults-{r}.wall").read()) for r in range(1, runs + 1)]
rows.append(f"| `run scenarios/faults` whole (lab up, the seed suite, the four faults, down excluded) | {med(walls):.1f} s | {fmt(walls)} |")
leader, noquorum = [], []
for r in range(1, runs + 1):
    md = open(f"{tmp}/faults-{r}.md").read()
    leader += [int(m) / 1000 for m in re.findall(r"new leader dcs-0[0-2] after (\d+) ms", md)]
    noquorum += [int(m) / 1000 for m in re.findall(r"exit \d+ after (\d+) ms", md)]
if leader:
    rows.append(f"| a new leader after the leader's crash (leader-crash; election timeout 1000 ms on nspawn, 5000 ms on VMs: 10-install) | {med(leader):.2f} s | {' '.join(f'{x:.2f}' for x in leader)} |")
if noquorum:
    rows.append(f"| a put without quorum fails (quorum-loss) | {med(noquorum):.2f} s | {' '.join(f'{x:.2f}' for x in noquorum)} |")
for u in upgrades:
    prefix = f"upgrade-{u}"
    rep = json.load(open(f"{tmp}/{prefix}-1.json"))
    name = rep["scenarios"][-1]["name"]
    scenario_rows(prefix, [name])
    walls = [float(open(f"{tmp}/{prefix}-{r}.wall").read()) for r in range(1, runs + 1)]
    rows.append(f"| `run scenarios/upgrades/{u}.yaml` whole (lab up, the cluster, the upgrade) | {med(walls):.1f} s | {fmt(walls)} |")
print("\n".join(rows))
PY

{
  echo "## Faults and etcd upgrade paths${section_title}"
  echo
  echo "Written by \`bench/faults_upgrades.sh $runs\` on $(date -u +%Y-%m-%d) — $machine; provider $provider."
  echo "Each run on a fresh isolated lab: \`dcslab run --seed 4242 scenarios/faults\` (its requires"
  if [ -n "$upgrades" ]; then
    echo "build the lab document's three-member TLS+auth cluster first), then each upgrade path"
    echo "($upgrades) on a lab of its own. Medians of $runs runs; a scenario's time is the"
  else
    echo "build the lab document's three-member TLS+auth cluster first). Medians of $runs runs; a scenario's time is the"
  fi
  echo "JSON report's, a whole run's is the command's wall clock."
  echo
  echo "| what | median | runs |"
  echo "|---|---|---|"
  cat "$BENCH_TMP/rows.md"
  echo
  failed_runs
  echo
  echo "A fault scenario's time includes its own writer and checks (check_writes reads every"
  echo "acknowledged key back); an upgrade path's includes the checks after every member"
  echo "(health, one leader, every key readable, writes, hashkv on all members)."
} >"$BENCH_TMP/section.md"
write_section "$section" "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
