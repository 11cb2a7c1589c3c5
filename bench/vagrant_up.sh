#!/usr/bin/env bash
# `vagrant up` (Debian's vagrant with vagrant-libvirt) against `dcslab up --isolated`:
# the seed's lab (dcs-00..02, 2 vCPUs, 1024 MiB, 192.168.56.10-12 on a host-only
# network, hostnames dcs-0N.patroni.mydomain) from the same node image, side by side in
# one run (the order alternating), RUNS times; the medians and the ratio go to this
# benchmark's section of docs/PERFORMANCE.md (bench/lib.sh).
#   bench/vagrant_up.sh [RUNS]      (default 3; as root; DCSLAB=binary skips the build)
#
# Vagrant's side never touches the host's network: this script makes a network
# namespace, starts a private libvirtd in it (in a mount namespace of its own, as
# harness/providers/libvirt/private_libvirtd.cc does: its own /run/libvirt, /etc/libvirt, /var/lib/libvirt,
# QEMU as root), runs every vagrant command inside it, and removes it all on exit, also
# after a failure or Ctrl-C. The management network vagrant-libvirt insists on
# (192.168.121.0/24, DHCP by dnsmasq) and the lab network exist only there. dcslab's
# side is `dcslab up --isolated`, which makes its own namespace.
#
# The box is the image `dcslab image build` made, as a whole disk that boots through
# GRUB (images/build-bootable, as for VirtualBox), with what a Vagrant box has and the
# image leaves to dcslab's identity disk: an SSH host key made at first boot (ed25519
# only), DHCP on the management NIC, Vagrant's insecure key authorized for tux. It is
# built once per image and box recipe and kept, with a private VAGRANT_HOME and the
# storage pool that holds the box's volume, under $DCSLAB_HOME/bench-vagrant.
. "$(dirname "$0")/lib.sh"
runs=${1:-3}
[ "$(id -u)" -eq 0 ] || { echo "vagrant_up.sh: must run as root (network namespace, libvirtd, the box's disk)" >&2; exit 2; }
machine=$(machine_line)

# Vagrant and vagrant-libvirt are not in CI's install: this benchmark alone needs them.
bash scripts/install-deps --vagrant >/dev/null

home=${DCSLAB_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/dcslab}
cache=$home/bench-vagrant
ns=dcslab-bench-vagrant
lvd=$BENCH_TMP/libvirtd                    # the private libvirtd's folders
sock=$lvd/run/libvirt-sock
uri="qemu:///system?socket=$sock"
pool=$cache/pool                           # storage pool "default": the box's volume
project=$BENCH_TMP/project                 # the Vagrantfile vagrant up reads
dlab=(--lab "$SEED_LAB" --name bench-vagrant-dcslab --provider libvirt)
export VAGRANT_HOME=$cache/vagrant.d VAGRANT_DEFAULT_PROVIDER=libvirt
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1 VAGRANT_NO_COLOR=1
mkdir -p "$cache" "$pool" "$VAGRANT_HOME"

in_ns() { ip netns exec "$ns" "$@"; }
vg() { (cd "$project" && in_ns vagrant "$@"); }

# ---- clean-up: everything this script made, also after a failure or Ctrl-C -----------
daemon_stop() {  # daemon_stop PIDFILE: SIGTERM, then SIGKILL after 15 s
  local pid i
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null
  for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}
cleanup() {
  set +e
  trap - EXIT INT TERM
  echo "cleaning up"
  [ -f "$project/Vagrantfile" ] && [ -S "$sock" ] && vg destroy -f >/dev/null 2>&1
  "$DCSLAB" "${dlab[@]}" down >/dev/null 2>&1
  if [ -S "$sock" ]; then  # whatever vagrant left: domains, networks, the pool
    local d n
    for d in $(virsh -q -c "$uri" list --all --name); do
      virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1; virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1
    done
    for n in $(virsh -q -c "$uri" net-list --all --name); do
      virsh -q -c "$uri" net-destroy "$n" >/dev/null 2>&1; virsh -q -c "$uri" net-undefine "$n" >/dev/null 2>&1
    done
    virsh -q -c "$uri" pool-destroy default >/dev/null 2>&1
  fi
  daemon_stop "$lvd/run/libvirtd.pid"
  daemon_stop "$lvd/run/virtlogd.pid"
  if [ -n "$ns" ] && ip netns list | grep -qx "$ns\( .*\)\?"; then
    local pids
    mapfile -t pids < <(ip netns pids "$ns")  # anything still in our namespace (dnsmasq, qemu)
    if [ ${#pids[@]} -gt 0 ]; then
      kill "${pids[@]}" 2>/dev/null
      sleep 2
      mapfile -t pids < <(ip netns pids "$ns")
      [ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null
    fi
    ip netns del "$ns"
  fi
  # The pool keeps only the box's volume; a machine's overlay is vagrant's, per up.
  find "$pool" -maxdepth 1 -type f ! -name "${box_volume:-none}" -delete 2>/dev/null
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the box ---------------------------------------------------------------------------
vagrant_keys=(/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub)
vagrant_key=${vagrant_keys[0]}
[ -f "$vagrant_key" ] || { echo "vagrant_up.sh: Vagrant's insecure public key (keys/vagrant.pub) not found" >&2; exit 1; }

# The files the box adds to the image, by path in the guest (contents below).
box_file() {
  case $1 in
    /etc/systemd/system/ssh.service.d/vagrant-box.conf) cat <<'EOF' ;;
# Vagrant box: the image has no SSH host key (dcslab pins one per node); made at first
# boot, ed25519 only (RSA costs ~20 s under TCG), before sshd starts.
[Service]
ExecStartPre=/bin/sh -c '[ -f /etc/ssh/ssh_host_ed25519_key ] || exec /usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
EOF
    /etc/systemd/network/99-vagrant-box-dhcp.network) cat <<'EOF' ;;
# Vagrant box: DHCP on the management NIC. Sorted after the 50-vagrant-<nic>.network
# files Vagrant writes for its private networks, so those win for their NICs.
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
    /home/tux/.ssh/authorized_keys) cat "$vagrant_key" ;;
  esac
}
box_paths=(/etc/systemd/system/ssh.service.d/vagrant-box.conf /etc/systemd/network/99-vagrant-box-dhcp.network /home/tux/.ssh/authorized_keys)

box_vagrantfile() { cat <<'EOF'
# dcslab's node image as a Vagrant box for vagrant-libvirt (bench/vagrant_up.sh).
Vagrant.configure("2") do |config|
  # The image's login user, passwordless sudo; Vagrant's insecure key is authorized.
  config.ssh.username = "tux"
  # No rsync or NFS client in the image, and the lab shares no folder.
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |libvirt|
    # TCG (guests hang under KVM on these hosts), with the CPU dcslab gives a TCG node:
    # qemu64 with RDRAND, without which the guest's CRNG is ready only 18-44 s into boot.
    libvirt.driver = "qemu"
    libvirt.cpu_mode = "custom"
    libvirt.cpu_model = "qemu64"
    libvirt.cpu_feature name: "rdrand", policy: "require"
  end
end
EOF
}

# The box's name changes with the image and with anything that makes the box.
img=$("$DCSLAB" image build 2>/dev/null | tail -n1)
[ -f "$img/disk.qcow2" ] || { echo "vagrant_up.sh: dcslab image build gave no image ($img)" >&2; exit 1; }
recipe=$( { for p in "${box_paths[@]}"; do echo "$p"; box_file "$p"; done; box_vagrantfile
            cat images/build-bootable images/bootable/initrd-init; } | sha256sum | cut -c1-12)
box=dcslab-bench-${img##*/}-$recipe

build_box() {  # build_box OUT.box: the image's disk + box files, bootable, as a libvirt box
  local out=$1 w p f uid gid
  w=$(mktemp -d "$cache/box.XXXXXX")
  mkdir -p "$w/image" "$w/files" "$w/box"
  # build-bootable reads the kernel, modules and klibc from rootfs/ and the root file
  # system from disk.qcow2: the image's, the latter with the box's files added.
  ln -s "$img/rootfs" "$w/image/rootfs"
  ln -s "$img/vmlinuz" "$w/image/vmlinuz"
  qemu-img convert -f qcow2 -O raw "$img/disk.qcow2" "$w/root.raw"
  # Written into the ext4 with debugfs: no loop device, no mount.
  uid=$(awk -F: '$1 == "tux" {print $3}' "$img/rootfs/etc/passwd")
  gid=$(awk -F: '$1 == "tux" {print $4}' "$img/rootfs/etc/passwd")
  : >"$w/debugfs.cmds"
  for p in "${box_paths[@]}"; do
    f=$w/files/$(basename "$p")
    box_file "$p" >"$f"
    chmod 0644 "$f"
    { echo "rm $p"; echo "write $f $p"; echo "sif $p mode 0100644"; echo "sif $p uid 0"; echo "sif $p gid 0"; } >>"$w/debugfs.cmds"
  done
  { echo "sif /home/tux/.ssh/authorized_keys mode 0100600"
    echo "sif /home/tux/.ssh/authorized_keys uid $uid"; echo "sif /home/tux/.ssh/authorized_keys gid $gid"; } >>"$w/debugfs.cmds"
  debugfs -w -f "$w/debugfs.cmds" "$w/root.raw" >"$w/debugfs.log" 2>&1
  for p in "${box_paths[@]}"; do  # read back: debugfs reports errors but exits 0
    cmp -s <(debugfs -R "cat $p" "$w/root.raw" 2>/dev/null) <(box_file "$p") ||
      { cat "$w/debugfs.log" >&2; echo "vagrant_up.sh: writing $p into the box's disk failed" >&2; exit 1; }
  done
  e2fsck -fn "$w/root.raw" >"$w/e2fsck.log" 2>&1 || { cat "$w/e2fsck.log" >&2; echo "vagrant_up.sh: the box's root file system does not check clean" >&2; exit 1; }
  qemu-img convert -f raw -O qcow2 "$w/root.raw" "$w/image/disk.qcow2"
  rm -f "$w/root.raw"
  images/build-bootable "$w/image" "$w/bootable.vdi" >"$w/bootable.log" 2>&1 ||
    { tail -n 20 "$w/bootable.log" >&2; exit 1; }
  qemu-img convert -f vdi -O qcow2 "$w/bootable.vdi" "$w/box/box.img"
  local bytes
  bytes=$(qemu-img info --output=json "$w/box/box.img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
  printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' \
    $(( (bytes + (1 << 30) - 1) >> 30 )) >"$w/box/metadata.json"
  box_vagrantfile >"$w/box/Vagrantfile"
  tar -C "$w/box" -cf "$out" metadata.json Vagrantfile box.img
  rm -rf "$w"
}

if ! vagrant box list 2>/dev/null | grep -q "^$box "; then
  echo "box $box: building from $img (GRUB, box files; about a minute)"
  t=$(now)
  # One box at a time: older boxes and their volumes go.
  for old in $(vagrant box list 2>/dev/null | awk '/^dcslab-bench-/ {print $1}'); do
    vagrant box remove --force --all "$old" >/dev/null
  done
  find "$pool" -maxdepth 1 -type f -delete
  build_box "$cache/$box.box"
  vagrant box add --name "$box" "$cache/$box.box" >/dev/null
  rm -f "$cache/$box.box"
  echo "box ready in $(elapsed "$t") s"
fi
box_img=$(ls "$VAGRANT_HOME"/boxes/"$box"/0/libvirt/box.img)
# vagrant-libvirt uploads a box into the pool once, at the first `vagrant up` after
# `vagrant box add`, and reuses it after that; a box without a version is named with the
# mtime of its image. It is put there the same way here, so no measured run uploads.
box_volume=${box}_vagrant_box_image_0_$(stat -c %Y "$box_img")_box.img
[ -f "$pool/$box_volume" ] || cp --sparse=always "$box_img" "$pool/$box_volume"

# ---- the namespace and its private libvirtd ---------------------------------------------
if ip netns list | grep -qx "$ns\( .*\)\?"; then
  echo "vagrant_up.sh: network namespace $ns exists (an earlier run killed hard?); remove it with: ip netns del $ns" >&2
  ns=""; exit 1
fi
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "$lvd"/{run,lib/dnsmasq,lib/qemu,lib/images,lib/boot,cache,etc,log/qemu,nss}
cp -a /etc/libvirt/. "$lvd/etc/"
rm -f "$lvd"/etc/qemu/networks/autostart/* "$lvd"/etc/storage/autostart/* 2>/dev/null || true
printf '# QEMU as root: no re-probe of QEMU on every domain start (harness/providers/libvirt/private_libvirtd.h)\nuser = "root"\ngroup = "root"\n' >"$lvd/etc/qemu.conf"
cp /etc/passwd "$lvd/nss/passwd"; cp /etc/group "$lvd/nss/group"
# The users libvirt's QEMU and network drivers expect (dnsmasq drops to libvirt-dnsmasq).
grep -q '^libvirt-qemu:' "$lvd/nss/passwd" || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$lvd/nss/passwd"
grep -q '^libvirt-qemu:' "$lvd/nss/group" || echo 'libvirt-qemu:x:64055:' >>"$lvd/nss/group"
grep -q '^libvirt-dnsmasq:' "$lvd/nss/passwd" || echo 'libvirt-dnsmasq:x:64056:64056:Libvirt Dnsmasq:/var/lib/libvirt/dnsmasq:/usr/sbin/nologin' >>"$lvd/nss/passwd"
grep -q '^libvirt-dnsmasq:' "$lvd/nss/group" || echo 'libvirt-dnsmasq:x:64056:' >>"$lvd/nss/group"
# shellcheck disable=SC2016  # the inner shell expands them, with the folder as its $1
in_ns unshare --mount --propagation private sh -ec '
  d=$1
  for b in run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt etc:/etc/libvirt \
           log:/var/log/libvirt nss/passwd:/etc/passwd nss/group:/etc/group; do
    [ -e "${b#*:}" ] || mkdir -p "${b#*:}"
    mount --bind "$d/${b%%:*}" "${b#*:}"
  done
  virtlogd -d -p /run/libvirt/virtlogd.pid
  libvirtd -d -p /run/libvirt/libvirtd.pid' sh "$lvd" </dev/null >/dev/null 2>&1
for _ in $(seq 300); do virsh -q -c "$uri" version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -q -c "$uri" version >/dev/null || { echo "vagrant_up.sh: the private libvirtd does not answer on $sock (log: $lvd/log)" >&2; exit 1; }
virsh -q -c "$uri" pool-define-as default dir --target "$pool" >/dev/null
virsh -q -c "$uri" pool-start default >/dev/null

# ---- the lab, as the seed's Vagrantfile says it for vagrant-libvirt ----------------------
mkdir -p "$project"
cat >"$project/Vagrantfile" <<EOF
# The seed's lab, three nodes (bench/vagrant_up.sh).
Vagrant.configure("2") do |config|
  config.vm.box = "$box"
  config.vm.provider :libvirt do |libvirt|
    libvirt.socket = "$sock"   # the private libvirtd in the benchmark's namespace
    libvirt.memory = 1024
    libvirt.cpus = 2
  end
  [["dcs-00", "192.168.56.10"], ["dcs-01", "192.168.56.11"], ["dcs-02", "192.168.56.12"]].each do |name, ip|
    config.vm.define name do |node|
      node.vm.hostname = "#{name}.patroni.mydomain"
      # host-only: no forwarding, no DHCP, the host at 192.168.56.1
      node.vm.network "private_network", ip: ip, libvirt__network_name: "patroni",
        libvirt__forward_mode: "none", libvirt__dhcp_enabled: false
    end
  end
end
EOF

# What `vagrant up` claims is there: each node's hostname and its lab address, over SSH
# as `vagrant ssh-config` says (inside the namespace).
check_vagrant_lab() {
  local cfg=$BENCH_TMP/ssh_config i out
  vg ssh-config >"$cfg" 2>/dev/null
  for i in 0 1 2; do
    out=$(in_ns ssh -F "$cfg" -o BatchMode=yes "dcs-0$i" 'hostname -f; ip -4 -o addr show' 2>&1) || true
    if ! grep -qx "dcs-0$i.patroni.mydomain" <<<"$out" || ! grep -q " inet 192.168.56.1$i/24 " <<<"$out"; then
      echo "vagrant_up.sh: after vagrant up, dcs-0$i is not dcs-0$i.patroni.mydomain with 192.168.56.1$i/24:" >&2
      echo "$out" >&2; exit 1
    fi
  done
}

# milestone LOG T0 TEXT: seconds from T0 until the last of the three nodes printed TEXT
# (LOG's lines are "<epoch seconds> <vagrant's line>"); empty if one never did.
milestone() {
  awk -v t0="$2" -v text="$3" '
    index($0, text) { for (i = 2; i <= 3; i++) if ($i ~ /^dcs-0[0-9]:$/ && !($i in at)) at[$i] = $1 }
    END { n = 0; last = 0; for (k in at) { n++; if (at[k] > last) last = at[k] }
          if (n == 3) printf "%.3f", last - t0 }' "$1"
}
# Vagrant's progress lines that mark its phases, each with its row name.
phases=("Starting domain.|domain started"
        "Waiting for machine to boot|management address leased (DHCP)"
        "Vagrant insecure key detected|first SSH login (insecure key)"
        "Machine booted and ready!|new key pair in place, reconnected"
        "Configuring and enabling network interfaces|hostname set; private network being configured")
declare -A ph
vagrant_once() {
  local t log=$cache/last-vagrant-up.log p
  t=$(now)
  # Each line of vagrant's output with the time it appeared, for the phases below.
  vg up 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$log" ||
    { tail -n 30 "$log" >&2; exit 1; }
  vt+=("$(elapsed "$t")")
  if grep -q 'Uploading base box image' "$log"; then
    echo "vagrant_up.sh: vagrant uploaded the box during a measured up (volume name not $box_volume?)" >&2; exit 1
  fi
  for p in "${phases[@]}"; do ph[${p%%|*}]+=" $(milestone "$log" "$t" "${p%%|*}")"; done
  check_vagrant_lab
  vg destroy -f >/dev/null 2>&1
  echo "  vagrant up: ${vt[-1]} s"
}
dcslab_once() {
  local t
  t=$(now)
  "$DCSLAB" "${dlab[@]}" up --isolated >"$cache/last-dcslab-up.log" 2>&1 || { tail -n 30 "$cache/last-dcslab-up.log" >&2; exit 1; }
  dt+=("$(elapsed "$t")")
  "$DCSLAB" "${dlab[@]}" down >/dev/null 2>&1
  echo "  dcslab up: ${dt[-1]} s"
}

vt=() dt=()
"$DCSLAB" "${dlab[@]}" down >/dev/null 2>&1 || true
for r in $(seq "$runs"); do
  echo "run $r of $runs"
  if [ $((r % 2)) -eq 1 ]; then vagrant_once; dcslab_once; else dcslab_once; vagrant_once; fi
done

mv_=$(echo "${vt[*]}" | median); md=$(echo "${dt[*]}" | median)
ratio=$(awk -v a="$md" -v b="$mv_" 'BEGIN {printf "%.2f", a / b}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 0.5) ? "met" : "missed"}')
echo "vagrant up $mv_ s, dcslab up $md s, ratio $ratio (target <= 0.5: $verdict)"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
phase_rows=""
for p in "${phases[@]}"; do
  v=${ph[${p%%|*}]}
  [ "$(echo "$v" | wc -w)" -eq "$runs" ] || { phase_rows+="| ${p#*|} | (not printed by every node) | |"$'\n'; continue; }
  phase_rows+="| ${p#*|} | $(fmt2 "$(echo "$v" | median)") s | $(list2 "$v")|"$'\n'
done
# The boot alone: dcslab's whole up against vagrant's time to its first SSH login.
first_ssh=$(echo "${ph[Vagrant insecure key detected]}" | median)
boot_ratio=$(awk -v a="$md" -v b="$first_ssh" 'BEGIN {printf "%.2f", a / b}')
vagrant_version=$(dpkg-query -W -f='${Version}' vagrant)
vl_version=$(dpkg-query -W -f='${Version}' vagrant-libvirt)

{
  echo "## Lab up against \`vagrant up\` (vagrant-libvirt), the same image"
  echo
  echo "Written by \`bench/vagrant_up.sh $runs\` on $(date -u +%Y-%m-%d) — $machine."
  echo "Each run: \`vagrant up\` of dcs-00..02 (parallel, as vagrant-libvirt does by default) and"
  echo "\`dcslab --lab fixtures/labs/dcs.yaml --name <lab> --provider libvirt up --isolated\`, the order alternating,"
  echo "each from nothing to three nodes reachable over SSH (the command returns); wall clock,"
  echo "median of $runs runs. Both under TCG, 2 vCPUs and 1024 MiB a node, on one 2-core host;"
  echo "load average at the end: $load_end."
  echo
  echo "| what | median | runs |"
  echo "|---|---|---|"
  echo "| \`vagrant up\` (vagrant $vagrant_version, vagrant-libvirt $vl_version) | $(fmt2 "$mv_") s | $(list2 "${vt[*]}")|"
  echo "| \`dcslab up --isolated\` (libvirt provider) | $(fmt2 "$md") s | $(list2 "${dt[*]}")|"
  echo "| ratio dcslab / vagrant (target ≤ 0.5×) | ${ratio}× — $verdict | |"
  echo
  echo "Where \`vagrant up\`'s time goes: seconds from its start until the last of the three nodes"
  echo "printed the line that marks each phase (vagrant-libvirt brings the three up in parallel)."
  echo
  echo "| vagrant up, all three nodes | median | runs |"
  echo "|---|---|---|"
  printf '%s' "$phase_rows"
  echo "| \`vagrant up\` returned | $(fmt2 "$mv_") s | $(list2 "${vt[*]}")|"
  echo
  echo "The boot alone — \`dcslab up\` against \`vagrant up\` until its first SSH login, before"
  echo "Vagrant's own SSH steps (key replacement, hostname, private network): ${boot_ratio}×."
  echo
  echo "The same: the image (\`dcslab image build\`: rootfs, kernel, the units it masks), three"
  echo "nodes of 2 vCPUs and 1024 MiB, \`<domain type='qemu'>\` (TCG) with the qemu64 CPU and"
  echo "RDRAND, machine \`pc\`, a host-only network 192.168.56.0/24 with the host at .1, the"
  echo "hostnames dcs-0N.patroni.mydomain, a private libvirtd (QEMU as root) in a network namespace."
  echo
  echo "What differs, so the ratio is read honestly:"
  echo "- **Boot.** Vagrant boots the box's disk: SeaBIOS, GRUB, the bootable disk's small"
  echo "  initrd (images/build-bootable), then the image's root file system (partition 2, the"
  echo "  image's ext4 plus the box's three files). dcslab boots the kernel and initrd directly"
  echo "  (no firmware boot menu, no boot loader) on the bare ext4."
  echo "- **Identity.** The box makes an ed25519 host key at first boot (before sshd), gets its"
  echo "  management address by DHCP (dnsmasq, 192.168.121.0/24, inside the namespace), and"
  echo "  vagrant-libvirt waits for the lease before trying SSH; then Vagrant logs in with its"
  echo "  insecure key, puts a new key pair in place (\`insert_key\`, the default), sets the"
  echo "  hostname (hostnamectl, a networkd restart) and writes and applies the private network's"
  echo "  address (a 50-vagrant-<nic>.network file, another networkd restart), one SSH command"
  echo "  after another. dcslab's nodes get hostname, static address, pinned host key and"
  echo "  authorized key from an identity disk applied before networkd and sshd start; one NIC,"
  echo "  no DHCP, and \`up\` returns when every node answers SSH with its pinned key."
  echo "- **Devices.** vagrant-libvirt's defaults are kept: a VNC display with a video card, a USB"
  echo "  controller, a memory balloon, a second NIC (management). dcslab's domains have none of"
  echo "  these; they have a serial console written to a file and the QEMU guest agent's"
  echo "  virtio-serial port (the image runs qemu-ga on it; vagrant's box, made from the same"
  echo "  image, starts it too if vagrant-libvirt gives the port)."
  echo "- **What each figure includes.** dcslab's includes making its network namespace and"
  echo "  starting its private libvirtd, the lab network, overlays and domains."
  echo "  Vagrant's libvirtd is already running (as a system daemon would be), and the box's"
  echo "  volume is already in the storage pool (vagrant-libvirt uploads it once, at the first"
  echo "  \`vagrant up\` after \`vagrant box add\`, not measured here); the management and lab"
  echo "  networks and the overlays are made within \`vagrant up\` and removed by"
  echo "  \`vagrant destroy -f\` (not measured, nor is \`dcslab down\`)."
  echo "- **Not in either.** Synced folders are disabled in the box (the image has no rsync or NFS"
  echo "  client; dcslab shares no folder); no provisioner runs."
  echo
  echo "Target: \`dcslab up\` at most half of \`vagrant up\` on the same image. The last run's"
  echo "output of each, vagrant's with the time of every line, is in"
  echo "\`\$DCSLAB_HOME/bench-vagrant/last-{vagrant,dcslab}-up.log\`."
} >"$BENCH_TMP/section.md"
write_section vagrant_up "$BENCH_TMP/section.md"
cat "$BENCH_TMP/section.md"
