// The libvirt provider: the lab as libvirt objects, driven through the libvirt C API.
//
//   storage pool  dcslab-<lab>        a dir pool on <lab state>/pool
//   volumes       <node>.qcow2        copy-on-write overlays over the image's disk.qcow2
//   network       dcslab-<lab>        host-only: no forward, no DHCP, no DNS
//   domains       dcslab-<lab>-<node> direct kernel boot, identity.tar as a raw vdb
//
// Made through libvirt's storage API (not qemu-img on the host), so a remote URI works too.
// Each is recorded in the LabState ledger before it is created; `down` removes exactly
// what the ledger names. An isolated lab (LabState fact "isolated" = "1", the process
// already inside the lab's network namespace) gets its own private libvirtd
// (private_libvirtd.h). The accelerator comes from a real probe (accel_probe.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/wait_gone.h"
#include "lab/lab.h"
#include "providers/provider.h"
#include "lab/state.h"

namespace dcslab {

// Ledger kinds this provider owns.
inline constexpr const char* kLibvirtDomainKind = "libvirt-domain";
inline constexpr const char* kLibvirtNetworkKind = "libvirt-network";
inline constexpr const char* kLibvirtPoolKind = "libvirt-pool";
inline constexpr const char* kLibvirtVolumeKind = "libvirt-volume";
// name "<domain>/<snapshot>", data the snapshot name.
inline constexpr const char* kLibvirtSnapshotKind = "libvirt-snapshot";

struct LibvirtProviderOptions {
  // Overrides lab.provider.uri (tests use "test:///default"); the fact "libvirt_uri"
  // (a private daemon's) still wins over both.
  std::string uri;
  // Where the accelerator probe's per-boot cache lives; empty: dcslab_home().
  std::filesystem::path home;
  Clock* clock = nullptr;  // for the waits; null: the real clock
  // How a node is reverted to a snapshot. Fast: QEMU's loadvm in the paused QEMU process
  // (through libvirt's QEMU monitor pass-through), about 0.2 s a node. libvirt's own
  // virDomainRevertToSnapshot kills QEMU and starts a new one with -loadvm (libvirt 9),
  // about 3 s a node, most of it waiting for the old QEMU to exit. Fast falls back to
  // libvirt's way when the monitor is not there (another driver) or loadvm fails.
  // The environment variable DCSLAB_SNAPSHOT_REVERT=libvirt selects libvirt's way.
  enum class Revert { Fast, Libvirt } revert = Revert::Fast;
  // How long down waits for a destroyed domain's QEMU process to be gone.
  GoneLimits gone;
};

std::unique_ptr<Provider> make_libvirt_provider(const Lab& lab, LabState& state);
std::unique_ptr<Provider> make_libvirt_provider(const Lab& lab, LabState& state,
                                                LibvirtProviderOptions options);

// The virtual size of a qcow2 image, from its header (the overlay's capacity must match).
Expected<uint64_t> qcow2_virtual_size(const std::filesystem::path& file);

}  // namespace dcslab
