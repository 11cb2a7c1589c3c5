#!/usr/bin/env bash
# The lab document's whole suite (scenarios/seed/) on libvirt (QEMU TCG), cold against
# from a snapshot, and what a revert costs, RUNS times each:
#   cold:           dcslab --isolated run scenarios/seed/ --down    (boot, suite, down)
#   from snapshot:  dcslab snapshot revert fresh && dcslab run scenarios/seed/
#                   on a lab brought up once and saved as `fresh` right after up
#   revert:         the revert's own figures: memory (pause, loadvm, resume) and clocks
#                   (every node's guest agent: read, shift, read)
#   where the from-snapshot runs' time goes: each section's median, and every step
#                   that took over 10 s in some run (from the runs' --json reports)
#   bench/seed_libvirt.sh [RUNS]       (about 10 minutes a run on 2 cores)
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
machine=$(machine_line)
lab=(--lab "$SEED_LAB" --name bench-seed --provider libvirt)
trap '"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1 || true

run_logged() { "$@" >"$BENCH_TMP/last.log" 2>&1 || { cat "$BENCH_TMP/last.log" >&2; exit 1; }; }

cold=(); warm=(); rev_total=(); rev_mem=(); rev_clk=()
for r in $(seq "$runs"); do
  echo "run $r: cold (up, suite, down)"
  t=$(now); run_logged "$DCSLAB" --isolated "${lab[@]}" run scenarios/seed/ --down; cold+=("$(elapsed "$t")")
done
echo "up once, saved as fresh"
run_logged "$DCSLAB" "${lab[@]}" up --isolated
run_logged "$DCSLAB" "${lab[@]}" snapshot save fresh
for r in $(seq "$runs"); do
  echo "run $r: from the snapshot (revert, suite)"
  t=$(now)
  run_logged "$DCSLAB" "${lab[@]}" snapshot revert fresh
  rev_total+=("$(elapsed "$t")")
  rev_mem+=("$(sed -n 's/.* reverted to fresh in \([0-9.]*\) s.*/\1/p' "$BENCH_TMP/last.log")")
  rev_clk+=("$(sed -n 's/.*clocks set from the host in \([0-9.]*\) s.*/\1/p' "$BENCH_TMP/last.log")")
  run_logged "$DCSLAB" "${lab[@]}" run scenarios/seed/ --json "$BENCH_TMP/warm-$r.json"
  warm+=("$(elapsed "$t")")
done
"$DCSLAB" "${lab[@]}" down >/dev/null

mc=$(echo "${cold[*]}" | median); mw=$(echo "${warm[*]}" | median)
mr=$(echo "${rev_total[*]}" | median)
{
  echo "## The lab document's suite on libvirt: cold and from a snapshot; the revert"
  echo
  echo "Written by \`bench/seed_libvirt.sh $runs\` on $(date -u +%Y-%m-%d) — $machine; QEMU TCG."
  echo "Median of $runs runs; wall clock of the whole commands."
  echo
  echo "| what | median | target | runs |"
  echo "|---|---|---|---|"
  echo "| cold: \`dcslab --isolated run scenarios/seed/ --down\` (boot, 8 sections, down) | $(fmt2 "$mc") s | | $(list2 "${cold[*]}")|"
  echo "| from a snapshot: \`snapshot revert fresh\`, then \`run scenarios/seed/\` | $(fmt2 "$mw") s | ≤ 120 s: $(awk -v m="$mw" 'BEGIN {print (m <= 120) ? "met" : "missed"}') | $(list2 "${warm[*]}")|"
  echo "| \`dcslab snapshot revert\`, whole command | $(fmt2 "$mr") s | ≤ 3 s: $(awk -v m="$mr" 'BEGIN {print (m <= 3) ? "met" : "missed"}') | $(list2 "${rev_total[*]}")|"
  echo "| of which the memory revert (pause, loadvm, resume; 3 nodes) | $(fmt2 "$(echo "${rev_mem[*]}" | median)") s | | $(list2 "${rev_mem[*]}")|"
  echo "| of which the clocks (each node's guest agent: read, shift, read) | $(fmt2 "$(echo "${rev_clk[*]}" | median)") s | | $(list2 "${rev_clk[*]}")|"
  echo
  echo "A snapshot saves the boot and the first seconds of a cold lab; the suite's own"
  echo "steps (package configuration, RSA 4096 keys, etcd restarts and elections under"
  echo "emulated CPUs) are the same in both rows. The fresh state is saved right after \`up\`"
  echo "(no scenario has passed on it), the way a scenario's \`from: fresh\` would save it."
  echo
  echo "Where the from-snapshot runs' time goes: each section's median, and the steps that"
  echo "took over 10 s in some run (the slowest node's time; runs in order):"
  echo
  python3 - "$BENCH_TMP"/warm-*.json <<'PY'
import json, statistics, sys
reports = [json.load(open(f)) for f in sys.argv[1:]]
print("| section / step | median | runs |")
print("|---|---|---|")
for i, sc in enumerate(reports[0]["scenarios"]):
    per_run = [r["scenarios"][i] for r in reports]
    secs = [s["seconds"] for s in per_run]
    print(f"| {sc['name']} | {statistics.median(secs):.1f} s | {' '.join(f'{x:.1f}' for x in secs)} |")
    for j, st in enumerate(sc["steps"]):
        t = [max([n.get("seconds", 0) for n in s["steps"][j].get("nodes") or []] or [0]) for s in per_run]
        if max(t) > 10:
            print(f"| &nbsp;&nbsp;{st['name']} | {statistics.median(t):.1f} s | {' '.join(f'{x:.1f}' for x in t)} |")
PY
  echo
  echo "The floor under the 2-minute target is the suite's own commands under emulated CPUs,"
  echo "the same with or without a snapshot: the document's RSA 4096 keys (\`openssl genrsa\`"
  echo "in the TLS section for the CA and dcs-00, in replication for dcs-01 and dcs-02 at once;"
  echo "a prime search whose time varies from run to run), \`apt install\` of etcd on three"
  echo "nodes at once, and the third member's \`systemctl start etcd\` (its cause not yet"
  echo "pinned down)."
} >"$BENCH_TMP/section.md"
write_section seed_libvirt "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
