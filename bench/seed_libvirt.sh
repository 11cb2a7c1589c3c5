#!/usr/bin/env bash
# The lab document's whole suite (scenarios/seed/) on libvirt (QEMU TCG), cold against
# from a snapshot, and what a revert costs, RUNS times each:
#   cold:           dcslab --isolated run scenarios/seed/ --down    (boot, suite, down)
#   from snapshot:  dcslab snapshot revert fresh && dcslab run scenarios/seed/
#                   on a lab brought up once and saved as `fresh` right after up
#   revert:         the revert's own figures: memory (pause, loadvm, resume) and clocks
#                   (SSH to every node, read and set its clock)
#   bench/seed_libvirt.sh [RUNS]       (about 10 minutes a run on 2 cores)
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
machine=$(machine_line)
lab=$(bench_lab bench-seed libvirt)
trap '"$DCSLAB" --lab "$lab" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" --lab "$lab" down >/dev/null 2>&1 || true

run_logged() { "$@" >"$BENCH_TMP/last.log" 2>&1 || { cat "$BENCH_TMP/last.log" >&2; exit 1; }; }

cold=(); warm=(); rev_total=(); rev_mem=(); rev_clk=()
for r in $(seq "$runs"); do
  echo "run $r: cold (up, suite, down)"
  t=$(now); run_logged "$DCSLAB" --isolated --lab "$lab" run scenarios/seed/ --down; cold+=("$(elapsed "$t")")
done
echo "up once, saved as fresh"
run_logged "$DCSLAB" --lab "$lab" up --isolated
run_logged "$DCSLAB" --lab "$lab" snapshot save fresh
for r in $(seq "$runs"); do
  echo "run $r: from the snapshot (revert, suite)"
  t=$(now)
  run_logged "$DCSLAB" --lab "$lab" snapshot revert fresh
  rev_total+=("$(elapsed "$t")")
  rev_mem+=("$(sed -n 's/.* reverted to fresh in \([0-9.]*\) s.*/\1/p' "$BENCH_TMP/last.log")")
  rev_clk+=("$(sed -n 's/.*clocks set from the host in \([0-9.]*\) s.*/\1/p' "$BENCH_TMP/last.log")")
  run_logged "$DCSLAB" --lab "$lab" run scenarios/seed/
  warm+=("$(elapsed "$t")")
done
"$DCSLAB" --lab "$lab" down >/dev/null

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
} >"$BENCH_TMP/section.md"
write_section seed_libvirt "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
