# shellcheck shell=bash
# Shared by the benchmarks (sourced). Each benchmark writes one section of
# docs/PERFORMANCE.md, between "<!-- bench:NAME -->" and "<!-- /bench:NAME -->", and
# leaves the other sections as they are, so each can be rerun on its own:
#   bench/<name>.sh [RUNS]
# The binary: $DCSLAB if set, else build/harness/dcslab (built first with scripts/build).
# Every lab runs isolated: dcslab creates a network namespace for it and removes it at
# down, so no lab traffic leaves the namespace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${DCSLAB:-}" ]; then
  bash scripts/build >/dev/null
  DCSLAB=$PWD/build/harness/dcslab
fi
PERF=docs/PERFORMANCE.md
# shellcheck disable=SC2034  # for the benchmarks that source this file
BENCH_TMP=$(mktemp -d)
# The seed's lab. A benchmark runs it under a name of its own and on the provider it
# measures with dcslab's global options: --lab "$SEED_LAB" --name NAME --provider P.
# shellcheck disable=SC2034  # for the benchmarks that source this file
SEED_LAB=$PWD/fixtures/labs/dcs.yaml

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
fmt2() { printf '%.2f' "$1"; }
list2() { for v in $1; do printf '%s ' "$(fmt2 "$v")"; done; }

# bench_fresh_run NAME ARGS...: `dcslab --isolated "${lab[@]}" run --seed 4242 ARGS...` on a
# new lab (the caller's array `lab`: --lab, --name, --provider), taken down after; its
# JSON report is $BENCH_TMP/NAME.json, its transcript NAME.md, its log NAME.log, its wall
# clock NAME.wall. A failed run is a finding, not noise: its failed scenarios go to
# $BENCH_TMP/failed.txt (failed_runs prints them) and the caller leaves it out of medians;
# its report, transcript and artifacts (per-step output, the nodes' journals) are kept
# under $DCSLAB_HOME/runs/bench-NAME-<time>/, which a passed run does not keep.
# shellcheck disable=SC2154  # lab: the caller's
bench_fresh_run() {
  local name=$1 t rc kept art=()
  shift
  kept=${DCSLAB_HOME:-$HOME/.local/share/dcslab}/runs/bench-$name-$(date -u +%Y%m%dT%H%M%SZ)
  # A caller that reads the artifacts names their folder itself (bench/patroni.sh).
  case " $* " in *" --artifacts "*) ;; *) art=(--artifacts "$kept") ;; esac
  "$DCSLAB" "${lab[@]}" down >/dev/null 2>&1 || true
  t=$(now)
  set +e
  "$DCSLAB" --isolated "${lab[@]}" run --seed 4242 "$@" --json "$BENCH_TMP/$name.json" \
    --transcript "$BENCH_TMP/$name.md" "${art[@]}" >"$BENCH_TMP/$name.log" 2>&1
  rc=$?
  set -e
  elapsed "$t" >"$BENCH_TMP/$name.wall"
  if [ "$rc" != 0 ]; then
    # The lab goes next: each running node's journal of this boot goes with the report.
    mkdir -p "$kept"
    local node
    for node in $("$DCSLAB" "${lab[@]}" status 2>/dev/null | awk '$2 == "running" {print $1}'); do
      "$DCSLAB" "${lab[@]}" exec -u root "$node" -- journalctl -b --no-pager -o short-precise \
        >"$kept/journal-$node.txt" 2>&1 || true
    done
  fi
  "$DCSLAB" "${lab[@]}" down >/dev/null
  if [ "$rc" = 0 ]; then
    rm -rf "$kept"
  else
    cp "$BENCH_TMP/$name".{json,md,log} "$kept/" 2>/dev/null || true
    echo "run $name failed (exit $rc); its report, transcript, artifacts and node journals: $kept; its log ends:" >&2
    tail -n 30 "$BENCH_TMP/$name.log" >&2
    grep -E '^== .*: FAILED' "$BENCH_TMP/$name.log" | sed "s/^/$name: /" >>"$BENCH_TMP/failed.txt" ||
      echo "$name: exit $rc" >>"$BENCH_TMP/failed.txt"
  fi
}

# failed_runs: the section's paragraph on the runs bench_fresh_run saw fail.
failed_runs() {
  if [ -s "$BENCH_TMP/failed.txt" ]; then
    echo "Failed runs (their scenarios are left out of the medians above):"
    sed 's/^/- /' "$BENCH_TMP/failed.txt"
  else
    echo "Every run passed."
  fi
}

# The machine and its load, for the section's header.
machine_line() {
  echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# write_section NAME FILE: replaces (or appends) section NAME of docs/PERFORMANCE.md with
# FILE's text.
write_section() {
  local name=$1 body=$2
  [ -f "$PERF" ] || printf '# Performance\n' >"$PERF"
  python3 - "$PERF" "$name" "$body" <<'PY'
import re, sys
perf, name, body_file = sys.argv[1:]
text = open(perf).read()
body = open(body_file).read().rstrip("\n")
block = f"<!-- bench:{name} -->\n{body}\n<!-- /bench:{name} -->"
pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda m: block, text)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(perf, "w").write(text if text.endswith("\n") else text + "\n")
PY
}
