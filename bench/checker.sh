#!/usr/bin/env bash
# The linearizability checker (harness/check/): a synthetic 10,000-operation history of
# 8 clients (on 4 keys, on one key, and with one stale read), and the 52 Jepsen etcd
# histories of ../shared/histories/jepsen-etcd against their published verdicts. RUNS
# times each (default 3); writes the "checker" section of docs/PERFORMANCE.md.
#   bench/checker.sh [RUNS]
#   CHECKER_BENCH=path/to/dcslab_checker_bench  (default: build/bench/, built first)
#   DCSLAB_JEPSEN_HISTORIES=folder              (default: shared/histories/jepsen-etcd
#                                                beside this checkout or an ancestor)
# No lab, no root: it only computes.
# lib.sh builds all of dcslab unless DCSLAB is set; this bench needs only its own tool.
DCSLAB=${DCSLAB:-unused}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$BENCH_TMP"' EXIT
runs=${1:-3}
machine=$(machine_line)
tool=${CHECKER_BENCH:-$PWD/build/bench/dcslab_checker_bench}
if [ -z "${CHECKER_BENCH:-}" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build dcslab_checker_bench >/dev/null
fi
[ -x "$tool" ] || { echo "no checker bench tool at $tool" >&2; exit 1; }
jepsen=${DCSLAB_JEPSEN_HISTORIES:-}
if [ -z "$jepsen" ]; then
  d=$PWD
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    if [ -f "$d/shared/histories/jepsen-etcd/verdicts.tsv" ]; then jepsen=$d/shared/histories/jepsen-etcd; break; fi
  done
fi
[ -f "$jepsen/verdicts.tsv" ] || { echo "no Jepsen histories (set DCSLAB_JEPSEN_HISTORIES)" >&2; exit 1; }

# field NAME LINE: the value of NAME=... in one of the tool's lines.
field() { sed -n "s/.*[ ^]$1=\"\{0,1\}\([^\" ]*\).*/\1/p" <<<" $2"; }

declare -A raw steps
# synthetic KEY ARGS...: runs the tool on a synthetic history, appends its checker time.
synthetic() {
  local key=$1; shift
  local line
  line=$("$tool" synthetic "$@" 2>"$BENCH_TMP/$key.explanation") || { echo "$line" >&2; exit 1; }
  raw[$key]="${raw[$key]:-} $(field seconds "$line")"
  steps[$key]=$(field steps "$line")
}

for r in $(seq "$runs"); do
  echo "run $r: synthetic histories, Jepsen histories"
  synthetic keys4 --ops 10000 --clients 8 --keys 4
  synthetic keys1 --ops 10000 --clients 8 --keys 1
  synthetic stale --ops 10000 --clients 8 --keys 4 --stale
  t0=$(now)
  "$tool" jepsen "$jepsen" >"$BENCH_TMP/jepsen.txt" || { cat "$BENCH_TMP/jepsen.txt" >&2; exit 1; }
  raw[jepsen_wall]="${raw[jepsen_wall]:-} $(elapsed "$t0")"
  last=$(tail -1 "$BENCH_TMP/jepsen.txt")
  raw[jepsen]="${raw[jepsen]:-} $(field seconds "$last")"
done
files=$(field files "$last")
agree=$(field agree "$last")
slowest=$(grep '^file=' "$BENCH_TMP/jepsen.txt" | sort -t= -k6 -g | tail -1)

ms() { awk -v s="$1" 'BEGIN {printf "%.1f ms", s * 1000}'; }
msl() { for v in $1; do printf '%s ' "$(awk -v s="$v" 'BEGIN {printf "%.1f", s * 1000}')"; done; }
row() {
  local m; m=$(echo "${raw[$2]}" | median)
  printf '| %s | %s | %s | %s |\n' "$1" "$(ms "$m")" "$3" "$(msl "${raw[$2]}")"
}
target() {
  local m; m=$(echo "${raw[$1]}" | median)
  awk -v m="$m" 'BEGIN {print (m < 10) ? "< 10 s: met" : "< 10 s: missed"}'
}
{
  echo "## Linearizability checker"
  echo
  echo "Written by \`bench/checker.sh $runs\` on $(date -u +%Y-%m-%d) — $machine."
  echo "The checker's own time (\`check_linearizable\`, measured inside \`dcslab_checker_bench\`:"
  echo "not generating or reading the history), median of $runs runs; one thread."
  echo
  echo "| history | median | target | runs (ms) |"
  echo "|---|---|---|---|"
  row "synthetic, 10,000 ops, 8 clients, 4 keys (linearizable; ${steps[keys4]} search steps)" keys4 "$(target keys4)"
  row "synthetic, 10,000 ops, 8 clients, 1 key (all clients on one register; ${steps[keys1]} steps)" keys1 ""
  row "synthetic, 10,000 ops, 8 clients, 4 keys, one read made stale (verdict, shortest failing prefix and explanation; ${steps[stale]} steps)" stale ""
  row "the $files Jepsen etcd histories, all together ($agree of $files verdicts agree)" jepsen ""
  row "the same, whole tool (reading the 52 files too), wall clock" jepsen_wall ""
  echo
  echo "The synthetic histories (\`check/synthetic.h\`, seed 1): each client runs puts, reads"
  echo "and compare-and-sets one after another against a simulated store, each op taking"
  echo "effect inside its interval (so the history is linearizable by construction), values"
  echo "unique, revisions etcd's; 2% of the ops get no answer (half of those take effect, some"
  echo "long after) and 1% fail."
  echo
  echo "Jepsen's histories are small (73-90 ops on one register): they test the verdicts more"
  echo "than the speed. The slowest of the last run: \`$(field file "$slowest")\`, $(ms "$(field seconds "$slowest")") ($(field steps "$slowest") steps)."
  echo
  echo "Target: 10,000 operations of 8 clients checked in under 10 s on this 2-core machine."
} >"$BENCH_TMP/section.md"
write_section checker "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
