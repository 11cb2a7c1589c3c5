#!/usr/bin/env bash
# Per-command overhead: N (default 200) `dcslab exec dcs-00 -- true` against N
# `ssh dcs-00 true` through OpenSSH with ControlMaster (one master connection, each
# command a new channel on it) to the same node, side by side in one run, RUNS times;
# the medians, per command, and the ratio. OpenSSH reaches the node the way
# `dcslab ssh-config` says: a ProxyCommand through `dcslab proxy`, which enters the lab's
# network namespace (only the master's connection goes through it).
#   bench/exec_overhead.sh [RUNS]      PROVIDERS="nspawn libvirt" N=200
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
n=${N:-200}
providers=${PROVIDERS:-nspawn}
machine=$(machine_line)
up=()  # the providers whose lab this run brought up
cleanup() {
  local p
  for p in "${up[@]}"; do "$DCSLAB" --lab "$SEED_LAB" --name "bench-exec-$p" --provider "$p" down >/dev/null 2>&1; done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

rows=""
for provider in $providers; do
  name=bench-exec-$provider
  lab=(--lab "$SEED_LAB" --name "$name" --provider "$provider")
  up+=("$provider")
  "$DCSLAB" "${lab[@]}" down >/dev/null 2>&1 || true
  echo "lab up ($provider)"
  "$DCSLAB" "${lab[@]}" up --isolated >/dev/null 2>&1
  cfg=$BENCH_TMP/ssh_config-$provider
  # ControlMaster first: the first value ssh reads for an option is the one it uses.
  { printf 'Host *\n  ControlMaster auto\n  ControlPath %s/cm-%%C\n  ControlPersist 10m\n  LogLevel ERROR\n\n' "$BENCH_TMP"
    "$DCSLAB" "${lab[@]}" ssh-config; } >"$cfg"
  ssh -F "$cfg" dcs-00 true  # the master connection
  "$DCSLAB" "${lab[@]}" exec dcs-00 -- true  # starts the lab's exec multiplexer
  [ -S "${DCSLAB_HOME:-$HOME/.local/share/dcslab}/labs/$name/exec-mux.sock" ] || { echo "no exec multiplexer socket" >&2; exit 1; }
  masters=("$BENCH_TMP"/cm-*)
  [ -S "${masters[0]}" ] || { echo "no ControlMaster socket" >&2; exit 1; }
  dc=() ; ss=()
  for r in $(seq "$runs"); do
    echo "run $r: $n x dcslab exec, $n x ssh (ControlMaster), $provider"
    t=$(now); for _ in $(seq "$n"); do "$DCSLAB" "${lab[@]}" exec dcs-00 -- true; done; dc+=("$(elapsed "$t")")
    t=$(now); for _ in $(seq "$n"); do ssh -F "$cfg" dcs-00 true; done; ss+=("$(elapsed "$t")")
  done
  ssh -F "$cfg" -O exit dcs-00 2>/dev/null || true
  "$DCSLAB" "${lab[@]}" down >/dev/null
  md=$(echo "${dc[*]}" | median); ms=$(echo "${ss[*]}" | median)
  ratio=$(awk -v a="$md" -v b="$ms" 'BEGIN {printf "%.2f", a / b}')
  per_d=$(awk -v a="$md" -v n="$n" 'BEGIN {printf "%.1f", a * 1000 / n}')
  per_s=$(awk -v a="$ms" -v n="$n" 'BEGIN {printf "%.1f", a * 1000 / n}')
  verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 1.0) ? "met" : "missed"}')
  rows+="| $provider | $(fmt2 "$md") s ($per_d ms each) | $(fmt2 "$ms") s ($per_s ms each) | ${ratio}× | $verdict | $(list2 "${dc[*]}")/ $(list2 "${ss[*]}") |"$'\n'
  echo "$provider: dcslab exec $md s, ssh ControlMaster $ms s, ratio $ratio"
done

{
  echo "## Per-command overhead: \`dcslab exec\` against OpenSSH with ControlMaster"
  echo
  echo "Written by \`bench/exec_overhead.sh $runs\` (N=$n) on $(date -u +%Y-%m-%d) — $machine."
  echo "Each run: $n × \`dcslab exec dcs-00 -- true\`, then $n × \`ssh -F <ssh-config> dcs-00 true\` with a"
  echo "ControlMaster already connected; wall clock for all $n, median of $runs runs."
  echo
  echo "| provider | dcslab exec | ssh, ControlMaster | ratio | target ≤ 1.0× | runs (exec / ssh) |"
  echo "|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  echo "Target: \`dcslab exec\` costs no more per command than OpenSSH with ControlMaster."
  echo "What each includes: a \`dcslab exec\` is a whole process — load the lab file, the state and"
  echo "the node's pinned key, hand the command to the lab's exec multiplexer over a Unix socket,"
  echo "which runs it on one more channel of a session it keeps open (the first exec, before the"
  echo "runs, started it). OpenSSH with ControlMaster does the same with its master: each \`ssh\`"
  echo "hands its command over a Unix socket and the master opens one more channel."
} >"$BENCH_TMP/section.md"
write_section exec_overhead "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
