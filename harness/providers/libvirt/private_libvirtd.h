// A private libvirtd for isolated labs (tests, CI): its own daemon in the caller's network
// namespace, so the lab's bridge, addresses and VMs live only there and never touch the
// host's network or a system libvirtd.
//
// Why it is built this way:
//  - libvirtd and virtlogd run without systemd or D-Bus when started by hand (-d).
//  - A second daemon must not share /run/libvirt, /var/lib/libvirt, ... with a system one,
//    so it runs in its own mount namespace with those folders bind-mounted from
//    <lab state>/libvirtd/{run,lib,cache,etc,log}. /run/libvirt there IS the host folder
//    <lab state>/libvirtd/run, so its socket is reachable from outside the namespace:
//    qemu:///system?socket=<lab state>/libvirtd/run/libvirt-sock.
//  - QEMU runs as root (qemu.conf user/group "root"): with /dev/kvm readable by root only,
//    libvirt would otherwise re-probe QEMU on every domain start (~50 s instead of 0.5 s).
//  - libvirt resolves its compiled-in QEMU user ("libvirt-qemu") at start-up, before it
//    reads qemu.conf, and refuses to start when that user does not exist (it is made by
//    libvirt-daemon-system, which hosts without a system libvirtd lack). The namespace
//    therefore sees a copy of /etc/passwd and /etc/group with that user added (and
//    libvirt-dnsmasq, which a DHCP network's dnsmasq drops to); the host's files are
//    never changed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "base/progress.h"
#include "lab/state.h"

namespace dcslab {

inline constexpr const char* kPrivateLibvirtdKind = "libvirtd-private";

// <state>/libvirtd
std::filesystem::path private_libvirtd_dir(const LabState& state);
std::string private_libvirtd_uri(const std::filesystem::path& dir);

// $DCSLAB_HOME/cache/libvirt-qemu-capabilities: libvirt's QEMU capabilities cache, kept
// across private daemons. ensure_private_libvirtd seeds a new daemon's cache from it
// (libvirt re-validates every file and probes again when one is stale);
// keep_libvirt_capabilities copies the lab daemon's files back once it has probed
// (after its first domain definition). Neither fails: without the copy libvirt probes.
std::filesystem::path libvirt_capabilities_cache(const LabState& state);
void keep_libvirt_capabilities(const LabState& state);

// True when the calling process shares PID 1's network namespace (the host's, as far as
// we can tell); a private daemon refuses to start there.
bool in_host_network_namespace();

// How start_private_libvirtd starts one.
struct PrivateLibvirtdStart {
  std::chrono::seconds limit{60};              // until it answers
  std::filesystem::path capabilities_cache;    // seeds its QEMU capabilities (empty: none)
  std::function<void()> before_start;          // called just before the daemons start
  std::string clean_up = "stop it with `dcslab libvirtd stop DIR`";  // said on failure
};

// Starts a private libvirtd with its folders under `dir` (run/, lib/, cache/, etc/, log/,
// nss/) in the current network namespace, which must not be the host's. Returns its URI
// (private_libvirtd_uri(dir)). The lab's daemon is ensure_private_libvirtd's; this is
// also `dcslab libvirtd start DIR`, for scripts that need a libvirtd of their own in a
// namespace they made (bench/vagrant_up.sh).
Expected<std::string> start_private_libvirtd(const std::filesystem::path& dir,
                                             const PrivateLibvirtdStart& how, Progress& progress,
                                             Clock& clock = RealClock::instance());

// Stops the daemons started with `dir` (SIGTERM, wait, SIGKILL), after checking that each
// pid really is that daemon (its mount namespace has dir/run on /run/libvirt: a pid
// from a stale pidfile may belong to anyone by now), and removes dir/run. Succeeds when
// they are already gone.
Expected<void> stop_private_libvirtd(const std::filesystem::path& dir,
                                     Clock& clock = RealClock::instance());

// Starts the lab's private libvirtd (or finds it answering) in the current network
// namespace. Records the ledger resource before starting and sets the LabState fact
// "libvirt_uri". Returns the URI.
Expected<std::string> ensure_private_libvirtd(LabState& state, Progress& progress,
                                              Clock& clock = RealClock::instance(),
                                              std::chrono::seconds limit = std::chrono::seconds(60));

// Stops the daemons of the ledger resource `r` (as above), forgets `r` and clears
// "libvirt_uri". Succeeds when they are already gone.
Expected<void> stop_private_libvirtd(LabState& state, const Resource& r,
                                     Clock& clock = RealClock::instance());

}  // namespace dcslab
