// The nspawn provider: the lab's nodes as systemd-nspawn system containers (systemd as
// PID 1, sshd, etcd) on a Linux bridge. A node answers SSH about a second after start,
// so this is the provider for fast CI runs and for hosts where VMs are slow.
//
// Per node the root is an overlayfs over the image's rootfs (lower) with upper/work under
// the node's state folder, so a node costs only what it writes. Each machine runs as
//   fork -> setsid -> fork -> [private mount namespace, cgroup2 if needed, overlay mount,
//                              own cgroup] -> exec systemd-nspawn -b ...
// detached, so `dcslab up` can exit; its pid (with the process start time, so a reused
// pid is never mistaken for it) is in the ledger before the child mounts or execs anything.
// The overlay lives in the machine's own mount namespace: nothing appears in the host's
// mount table and the mount disappears with the machine.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/wait_gone.h"
#include "lab/lab.h"
#include "providers/provider.h"
#include "lab/state.h"

namespace dcslab {

// Faults: crash is SIGKILL to the machine (nspawn, the container and its cgroup), start
// launches it again on the same overlay layer and identity (recorded as facts at up),
// pause / resume freeze and thaw it, partition / heal set the host end of its veth
// down / up (the container sees its host0 lose carrier).
//
// Ledger kinds this provider owns.
inline constexpr const char* kNspawnBridge = "nspawn-bridge";
inline constexpr const char* kNspawnLayer = "nspawn-layer";    // upper/work/root dirs
inline constexpr const char* kNspawnCgroup = "nspawn-cgroup";  // the machine's cgroup2 group
inline constexpr const char* kNspawnMachine = "nspawn-machine";

// The lab's bridge: "dcsn-<lab>" when that fits the 15-character interface name limit,
// else "dcsn-" + the first three characters + "-" + a stable hash of the whole name.
std::string nspawn_bridge_name(const std::string& lab_name);

// nspawn's --machine name: "dcslab-<lab>-<node>", unique per lab, because nspawn keys
// host-wide things by it: /run/systemd/nspawn/propagate/<machine> (created at start and
// removed at exit, so a second lab's dcs-00 stopping would delete the first one's) and
// the host-side veth name "vb-<machine>" (two non-isolated labs would collide). The
// container's hostname stays the node name (--hostname). Longer than 64 characters
// (nspawn's limit): "dcslab-" + a stable hash of the lab name + "-" + the node.
std::string nspawn_machine_name(const std::string& lab_name, const std::string& node);

// The machine's cgroup2 group (a child of the cgroup2 root), "dcslab-<lab>-<node>".
std::string nspawn_cgroup_name(const std::string& lab_name, const std::string& node);

// How the host's cgroups look. nspawn needs to find out whether the unified hierarchy is
// used; on a cgroup v1 hybrid host without systemd as PID 1 (these CI hosts) it cannot,
// so the machine gets its own mount namespace with cgroup2 on /sys/fs/cgroup. On a
// systemd host nspawn runs as it is.
struct HostCgroups {
  bool root_is_cgroup2 = false;  // /sys/fs/cgroup is the unified hierarchy
  bool systemd_booted = false;   // /run/systemd/system exists (sd_booted())
};
HostCgroups probe_host_cgroups();
bool nspawn_needs_private_cgroup2(const HostCgroups& host);

// One step the launched child takes before exec. Kept as data so tests can check what a
// machine's start does without booting one, and so the same launcher serves the cgroup
// cleanup.
struct LaunchStep {
  enum class Kind {
    PrivateMounts,  // unshare(CLONE_NEWNS) + make / recursively private
    Detach,         // umount2(target, MNT_DETACH); "not mounted" is fine
    Mount,          // mount(source, target, fstype, 0, options)
    JoinCgroup,     // mkdir target (may exist) and move self into it
    KillCgroup,     // SIGKILL everything in cgroup `target` (cgroup.kill); absent is fine
  };
  Kind kind;
  std::string target;
  std::string source;
  std::string fstype;
  std::string options;
  bool operator==(const LaunchStep&) const = default;
};
std::string describe(const LaunchStep& step);  // "mount -t overlay overlay /x -o ..."

struct LaunchPlan {
  std::vector<LaunchStep> steps;
  std::vector<std::string> argv;     // argv[0] is resolved through PATH by the launcher
  std::filesystem::path output;      // stdout+stderr appended here ("" = /dev/null)
};

// What one machine needs; paths are absolute.
struct MachineSpec {
  std::string node;
  std::string machine;             // nspawn_machine_name()
  std::filesystem::path lower;     // image rootfs
  std::filesystem::path upper;
  std::filesystem::path work;
  std::filesystem::path root;      // overlay mount point, nspawn -D
  std::filesystem::path identity;  // identity.tar, bound read-only
  std::filesystem::path console_log;
  std::string bridge;
  bool private_cgroup2 = false;
  std::string cgroup;              // own cgroup2 group; "" = stay where started
};
MachineSpec nspawn_machine_spec(const Lab& lab, const LabState& state, const Node& node,
                                const std::filesystem::path& lower,
                                const std::filesystem::path& identity, bool private_cgroup2);
std::vector<std::string> nspawn_argv(const MachineSpec& spec);
// Throws BadInput for a path overlayfs options or nspawn's --bind-ro cannot carry (',' ':').
LaunchPlan nspawn_launch_plan(const MachineSpec& spec);
// Kills whatever still runs in group `cgroup` (a container whose nspawn was killed lives
// on, orphaned) and removes the group and its children from the cgroup2 hierarchy. The
// kill is asynchronous: until the processes are gone the removal fails with EBUSY, so
// callers retry for a moment.
LaunchPlan cgroup_cleanup_plan(const std::string& cgroup, bool private_cgroup2);

// A started machine: pid and start time (clock ticks since boot, /proc/PID/stat field 22).
struct MachineRecord {
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
  std::string cgroup;  // its own cgroup2 group, "" if none
  std::string format() const;  // "pid=123 start=456 cgroup=dcslab-dcs-dcs-00"
  static std::optional<MachineRecord> parse(const std::string& data);
};

// What of a running machine down must see gone before it forgets the machine, taken
// while it still runs: the container's pid namespace (its processes, whoever forked
// them, are the processes in it) and the host end of its veth, which the kernel removes
// only when it tears the container's network namespace down, after the last process.
struct MachineTrace {
  std::string pid_ns;  // "pid:[4026532301]"; "" when no container process was found
  std::string link;    // "" when not found (still starting)
  // An open /proc/PID/ns/pid of the container: while it is held the kernel cannot give
  // the namespace's number to another one, so "in pid_ns" means "of this machine".
  std::shared_ptr<Fd> pin;
};

// Everything that touches the host, behind one seam so the provider's ordering (ledger
// before creation, newest first on down) is tested with a recording fake.
class NspawnHost {
 public:
  virtual ~NspawnHost() = default;
  virtual HostCgroups cgroups() = 0;
  virtual bool link_exists(const std::string& name) = 0;
  virtual Expected<void> create_bridge(const std::string& name, const std::string& address) = 0;
  virtual Expected<void> delete_link(const std::string& name) = 0;
  virtual Expected<void> make_dirs(const std::vector<std::filesystem::path>& dirs) = 0;
  virtual Expected<void> remove_dirs(const std::vector<std::filesystem::path>& dirs) = 0;
  // Starts `plan` detached. The child waits until `commit` (which records the machine in
  // the ledger) has returned before it takes any step; if commit throws, the child exits.
  virtual Expected<MachineRecord> launch_detached(
      const LaunchPlan& plan, const std::function<void(const MachineRecord&)>& commit) = 0;
  // Runs `plan` and waits for it.
  virtual Expected<void> run(const LaunchPlan& plan) = 0;
  virtual bool alive(const MachineRecord& m) = 0;
  // Thaws a paused machine, then SIGTERM: nspawn powers the container off.
  virtual void terminate(const MachineRecord& m) = 0;
  // SIGKILL to nspawn, its container and everything in the machine's cgroup.
  virtual void kill(const MachineRecord& m, const std::string& cgroup) = 0;
  // "paused" when the machine's cgroup is frozen, else "running".
  virtual std::string run_state(const MachineRecord& m, const std::string& cgroup) = 0;
  // Freezes (or thaws) every process of the machine: the cgroup v2 freezer of its own
  // group (cgroup.freeze, done when cgroup.events says frozen), or, for a machine without
  // a group of its own, SIGSTOP / SIGCONT to nspawn and every process under it.
  virtual Expected<void> freeze(const MachineRecord& m, bool frozen) = 0;
  // The host-side end of the machine's veth (a port of the lab bridge), found from the
  // container's host0 (its peer), whatever name nspawn gave it.
  virtual Expected<std::string> host_link(const MachineRecord& m) = 0;
  virtual Expected<void> set_link_up(const std::string& name, bool up) = 0;
  virtual MachineTrace trace(const MachineRecord& m) = 0;
  // What of machine `node` (`m`, traced as `t`) the host still shows: nspawn itself, a
  // process in the container's pid namespace, the host end of its veth.
  virtual std::vector<Lingering> lingering(const std::string& node, const MachineRecord& m,
                                           const MachineTrace& t) = 0;
};
// The host itself; `clock` paces its waits (the freezer's).
std::unique_ptr<NspawnHost> make_real_nspawn_host(Clock& clock);

struct NspawnTimeouts {
  std::chrono::seconds poweroff{10};  // SIGTERM to exit; a container powers off in ~1.7 s
  std::chrono::seconds after_kill{5};
  GoneLimits gone;  // then, for the container's last processes and its veth to go
};

std::unique_ptr<Provider> make_nspawn_provider(const Lab& lab, LabState& state);
// For tests: a provider over a given host and clock (both must outlive it).
std::unique_ptr<Provider> make_nspawn_provider(const Lab& lab, LabState& state, NspawnHost& host,
                                               Clock& clock, NspawnTimeouts timeouts = {});

}  // namespace dcslab
