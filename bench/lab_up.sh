#!/usr/bin/env bash
# Measures image build (cold and cached), the image's booted template (libvirt: built by
# the first up after a new image), lab up (three nodes to SSH-ready) from the template
# and cold on libvirt and on nspawn, where a cold VM boot's time goes (systemd-analyze
# in the guests), snapshot save/revert (libvirt) and the lab document's whole suite
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
  add "$key" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
}
# add KEY VALUE: a figure (timed, or read from a command's output) appended to raw[KEY].
add() { raw[$1]="${raw[$1]:-} $2"; }
# must_say TEXT: the last measured command said TEXT (what it did, not only how long).
must_say() {
  grep -qF "$1" "$tmp/last.log" || { echo "expected \"$1\" in:" >&2; cat "$tmp/last.log" >&2; exit 1; }
}

# A new image has no template (it lives in the image's folder): the first libvirt up
# boots one node of the image once, saves it, and restores the three nodes from it.
echo "image build, cold, then the first libvirt up, which builds the image's template ($runs runs)"
for _ in $(seq "$runs"); do
  measure image_cold "$dcslab" image build --force
  measure up_tpl_build on libvirt up --isolated
  must_say "restored from the template"
  secs=$(sed -n 's/.*template [^ ]* booted and saved in \([0-9.]*\) s.*/\1/p' "$tmp/last.log")
  [ -n "$secs" ] || { echo "the first up after a new image built no template:" >&2; cat "$tmp/last.log" >&2; exit 1; }
  add tpl_build "$secs"
  on libvirt down >/dev/null
done
echo "image build, cached ($runs runs)"
for _ in $(seq "$runs"); do measure image_cached "$dcslab" image build; done

# Where up's time goes from the template: each line of its progress timestamped.
echo "lab up, libvirt, from the template ($runs runs)"
for _ in $(seq "$runs"); do
  t0=$(now)
  on libvirt up --isolated 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$(now)" "$l"; done >"$tmp/last.log"
  add up_libvirt "$(elapsed "$t0")"
  must_say "restored from the template"
  read -r host restore identity ssh < <(awk -v t0="$t0" '
    / restoring [0-9]+ nodes from the template/ { a = $1 }
    / resuming [0-9]+ nodes; identity/ { b = $1 }
    / nodes restored from the template / { c = $1 }
    / nodes SSH-ready in / { d = $1 }
    END { if (a && b && c && d) print a - t0, b - a, c - b, d - c }' "$tmp/last.log")
  [ -n "${ssh:-}" ] || { echo "up's progress lacks a phase:" >&2; cat "$tmp/last.log" >&2; exit 1; }
  add tpl_host "$host"
  add tpl_restore "$restore"
  add tpl_identity "$identity"
  add tpl_ssh "$ssh"
  on libvirt down >/dev/null
done

# The cold path, and where its time goes: each guest's own account of its boot
# (systemd-analyze: the kernel, then userspace until the default target), the slowest
# node's; the rest of `up` is the host's (namespace, libvirtd, domains) and the wait
# for SSH. The last run's slowest chain of units is shown below the table.
echo "lab up, libvirt, cold: DCSLAB_TEMPLATE=off ($runs runs)"
for _ in $(seq "$runs"); do
  DCSLAB_TEMPLATE=off measure up_libvirt_cold on libvirt up --isolated
  must_say "booting cold: DCSLAB_TEMPLATE=off"
  wall=$(echo "${raw[up_libvirt_cold]}" | awk '{print $NF}')
  for n in dcs-00 dcs-01 dcs-02; do
    # SSH may answer before the last unit has started: systemd-analyze needs the boot done.
    on libvirt exec "$n" -- systemctl is-system-running --wait >/dev/null || true
    on libvirt exec "$n" -- systemd-analyze time | head -n1 | sed "s/^/$n /"
  done >"$tmp/analyze.txt"
  read -r slowest kernel user < <(python3 - "$tmp/analyze.txt" <<'PY'
import re, sys
def secs(t):  # systemd's spans: "1min 2.345s", "812ms", "3.2s"
    return sum(float(v) * {"min": 60, "s": 1, "ms": 0.001}[u]
               for v, u in re.findall(r"([0-9.]+)(min|ms|s)", t))
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) Startup finished in (.*?) \(kernel\) \+ (.*?) \(userspace\)", line)
    if not m:
        sys.exit("systemd-analyze did not say how long the boot took: " + line.strip())
    rows.append((secs(m[2]) + secs(m[3]), m[1], secs(m[2]), secs(m[3])))
_, node, k, u = max(rows)
print(node, k, u)
PY
)
  [ -n "${user:-}" ] || { echo "no boot times from the guests: $(cat "$tmp/analyze.txt")" >&2; exit 1; }
  add cold_kernel "$kernel"
  add cold_user "$user"
  add cold_rest "$(awk -v w="$wall" -v k="$kernel" -v u="$user" 'BEGIN {print w - k - u}')"
  on libvirt exec "$slowest" -- systemd-analyze critical-chain --no-pager >"$tmp/chain.txt" 2>&1 || true
  on libvirt down >/dev/null
done

echo "lab up, nspawn ($runs runs)"
for _ in $(seq "$runs"); do
  measure up_nspawn on nspawn up --isolated
  on nspawn down >/dev/null
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
# verdict KEY LIMIT: "met" or "missed" for a median against its target.
verdict() { awk -v m="${med[$1]}" -v t="$2" 'BEGIN {print (m <= t ? "met" : "missed")}'; }

{
  echo "## Lab up, image, templates, snapshots, the suite on nspawn"
  echo
  echo "Written by \`bench/lab_up.sh $runs\` on $(date -u +%Y-%m-%d) — $machine."
  echo "Medians of $runs runs; every run is the whole command, wall clock, unless it says"
  echo "otherwise. Libvirt runs under TCG (no KVM here), three nodes of 1024 MiB and 2 vCPUs."
  echo
  echo "| what | median | runs |"
  echo "|---|---|---|"
  row "image build, cold (\`dcslab image build --force\`, mmdebstrap from the Debian mirror)" image_cold
  row "image build, cached (\`dcslab image build\`)" image_cached
  row "the image's template: one node booted and saved, memory and disk (up's own figure)" tpl_build
  row "lab up, libvirt, the image's first: the template built, then 3 nodes restored from it to SSH-ready" up_tpl_build
  row "**lab up, libvirt, from the template**, 3 nodes to SSH-ready (\`dcslab up --isolated\`, private libvirtd)" up_libvirt
  row "**lab up, libvirt, cold**, 3 nodes booted to SSH-ready (\`DCSLAB_TEMPLATE=off dcslab up --isolated\`)" up_libvirt_cold
  row "&nbsp;&nbsp;from the template: the host side (namespace, libvirtd, network, overlays)" tpl_host
  row "&nbsp;&nbsp;from the template: 3 QEMUs started paused from the saved state (1024 MiB each)" tpl_restore
  row "&nbsp;&nbsp;from the template: resumed, identity through the guest agents (dcslab-clone)" tpl_identity
  row "&nbsp;&nbsp;from the template: networkd, sshd's start, the first SSH login of each" tpl_ssh
  row "&nbsp;&nbsp;cold: the guest kernel until it starts systemd (systemd-analyze, the slowest node)" cold_kernel
  row "&nbsp;&nbsp;cold: systemd until the default target (the same node)" cold_user
  row "&nbsp;&nbsp;cold: the rest of up (host side: namespace, libvirtd, domains; QEMU's start; the wait for SSH)" cold_rest
  row "lab up, nspawn, 3 nodes to SSH-ready (\`dcslab up --isolated --provider nspawn\`)" up_nspawn
  row "snapshot save, libvirt, 3 nodes with memory (\`dcslab snapshot save\`)" snap_save
  row "snapshot revert, libvirt, 3 nodes, clocks corrected (\`dcslab snapshot revert\`)" snap_revert
  row "the first \`dcslab exec dcs-00 -- true\` after a revert (starts the exec multiplexer, opens an SSH session)" exec_after_revert
  row "the lab document's suite, nspawn, boot included (\`dcslab --isolated run scenarios/seed/ --down\`)" suite_nspawn
  echo
  echo "Targets: three VMs SSH-ready from the template in at most 5 s under TCG on 2 cores"
  echo "($(verdict up_libvirt 5)), and cold in at most 15 s ($(verdict up_libvirt_cold 15)); a cached image"
  echo "build under 1 s ($(verdict image_cached 1)); three nspawn nodes in at most 5 s ($(verdict up_nspawn 5));"
  echo "a revert of the three-node lab in at most 3 s ($(verdict snap_revert 3))."
  echo
  echo "What the figures include: \`lab up\` is the whole command — network namespace, private"
  echo "libvirtd start (0.1-0.3 s; libvirt's QEMU capabilities are kept between labs, so a new"
  echo "daemon does not probe QEMU again), network, overlays, domains started at once, and the"
  echo "wait until every node answers SSH; the KVM probe is cached per host boot. From the"
  echo "template, each node's QEMU starts paused from the template's saved state on an overlay"
  echo "of its disk, and its identity goes in through the guest agent (dcslab-clone: MAC,"
  echo "random reseed, hostname, address, keys), then sshd starts. A revert"
  echo "includes setting the guests' clocks through their QEMU guest agents (no SSH login;"
  echo "over SSH it was about 3 s under TCG); SSH sessions are opened by the first command"
  echo "after it, not by the revert. The suite on the VM path, cold and from a snapshot, is"
  echo "measured by bench/seed_libvirt.sh (its section below)."
  echo
  echo "Where the last cold run's slowest node spent its boot (\`systemd-analyze critical-chain\`;"
  echo "the time after @ is when the unit became active, after + how long it took to start):"
  echo
  echo '```'
  head -n 30 "$tmp/chain.txt"
  echo '```'
} >"$tmp/section.md"
write_section lab_up "$tmp/section.md"
cat "$tmp/section.md"
