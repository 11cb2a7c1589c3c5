#!/usr/bin/env bash
# The lab document's whole suite (scenarios/seed/) on nspawn, RUNS times, each on a
# fresh isolated lab:
#   dcslab --isolated --provider nspawn run scenarios/seed/ --down --json R
# and where its time goes: the eight sections' own time (the report's, boot and down
# excluded), each section's median, and the slowest steps (the slowest node's time).
#   bench/seed_nspawn.sh [RUNS]       (about a minute a run; needs root)
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
machine=$(machine_line)
lab=(--lab "$SEED_LAB" --name bench-seed-nspawn --provider nspawn)
trap '"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1 || true
"$DCSLAB" image build >/dev/null  # a cold image build is bench/lab_up.sh's row, not this

whole=(); loads=()
for r in $(seq "$runs"); do
  echo "run $r: up, the suite, down"
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  t=$(now)
  "$DCSLAB" --isolated "${lab[@]}" run scenarios/seed/ --down --json "$BENCH_TMP/run-$r.json" \
    >"$BENCH_TMP/last.log" 2>&1 || { cat "$BENCH_TMP/last.log" >&2; exit 1; }
  whole+=("$(elapsed "$t")")
done

mw=$(echo "${whole[*]}" | median)
{
  echo "## The lab document's suite on nspawn, and where its time goes"
  echo
  echo "Written by \`bench/seed_nspawn.sh $runs\` on $(date -u +%Y-%m-%d) — $machine;"
  echo "the 1-minute load average at each run's start: ${loads[*]}."
  echo "Median of $runs runs, each on a fresh lab."
  echo
  echo "| what | median | target | runs |"
  echo "|---|---|---|---|"
  echo "| \`dcslab --isolated --provider nspawn run scenarios/seed/ --down\` (up, 8 sections, down), whole command | $(fmt2 "$mw") s | | $(list2 "${whole[*]}")|"
  python3 - "$BENCH_TMP"/run-*.json <<'PY'
import json, statistics, sys
reports = [json.load(open(f)) for f in sys.argv[1:]]
suite = [r["seconds"] for r in reports]
m = statistics.median(suite)
print(f"| the eight sections (the report's time: boot and down excluded) | {m:.2f} s | "
      f"≤ 30 s: {'met' if m <= 30 else 'missed'} | {' '.join(f'{x:.2f}' for x in suite)} |")
print()
print("Each section's median, and the ten slowest steps by median (the slowest node's")
print("time; runs in order):")
print()
print("| section / step | median | runs |")
print("|---|---|---|")
steps = []
for i, sc in enumerate(reports[0]["scenarios"]):
    per_run = [r["scenarios"][i] for r in reports]
    secs = [s["seconds"] for s in per_run]
    print(f"| {sc['name']} | {statistics.median(secs):.2f} s | {' '.join(f'{x:.2f}' for x in secs)} |")
    for j, st in enumerate(sc["steps"]):
        t = [max([n.get("seconds", 0) for n in s["steps"][j].get("nodes") or []] or [0])
             for s in per_run]
        steps.append((statistics.median(t), sc["name"], st["name"], t))
for med, section, name, t in sorted(steps, key=lambda s: -s[0])[:10]:
    print(f"| &nbsp;&nbsp;{section}: {name} | {med:.2f} s | {' '.join(f'{x:.2f}' for x in t)} |")
PY
  echo
  echo "Most of what is left is the document's own work: \`apt install\` of etcd on three"
  echo "nodes at once, RSA 4096 keys (\`openssl genrsa\`: a prime search whose time varies"
  echo "from run to run), etcd restarts, and etcd's own wait before it accepts a third"
  echo "member (the leader must have been connected to every voting member for 5 s)."
  echo "On nspawn the lab's drop-in gives etcd its default raft timing (heartbeat 100 ms,"
  echo "election 1000 ms; 10-install); the VMs keep 500 ms / 5000 ms."
} >"$BENCH_TMP/section.md"
write_section seed_nspawn "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
