// Waiting for things to be gone: what `dcslab down` does after it has stopped or removed
// a machine, a process, a link, a mount or a namespace, because the host lets go of them
// asynchronously (a SIGKILLed process exits, a network namespace with its veths is torn
// down, a VM's process releases its session after poweroff). Down returns only once the
// host no longer shows them, so a script that runs right after it finds nothing of the lab.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/progress.h"

namespace dcslab {

enum class GoneKind { Machine, Process, Link, Mount, Namespace };

// "machine" / "machines", for messages.
std::string gone_kind_name(GoneKind kind, std::size_t count = 1);

// One thing still there, as the caller identified it (by pid and start time, by the name
// of a link it made, ...): never by a name another lab could share.
struct Lingering {
  GoneKind kind;
  std::string what;  // "dcs-00 (nspawn pid 4711)", "pid 4713 (systemd-journald) of dcs-00"
  bool operator==(const Lingering&) const = default;
};

// How long a wait may take for each kind, at most, from the moment it starts. A machine
// gets longest: QEMU and VirtualBox free a VM's memory before their process exits.
struct GoneLimits {
  std::chrono::seconds machine{60};
  std::chrono::seconds process{15};
  std::chrono::seconds link{10};
  std::chrono::seconds mount{10};
  std::chrono::seconds namespace_{10};
  std::chrono::seconds of(GoneKind kind) const;
};

// Calls `probe` until it returns nothing, every 100 ms on `clock`. When the wait takes
// longer than a second it says on `progress` what it waits for ("2 processes, 1 link of
// lab dcs to go: ..."). Once something has been there longer than its kind's limit it
// fails (a timeout) naming everything still there, so the caller keeps it in the ledger
// and a second `down` can finish.
Expected<void> wait_until_gone(Clock& clock, const std::string& owner, const GoneLimits& limits,
                               Progress& progress,
                               const std::function<std::vector<Lingering>()>& probe);

}  // namespace dcslab
