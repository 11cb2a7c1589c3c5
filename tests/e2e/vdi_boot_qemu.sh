#!/usr/bin/env bash
# The VirtualBox provider's bootable disk, booted for real. VirtualBox cannot run here, so
# VBoxManage is played by QEMU (fixtures/vbox/qemu-VBoxManage: the fake checks every
# argv and keeps VirtualBox's books, QEMU does what the call asks): `dcslab up
# --isolated` with `provider: virtualbox` builds the image's bootable VDI, makes the
# node's differencing disk and identity VDI, and starts the VM from the recorded
# settings -- IDE disks, no -kernel (the disk's own GRUB), a virtio NIC at VirtualBox's
# PCI slot for adapter 2 on a bridge holding 192.168.56.1/24, TCG -- all inside the
# network namespace dcslab creates for the lab. Then over SSH (dcslab's own pinned host
# key and lab key): the identity, the address on enp0s8, the boot loader's command
# line; `down` leaves nothing, also after a failure or Ctrl-C (trap).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd qemu-system-x86_64 qemu-img mmdebstrap ip python3 ssh grub-mkimage sfdisk cpio

name=e2e-vbox-qemu
node=dcs-00
vm=dcslab-$name-$node
E2E_FAKE=$(mktemp -d /tmp/dcslab-e2e-vbox-XXXXXX)
E2E_LAB_FILE=$(mktemp /tmp/dcslab-e2e-vbox-XXXXXX.yaml)
export DCSLAB_FAKE_VBOX_DIR=$E2E_FAKE
export DCSLAB_VBOXMANAGE=$SRC/fixtures/vbox/qemu-VBoxManage
# The stand-in's kernel driver: a file, as /dev/vboxdrv would be a device.
export DCSLAB_VBOXDRV=$E2E_FAKE/vboxdrv
: >"$DCSLAB_VBOXDRV"

cleanup() {
  "$DCSLAB" --lab "$E2E_LAB_FILE" down >/dev/null 2>&1 || true
  # A QEMU that down could not stop (the pid files are the stand-in's).
  for p in "$E2E_FAKE"/qemu-*.pid; do
    if [ -f "$p" ]; then kill -9 "$(cat "$p")" 2>/dev/null || true; fi
  done
  ip netns delete "dcslab-$name" 2>/dev/null || true
  rm -rf "$E2E_FAKE" "$E2E_LAB_FILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$E2E_LAB_FILE" <<EOF
# One node of the seed's lab as VirtualBox VMs (VBoxManage played by QEMU).
name: $name
network:
  name: patroni
  cidr: 192.168.56.0/24
  host: 192.168.56.1
  domain: patroni.mydomain
image:
  suite: bookworm
provider:
  type: virtualbox
defaults:
  memory: 1024
  cpus: 2
nodes:
  - name: $node
    ip: 192.168.56.10
EOF
"$DCSLAB" --lab "$E2E_LAB_FILE" down >/dev/null 2>&1 || true   # a previous run's leftovers

step "image"
image=$("$DCSLAB" --lab "$E2E_LAB_FILE" image build | tail -n1)
[ -f "$image/disk.qcow2" ] || fail "image build printed no image folder: $image"
fresh_vdi=no
[ -f "$image/bootable.vdi" ] || fresh_vdi=yes

step "up --isolated, provider virtualbox, VBoxManage played by QEMU (TCG)"
start=$(date +%s.%N)
"$DCSLAB" --lab "$E2E_LAB_FILE" up --isolated --timeout 600 2>&1 | tee "$E2E_FAKE/up.log"
up_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
ssh_seconds=$(sed -n "s/.*$node SSH ready in \([0-9.]*\) s.*/\1/p" "$E2E_FAKE/up.log")
[ -n "$ssh_seconds" ] || fail "up did not report $node SSH-ready"
[ -f "$image/bootable.vdi" ] || fail "up made no $image/bootable.vdi"
vdi_seconds=$(sed -n 's/^bootable_seconds=//p' "$image/bootable.log" 2>/dev/null || true)
base_mtime=$(stat -c %Y "$image/bootable.vdi")

step "what VirtualBox was asked (the fake's transcript)"
log=$E2E_FAKE/argv.log
for call in \
  "hostonlyif create" \
  "hostonlyif ipconfig vboxnet0 --ip 192.168.56.1 --netmask 255.255.255.0" \
  "--diffparent $image/bootable.vdi --format VDI" \
  "storagectl $vm --name IDE --add ide --controller PIIX4 --bootable on" \
  "--nic1 none --nic2 hostonly --hostonlyadapter2 vboxnet0 --nictype2 virtio" \
  "startvm $vm --type headless"; do
  grep -qF -- "$call" "$log" || fail "VBoxManage was not called with: $call"
done
! grep -q '^dhcpserver' "$log" || fail "a DHCP server was touched: $(grep '^dhcpserver' "$log")"
echo "ok: $(wc -l <"$log") VBoxManage calls, the expected ones among them, no DHCP server"
qemu_args=$(tr '\0' ' ' <"/proc/$(cat "$E2E_FAKE/qemu-$vm.pid")/cmdline")
! grep -q -- '-kernel' <<<"$qemu_args" || fail "QEMU was given a kernel: $qemu_args"
grep -q -- 'virtio-net-pci,netdev=nic2,mac=.*,addr=0x8' <<<"$qemu_args" ||
  fail "the NIC is not adapter 2's virtio at slot 8: $qemu_args"
echo "ok: QEMU boots the disk (no -kernel), virtio NIC at 00:08.0"

step "the node over SSH: identity, address, boot loader"
x() { "$DCSLAB" --lab "$E2E_LAB_FILE" exec "$node" -- "$@"; }
expect_eq "hostname -f" "$(x hostname -f)" "$node.patroni.mydomain"
addr=$(x ip -4 -o addr show dev enp0s8)
grep -q ' 192\.168\.56\.10/24 ' <<<"$addr" || fail "enp0s8 lacks 192.168.56.10/24: $addr"
echo "ok: enp0s8 holds 192.168.56.10/24"
sysdev=$(x readlink -f /sys/class/net/enp0s8/device)
case "$sysdev" in
  */0000:00:08.0/virtio*) echo "ok: enp0s8 is the virtio NIC at PCI 00:08.0 ($sysdev)" ;;
  *) fail "enp0s8 is not the NIC at PCI 00:08.0: $sysdev" ;;
esac
cmdline=$(x cat /proc/cmdline)
case "$cmdline" in
  BOOT_IMAGE=/vmlinuz\ root=/dev/sda2\ *) echo "ok: booted by GRUB: $cmdline" ;;
  *) fail "/proc/cmdline is not GRUB's (BOOT_IMAGE=/vmlinuz root=/dev/sda2 ...): $cmdline" ;;
esac
# Partition 2 of the root disk: /dev/sda2 as root= says, or /dev/sdb2 when the identity
# disk probed first (libata probes asynchronously; the initrd then finds root itself).
root=$(x findmnt -n -o SOURCE /)
case "$root" in
  /dev/sd[ab]2) echo "ok: root file system is $root" ;;
  *) fail "root file system is $root, not the VDI's partition 2" ;;
esac
console=$DCSLAB_HOME/labs/$name/nodes/$node/console.log
grep -q '^dcslab initrd: identity from /dev/sd' "$console" ||
  fail "the initrd did not copy the identity: $(grep 'dcslab initrd' "$console")"
grep -q "applied identity of $node from /run/dcslab/identity.tar" "$console" ||
  fail "dcslab-identity did not apply the identity the initrd copied"
echo "ok: identity disk read by the initrd, applied by dcslab-identity"
set +e; x sh -c 'exit 7'; rc=$?; set -e
expect_eq "exec passes on the remote exit status" "$rc" 7
expect_eq "status" "$("$DCSLAB" --lab "$E2E_LAB_FILE" status | awk '{print $2}')" running
expect_eq "OpenSSH with the pinned host key (dcslab ssh)" \
  "$("$DCSLAB" --lab "$E2E_LAB_FILE" ssh "$node" -- hostname)" "$node"
expect_eq "the base VDI is untouched (writes go to the differencing disk)" \
  "$(stat -c %Y "$image/bootable.vdi")" "$base_mtime"

step "down"
"$DCSLAB" --lab "$E2E_LAB_FILE" down
expect_nothing_left "$name"
python3 - "$E2E_FAKE/state.json" <<'PY' || fail "VirtualBox (the fake) still has something of the lab"
import json, sys
st = json.load(open(sys.argv[1]))
left = list(st["vms"]) + [i["name"] for i in st["hostonlyifs"]] + [m for m in st["media"] if "/labs/" in m]
print("left in VirtualBox:", left) if left else print("ok: no VM, interface or lab disk registered")
sys.exit(1 if left else 0)
PY
! ls "$E2E_FAKE"/qemu-*.pid >/dev/null 2>&1 || fail "a QEMU pid file is left"
! pgrep -f -- "-name $vm" >/dev/null || fail "QEMU of $vm is still running"
echo "ok: no QEMU left"

echo "timings: up ${up_seconds}s (bootable VDI built in this run: $fresh_vdi${vdi_seconds:+, ${vdi_seconds}s}); QEMU start to SSH ${ssh_seconds}s"
echo "PASS vdi_boot_qemu"
