#!/usr/bin/env bash
# The harness's own peak memory (maximum resident set size, /usr/bin/time -v) for
# `dcslab up`, `dcslab run scenarios/seed/`, a step printing 1 GiB (the output limit keeps
# 16 MiB of it) and `dcslab exec`, RUNS times each, on
# PROVIDER (default nspawn). GNU time reports the peak of dcslab and of the short
# helpers it waited for (ip, tar, ...), whichever is larger; the machines
# (systemd-nspawn, a private libvirtd, QEMU) outlive the command and are not counted.
#   bench/rss.sh [RUNS]      PROVIDER=nspawn|libvirt
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
provider=${PROVIDER:-nspawn}
machine=$(machine_line)
lab=(--lab "$SEED_LAB" --name "bench-rss-$provider" --provider "$provider")
trap '"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1; rm -rf "$BENCH_TMP"' EXIT
"$DCSLAB" "${lab[@]}" down >/dev/null 2>&1 || true

# peak KEY COMMAND...: runs COMMAND under /usr/bin/time -v and appends its maximum
# resident set size in MiB to raw[KEY].
declare -A raw
peak() {
  local key=$1; shift
  /usr/bin/time -v -o "$BENCH_TMP/time.txt" "$@" >"$BENCH_TMP/last.log" 2>&1 ||
    { cat "$BENCH_TMP/last.log" >&2; exit 1; }
  local kb
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_TMP/time.txt")
  raw[$key]="${raw[$key]:-} $(awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}')"
}

# A node printing 1 GiB on stdout in one step: dcslab keeps the first 16 MiB (the default
# output limit), counts the rest and drops it as it arrives.
cat >"$BENCH_TMP/flood.yaml" <<'YAML'
name: flood
steps:
  - name: one GiB on stdout
    on: dcs-00
    run: head -c 1G /dev/zero | tr '\0' a
    timeout: 10m
    expect: {stdout: {matches: '^a+$'}}
YAML

for r in $(seq "$runs"); do
  echo "run $r: up, seed suite, exec ($provider)"
  peak up "$DCSLAB" "${lab[@]}" up --isolated
  peak exec "$DCSLAB" "${lab[@]}" exec dcs-00 -- true
  peak suite "$DCSLAB" "${lab[@]}" run scenarios/seed/
  peak flood "$DCSLAB" "${lab[@]}" run "$BENCH_TMP/flood.yaml"
  grep -q "stdout: $(( (1 << 30) - (16 << 20) )) bytes past the output limit dropped" \
    "$BENCH_TMP/last.log" || { cat "$BENCH_TMP/last.log" >&2; echo "flood: no dropped bytes reported" >&2; exit 1; }
  "$DCSLAB" "${lab[@]}" down >/dev/null
done

row() {
  local m; m=$(echo "${raw[$2]}" | median)
  printf '| %s | %s MiB | %s | %s |\n' "$1" "$(printf '%.1f' "$m")" \
    "$(awk -v m="$m" 'BEGIN {print (m <= 50) ? "met" : "missed"}')" "$(list2 "${raw[$2]}")"
}
{
  echo "## Peak memory of the harness"
  echo
  echo "Written by \`bench/rss.sh $runs\` on $(date -u +%Y-%m-%d) — $machine; provider $provider."
  echo "Maximum resident set size of the dcslab process (\`/usr/bin/time -v\`), median of $runs runs."
  echo
  echo "| command | peak RSS | target ≤ 50 MiB | runs |"
  echo "|---|---|---|---|"
  row "\`dcslab up --isolated\` (3 nodes)" up
  row "\`dcslab run scenarios/seed/\` (the lab document's 8 sections, on the lab up)" suite
  row "\`dcslab run flood.yaml\`: one step printing 1 GiB of \"a\" (\`head -c 1G\` through \`tr\`), 16 MiB kept" flood
  row "\`dcslab exec dcs-00 -- true\`" exec
  echo
  echo "The figure is the larger of dcslab's own peak and that of the short helpers it waits"
  echo "for (ip, tar); the machines (systemd-nspawn, a private libvirtd, QEMU) outlive the"
  echo "command and are the lab's, not the harness's."
} >"$BENCH_TMP/section.md"
write_section rss "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
