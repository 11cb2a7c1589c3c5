// Choosing the accelerator by a real probe. /dev/kvm existing proves little: on the
// development machines a KVM guest is created fine and then its kernel hangs (nested
// virtualisation is broken there), so the only honest test is a guest that must print
// within a deadline. The probe boots the image's kernel alone (no disk) under KVM: a
// working KVM reaches "Kernel panic - not syncing: VFS: Unable to mount root fs" within
// a second or two, a broken one prints nothing. The answer is cached per boot of the host
// (keyed by /proc/sys/kernel/random/boot_id), so only the first `up` after a reboot pays.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "lab/lab.h"

namespace dcslab {

// What one look at the probe guest shows.
struct ProbeObservation {
  bool ended = false;   // the domain is gone or shut off
  std::string console;  // its serial output so far
};

// The probe guest behind a seam, so the decision logic runs with a FakeClock and a fake
// guest in tests, and with a transient libvirt domain for real.
class ProbeGuest {
 public:
  virtual ~ProbeGuest() = default;
  virtual Expected<void> start() = 0;
  virtual ProbeObservation observe() = 0;
  virtual void stop() = 0;  // idempotent; destroys the guest if it still runs
};

struct ProbeResult {
  bool kvm_works = false;
  std::string detail;  // why not, in words a user can act on ("printed nothing in 10 s")
  double seconds = 0;  // how long the probe took
};

// One step: true = the kernel ran to its end of init (works), false = ended without
// getting there, nullopt = not decided yet.
std::optional<bool> judge_probe(const ProbeObservation& seen);

// Starts the guest, watches it until judged or `limit` passes, always stops it.
ProbeResult run_kvm_probe(ProbeGuest& guest, Clock& clock,
                          std::chrono::seconds limit = std::chrono::seconds(10),
                          std::chrono::milliseconds interval = std::chrono::milliseconds(200));

// The per-boot cache of a probe's result.
std::optional<ProbeResult> read_probe_cache(const std::filesystem::path& file,
                                            const std::string& boot_id);
void write_probe_cache(const std::filesystem::path& file, const std::string& boot_id,
                       const ProbeResult& result);
std::string current_boot_id();  // /proc/sys/kernel/random/boot_id, trimmed

// The host's TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW over ~50 ms, or
// nullopt when the host is not x86-64 or its TSC does not tick at a constant rate
// (/proc/cpuinfo lacks constant_tsc or nonstop_tsc). Under TCG a guest's TSC is the
// host's, so the guest is told this frequency (tsc_early_khz=) instead of calibrating
// it: the guest kernel calibrates against the emulated PIT, and on a loaded host that
// measured 34 MHz for a 2.6 GHz TSC (seen: "PIT calibration deviates from HPET"), after
// which the guest's clock ran 76 times too fast, its timers fired early and its boot
// took minutes.
std::optional<unsigned long> host_tsc_khz();
std::filesystem::path probe_cache_file(const std::filesystem::path& home);

struct AccelChoice {
  bool kvm = false;
  std::string warning;  // one line for the user when `auto` fell back, else empty
  bool probed = false;  // a probe guest actually ran (not cached, not skipped)
};

struct AccelInputs {
  Accel requested = Accel::Auto;
  bool kvm_device = false;             // /dev/kvm exists
  std::filesystem::path cache_file;    // empty: no caching
  std::string boot_id;
  std::function<ProbeResult()> probe;  // runs the real probe when needed
};

// auto: KVM if the probe passes, else TCG with one warning; kvm: KVM if the probe
// passes, else a Failure saying why; tcg: TCG without probing.
Expected<AccelChoice> choose_accel(const AccelInputs& in);

}  // namespace dcslab
