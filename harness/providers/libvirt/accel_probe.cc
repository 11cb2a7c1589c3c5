#include "providers/libvirt/accel_probe.h"

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/file.h"
#include "base/text.h"

namespace dcslab {

namespace fs = std::filesystem;

std::optional<bool> judge_probe(const ProbeObservation& seen) {
  // The kernel's last words without a root file system: it ran all of early init.
  if (seen.console.find("Kernel panic") != std::string::npos) return true;
  if (seen.ended) {
    // panic=-1 reboots at once and on_reboot destroys the domain; if the panic line was
    // lost but the kernel clearly ran, it still counts. Ending silent means a reset loop
    // or a failed start: not a working accelerator.
    return seen.console.find("Linux version") != std::string::npos;
  }
  return std::nullopt;
}

ProbeResult run_kvm_probe(ProbeGuest& guest, Clock& clock, std::chrono::seconds limit,
                          std::chrono::milliseconds interval) {
  ProbeResult result;
  const auto start = clock.now();
  auto took = [&] {
    return std::chrono::duration<double>(clock.now() - start).count();
  };
  if (auto started = guest.start(); !started) {
    guest.stop();
    result.detail = "a KVM test guest could not be started (" + started.error().message + ")";
    result.seconds = took();
    return result;
  }
  ProbeObservation last;
  auto verdict = poll_until<bool>(clock, limit, interval, "a KVM test guest's kernel",
                                  [&](std::string*) {
                                    last = guest.observe();
                                    return judge_probe(last);
                                  });
  guest.stop();
  result.seconds = took();
  const std::string secs = std::to_string(limit.count()) + " s";
  if (verdict && *verdict) {
    result.kvm_works = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "a KVM test guest's kernel ran to its end in %.1f s",
                  result.seconds);
    result.detail = buf;
  } else if (verdict) {
    result.detail = last.console.empty() ? "a test guest stopped without printing anything"
                                         : "a test guest stopped before its kernel finished";
  } else if (last.console.empty()) {
    result.detail = "a test guest printed nothing in " + secs;
  } else {
    result.detail = "a test guest's kernel did not finish booting in " + secs;
  }
  return result;
}

std::string current_boot_id() {
  auto id = read_file("/proc/sys/kernel/random/boot_id");
  return id ? trim(*id) : "";
}

fs::path probe_cache_file(const fs::path& home) { return home / "accel-probe.json"; }

std::optional<ProbeResult> read_probe_cache(const fs::path& file, const std::string& boot_id) {
  if (boot_id.empty()) return std::nullopt;
  auto text = read_file(file);
  if (!text) return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    if (j.value("boot_id", "") != boot_id) return std::nullopt;  // the host rebooted
    ProbeResult r;
    r.kvm_works = j.at("kvm_works").get<bool>();
    r.detail = j.value("detail", "");
    r.seconds = j.value("seconds", 0.0);
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged cache only costs a new probe
  }
}

void write_probe_cache(const fs::path& file, const std::string& boot_id, const ProbeResult& r) {
  if (boot_id.empty()) return;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  nlohmann::json j = {{"boot_id", boot_id},
                      {"kvm_works", r.kvm_works},
                      {"detail", r.detail},
                      {"seconds", r.seconds}};
  // Not written is only a probe more next time.
  (void)write_file_atomic(file, j.dump(2) + "\n", 0644);
}

Expected<AccelChoice> choose_accel(const AccelInputs& in) {
  AccelChoice choice;
  if (in.requested == Accel::Tcg) return choice;
  if (!in.kvm_device) {
    if (in.requested == Accel::Kvm)
      return Failure::error("accel: kvm, but this host has no /dev/kvm; set accel: tcg or auto");
    choice.warning = "no /dev/kvm on this host; using TCG (slower)";
    return choice;
  }
  std::optional<ProbeResult> result;
  if (!in.cache_file.empty()) result = read_probe_cache(in.cache_file, in.boot_id);
  if (!result) {
    result = in.probe();
    choice.probed = true;
    // Remembered whatever the outcome, a guest that cannot even start included: on the
    // machines measured that failure (QEMU aborting on an MSR) repeats on every try.
    if (!in.cache_file.empty()) write_probe_cache(in.cache_file, in.boot_id, *result);
  }
  if (result->kvm_works) {
    choice.kvm = true;
    return choice;
  }
  if (in.requested == Accel::Kvm)
    return Failure::error("accel: kvm, but KVM does not work here: " + result->detail +
                          " (nested virtualisation broken?); set accel: tcg or auto");
  choice.warning = "KVM present but " + result->detail + "; using TCG (set accel: kvm to insist)";
  return choice;
}

std::optional<unsigned long> host_tsc_khz() {
#if defined(__x86_64__)
  std::ifstream in("/proc/cpuinfo");
  std::string flags;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  if (flags.find(" constant_tsc ") == std::string::npos ||
      flags.find(" nonstop_tsc ") == std::string::npos)
    return std::nullopt;
  // One (time, TSC) pair: the TSC read between two clock reads, the closest bracket of a
  // few tries, so that being preempted mid-read does not skew it.
  struct Pair {
    double ns;
    unsigned long long tsc;
  };
  const auto pair = [] {
    Pair best{0, 0};
    double best_gap = 1e18;
    for (int i = 0; i < 9; ++i) {
      timespec a{}, b{};
      ::clock_gettime(CLOCK_MONOTONIC_RAW, &a);
      const unsigned long long t = __rdtsc();
      ::clock_gettime(CLOCK_MONOTONIC_RAW, &b);
      const double na = a.tv_sec * 1e9 + a.tv_nsec, nb = b.tv_sec * 1e9 + b.tv_nsec;
      if (nb - na < best_gap) {
        best_gap = nb - na;
        best = {(na + nb) / 2, t};
      }
    }
    return best;
  };
  const Pair p0 = pair();
  // Not a wait for anything: the TSC is measured against the real clock over 50 ms of
  // real time, which a FakeClock cannot stand in for; the real Clock sleeps it.
  RealClock::instance().sleep_for(std::chrono::milliseconds(50));
  const Pair p1 = pair();
  if (p1.ns <= p0.ns || p1.tsc <= p0.tsc) return std::nullopt;
  const double khz = static_cast<double>(p1.tsc - p0.tsc) / ((p1.ns - p0.ns) / 1e6);
  if (khz < 100000 || khz > 10000000) return std::nullopt;  // not a TSC we understand
  return static_cast<unsigned long>(khz + 0.5);
#else
  return std::nullopt;
#endif
}

}  // namespace dcslab
