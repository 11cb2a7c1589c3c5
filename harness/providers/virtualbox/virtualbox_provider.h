// The VirtualBox provider: the lab as VirtualBox VMs, driven through VBoxManage (the
// argv and parsers are in vboxmanage.h; VirtualBox has no C API on Linux that a
// Debian package ships).
//
//   host-only interface  vboxnetN with the host at the lab's host address (an existing
//                        one with that address is used as it is; one is created only if
//                        none has it); no DHCP server is added or touched
//   base disk            the image's bootable VDI (image_bootable.h), shared read-only
//   root disks           <node dir>/root.vdi, a differencing VDI over the base
//                        (createmedium --diffparent: explicit per-node files in the
//                        ledger, rather than multiattach's hidden automatic ones)
//   identity disks       <node dir>/identity.vdi, the identity tar converted as is
//                        (convertfromraw), so the guest reads the tar at offset 0 exactly
//                        as from libvirt's raw disk
//   VMs                  dcslab-<lab>-<node>, settings under <lab state>/vbox/, IDE root
//                        + identity, lab NIC = adapter 2 (virtio at PCI 00:08.0, named
//                        enp0s8 by the bootable disk's initrd), serial console
//                        to <node dir>/console.log
//
// Everything that can fail without creating anything is checked first (VBoxManage
// present, vboxdrv loaded, the network inside VirtualBox's allowed host-only ranges,
// no VM name taken, no foreign DHCP server handing out node addresses, an existing
// interface visible in this network namespace). Each resource
// is recorded in the ledger before the VBoxManage call that creates it; `down` detaches
// the disks, unregisters and deletes the VMs, deletes the disks and removes the
// interface only if the ledger says this lab created it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/wait_gone.h"
#include "lab/lab.h"
#include "providers/provider.h"
#include "lab/state.h"

namespace dcslab {

// Ledger kinds this provider owns.
inline constexpr const char* kVBoxHostOnlyIfKind = "vbox-hostonlyif";
inline constexpr const char* kVBoxBaseDiskKind = "vbox-base-disk";  // a registration only
inline constexpr const char* kVBoxDiskKind = "vbox-disk";
inline constexpr const char* kVBoxVmKind = "vbox-vm";

struct VirtualBoxProviderOptions {
  // The VBoxManage program; empty: $DCSLAB_VBOXMANAGE, else "VBoxManage" from PATH.
  std::string vboxmanage;
  // The device of VirtualBox's kernel driver; empty: $DCSLAB_VBOXDRV, else /dev/vboxdrv.
  // (Both variables exist for stand-ins such as fixtures/vbox/qemu-VBoxManage.)
  std::filesystem::path vboxdrv;
  std::filesystem::path networks_conf = "/etc/vbox/networks.conf";
  // The image's bootable VDI; empty: ensure_bootable_disk (builds it once per image).
  std::function<Expected<std::filesystem::path>(const Image&, Progress&)> base_disk;
  Clock* clock = nullptr;  // for the wait after poweroff; null: the real clock
  GoneLimits gone;         // how long down waits for a VM's process to release it
  // Whether the lab's host address is on an interface of this network namespace (the
  // harness's traffic rule, netns.h); null: lab_network_is_local. up() refuses a
  // host-only interface it cannot see here before creating any disk or VM.
  std::function<bool(const Lab&)> network_is_local;
};

std::unique_ptr<Provider> make_virtualbox_provider(const Lab& lab, LabState& state);
std::unique_ptr<Provider> make_virtualbox_provider(const Lab& lab, LabState& state,
                                                   VirtualBoxProviderOptions options);

}  // namespace dcslab
