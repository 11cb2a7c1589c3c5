#!/usr/bin/env bash
# Measures image build (cold and cached), lab up (three nodes to SSH-ready) for each
# provider, snapshot save/revert (libvirt) and the lab document's whole suite
# (scenarios/seed/, boot included) on nspawn, RUNS times each, and writes the medians
# to its section of docs/PERFORMANCE.md (bench/lib.sh).
#   bench/lab_up.sh [RUNS]        (default 3; needs root; DCSLAB=binary skips the build)
# Every lab runs isolated: dcslab creates a network namespace for it and removes it at
# down, so no lab traffic leaves the namespace.
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
dcslab=$DCSLAB
tmp=$BENCH_TMP
machine=$(machine_line)
# on PROVIDER ARGS...: dcslab on the seed's lab on PROVIDER, named bench-<provider>.
on() { "$dcslab" --lab "$SEED_LAB" --name "bench-$1" --provider "$1" "${@:2}"; }
cleanup() {
  local p
  for p in libvirt nspawn; do on "$p" down >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fmt() { printf '%.2f' "$1"; }

declare -A raw med
measure() {  # measure KEY COMMAND...: one timed run appended to raw[KEY]
  local key=$1; shift
  local t0 t1
  t0=$(now); "$@" >"$tmp/last.log" 2>&1 || { cat "$tmp/last.log" >&2; exit 1; }; t1=$(now)
  raw[$key]="${raw[$key]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
}

echo "image build, cold ($runs runs)"
for _ in $(seq "$runs"); do measure image_cold "$dcslab" image build --force; done
echo "image build, cached ($runs runs)"
for _ in $(seq "$runs"); do measure image_cached "$dcslab" image build; done

for provider in libvirt nspawn; do
  echo "lab up, $provider ($runs runs)"
  for _ in $(seq "$runs"); do
    measure "up_$provider" on "$provider" up --isolated
    on "$provider" down >/dev/null
  done
done

echo "snapshot save / revert, libvirt ($runs runs)"
on libvirt up --isolated >/dev/null 2>&1
for i in $(seq "$runs"); do
  measure snap_save on libvirt snapshot save "b$i"
  measure snap_revert on libvirt snapshot revert "b$i"
  measure exec_after_revert on libvirt exec dcs-00 -- true
done
on libvirt down >/dev/null

echo "seed suite with boot, nspawn ($runs runs)"
for _ in $(seq "$runs"); do
  measure suite_nspawn on nspawn --isolated run scenarios/seed/ --down
done

for k in "${!raw[@]}"; do med[$k]=$(echo "${raw[$k]}" | median); done
row() { printf '| %s | %s s | %s |\n' "$1" "$(fmt "${med[$2]}")" "$(for v in ${raw[$2]}; do printf '%s ' "$(fmt "$v")"; done)"; }

{
  echo "## Lab up, image, snapshots, the suite on nspawn"
  echo
  echo "Written by \`bench/lab_up.sh $runs\` on $(date -u +%Y-%m-%d) — $machine."
  echo "Medians of $runs runs; every run is the whole command, wall clock."
  echo
  echo "| what | median | runs |"
  echo "|---|---|---|"
  row "image build, cold (\`dcslab image build --force\`, mmdebstrap from the Debian mirror)" image_cold
  row "image build, cached (\`dcslab image build\`)" image_cached
  row "lab up, libvirt, 3 nodes to SSH-ready (\`dcslab up --isolated\`, TCG, private libvirtd)" up_libvirt
  row "lab up, nspawn, 3 nodes to SSH-ready (\`dcslab up --isolated --provider nspawn\`)" up_nspawn
  row "snapshot save, libvirt, 3 nodes with memory (\`dcslab snapshot save\`)" snap_save
  row "snapshot revert, libvirt, 3 nodes, clocks corrected (\`dcslab snapshot revert\`)" snap_revert
  row "the first \`dcslab exec dcs-00 -- true\` after a revert (starts the exec multiplexer, opens an SSH session)" exec_after_revert
  row "the lab document's suite, nspawn, boot included (\`dcslab --isolated run scenarios/seed/ --down\`)" suite_nspawn
  echo
  echo "Targets: three VMs SSH-ready in at most 25 s under TCG on 2 cores; a cached image"
  echo "build under 1 s; three nspawn nodes in at most 5 s; a revert of the three-node lab"
  echo "in at most 3 s; the lab document's suite in under 10 minutes."
  echo
  echo "What the figures include: \`lab up\` is the whole command — network namespace, private"
  echo "libvirtd start (0.1-0.3 s; libvirt's QEMU capabilities are kept between labs, so a new"
  echo "daemon does not probe QEMU again), network, overlays, domains started at once, and the"
  echo "wait until every node answers SSH; the KVM probe is cached per host boot. A revert"
  echo "includes setting the guests' clocks through their QEMU guest agents (no SSH login;"
  echo "over SSH it was about 3 s under TCG); SSH sessions are opened by the first command"
  echo "after it, not by the revert. The suite on the VM path, cold and from a snapshot, is"
  echo "measured by bench/seed_libvirt.sh (its section below)."
} >"$tmp/section.md"
write_section lab_up "$tmp/section.md"
cat "$tmp/section.md"
