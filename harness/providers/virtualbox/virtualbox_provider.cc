#include "providers/virtualbox/virtualbox_provider.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "providers/virtualbox/image_bootable.h"
#include "lab/netns.h"
#include "base/file.h"
#include "base/process.h"
#include "base/text.h"
#include "base/wait_gone.h"
#include "providers/virtualbox/vboxmanage.h"

namespace dcslab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPendingInterface = "(being created)";

bool is_ours(const std::string& kind) {
  return kind == kVBoxHostOnlyIfKind || kind == kVBoxBaseDiskKind || kind == kVBoxDiskKind ||
         kind == kVBoxVmKind;
}

class VirtualBoxProvider : public Provider {
 public:
  VirtualBoxProvider(const Lab& lab, LabState& state, VirtualBoxProviderOptions options)
      : lab_(lab), state_(state), options_(std::move(options)) {
    if (options_.vboxmanage.empty()) {
      const char* env = std::getenv("DCSLAB_VBOXMANAGE");
      options_.vboxmanage = env && *env ? env : "VBoxManage";
    }
    if (options_.vboxdrv.empty()) {
      const char* env = std::getenv("DCSLAB_VBOXDRV");
      options_.vboxdrv = env && *env ? env : "/dev/vboxdrv";
    }
    if (!options_.network_is_local) options_.network_is_local = lab_network_is_local;
    if (!options_.base_disk)
      options_.base_disk = [](const Image& image, Progress& progress) {
        return ensure_bootable_disk(image, progress);
      };
  }

  std::string kind() const override { return "virtualbox"; }

  std::string nic_match(const Node& node) const override {
    return "MACAddress=" + vbox_node_mac(lab_, node);
  }

  fs::path console_log(const std::string& node) const override {
    return state_.node_dir(node) / "console.log";
  }

  Expected<void> up(const UpRequest& request, Progress& progress) override {
    if (!request.image) return Failure::error("virtualbox provider: no image given to up()");
    for (const auto& node : lab_.nodes)
      if (!request.identity.count(node.name))
        return Failure::error("virtualbox provider: no identity.tar for " + node.name);

    // 1. Everything that can refuse, before anything is created.
    DCSLAB_TRY(check_tools());
    DCSLAB_TRY(check_vm_names());
    auto interface = find_interface(progress);
    if (!interface) return interface.error();

    // 2. The base disk (built once per image, outside the lab: not in the ledger).
    auto base = options_.base_disk(*request.image, progress);
    if (!base) return base.error();

    // 3. The network, then per node its disks and VM.
    std::string ifname = *interface;
    if (ifname.empty()) {
      auto created = create_interface(progress);
      if (!created) return created.error();
      ifname = *created;
    }
    if (!state_.has(kVBoxBaseDiskKind, base->string()))
      state_.record({kVBoxBaseDiskKind, base->string(), "registration only; never deleted"});
    for (const auto& node : lab_.nodes)
      DCSLAB_TRY(ensure_node(node, *base, request.identity.at(node.name), ifname, progress));
    return {};
  }

  Expected<std::vector<NodeStatus>> status() override {
    std::vector<NodeStatus> out;
    for (const auto& node : lab_.nodes) {
      const std::string name = vbox_vm_name(lab_, node);
      auto info = vm_info(name);
      if (!info) return info.error();
      if (!*info) {
        out.push_back({node.name, "missing", name});
        continue;
      }
      out.push_back({node.name, vbox_state_name((**info)["VMState"]), name});
    }
    return out;
  }

  Expected<void> down(Progress& progress) override {
    std::vector<Resource> mine;
    for (const auto& r : state_.resources())
      if (is_ours(r.kind)) mine.push_back(r);
    if (mine.empty()) return {};
    std::reverse(mine.begin(), mine.end());  // newest first

    std::optional<Failure> first;
    for (const auto& r : mine) {
      Expected<void> done;
      if (r.kind == kVBoxVmKind) done = remove_vm(r, progress);
      else if (r.kind == kVBoxDiskKind) done = remove_disk(r, progress);
      else if (r.kind == kVBoxBaseDiskKind) done = release_base(r, progress);
      else if (r.kind == kVBoxHostOnlyIfKind) {
        // Never pull the network from under a VM that could not be removed.
        if (first) break;
        done = remove_interface(r, progress);
      }
      if (!done && !first) first = done.error();
    }
    if (first) return *first;
    return {};
  }

  // Faults through `VBoxManage controlvm` / `startvm`: poweroff is VirtualBox's hard
  // power-off (no ACPI), startvm boots the same VM (same disks), pause / resume, and
  // setlinkstate2 unplugs the virtual cable of NIC 2, the lab's host-only NIC. Each
  // first reads the VM's state, so a fault already in effect is a success and an
  // impossible one (pausing a VM that is off) says why instead of VBoxManage's error.
  Expected<void> crash(const std::string& node, Progress& progress) override {
    auto vm = vm_state(node);
    if (!vm) return vm.error();
    const auto& [name, st] = *vm;
    if (st != "running" && st != "paused" && st != "stuck") return {};
    progress.phase("crashing " + node + " (VBoxManage controlvm " + name + " poweroff)");
    DCSLAB_TRY(vbox_checked({"controlvm", name, "poweroff"}));
    return {};
  }

  Expected<void> start(const std::string& node, Progress& progress) override {
    auto vm = vm_state(node);
    if (!vm) return vm.error();
    const auto& [name, st] = *vm;
    if (st == "running" || st == "starting") return {};
    if (st == "paused") return Failure::refused(node + " is paused, not stopped; resume it (fault resume)");
    progress.phase("starting " + name + " (headless)");
    DCSLAB_TRY(vbox_checked({"startvm", name, "--type", "headless"}));
    return {};
  }

  Expected<void> pause(const std::string& node, Progress& progress) override {
    return control(node, "pause", "running", "paused", progress);
  }
  Expected<void> resume(const std::string& node, Progress& progress) override {
    return control(node, "resume", "paused", "running", progress);
  }
  Expected<void> partition(const std::string& node, Progress& progress) override {
    return set_link(node, false, progress);
  }
  Expected<void> heal(const std::string& node, Progress& progress) override {
    return set_link(node, true, progress);
  }

 private:
  Clock& clock() { return options_.clock ? *options_.clock : RealClock::instance(); }

  // The node's VM name and its showvminfo VMState.
  Expected<std::pair<std::string, std::string>> vm_state(const std::string& node) {
    const Node* n = lab_.find_node(node);
    if (!n) return Failure::not_found("lab " + lab_.name + " has no node " + node);
    const std::string name = vbox_vm_name(lab_, *n);
    auto info = vm_info(name);
    if (!info) return info.error();
    if (!*info)
      return Failure::not_found("VirtualBox has no VM " + name + " for node " + node + "; is lab " +
                                lab_.name + " up? (dcslab up)");
    const auto& kv = **info;
    return std::make_pair(name, kv.count("VMState") ? kv.at("VMState") : std::string());
  }

  // controlvm VERB when the VM is in `from`; nothing when it is already in `to`.
  Expected<void> control(const std::string& node, const std::string& verb, const std::string& from,
                         const std::string& to, Progress& progress) {
    auto vm = vm_state(node);
    if (!vm) return vm.error();
    const auto& [name, st] = *vm;
    if (st == to) return {};
    if (st != from)
      return Failure::refused(node + " is " + vbox_state_name(st) + "; only a " +
                              vbox_state_name(from) + " node can " + verb);
    progress.phase(verb + " " + node + " (VBoxManage controlvm " + name + " " + verb + ")");
    DCSLAB_TRY(vbox_checked({"controlvm", name, verb}));
    return {};
  }

  Expected<void> set_link(const std::string& node, bool up, Progress& progress) {
    auto vm = vm_state(node);
    if (!vm) return vm.error();
    const auto& [name, st] = *vm;
    if (st != "running" && st != "paused")
      return Failure::refused(node + " is " + vbox_state_name(st) + "; its link can only be " +
                              (up ? "healed" : "cut") + " while it runs");
    progress.phase(std::string(up ? "healing " : "partitioning ") + node + " (NIC 2 cable " +
                   (up ? "plugged" : "unplugged") + ")");
    DCSLAB_TRY(vbox_checked({"controlvm", name, "setlinkstate2", up ? "on" : "off"}));
    return {};
  }

  // Runs VBoxManage. Not being able to start it at all is fatal: nothing VirtualBox
  // can be done, and the message says how to get it.
  ProcessResult vbox(const std::vector<std::string>& args) {
    std::vector<std::string> argv{options_.vboxmanage};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv);
    if (!r)
      throw Fatal("provider virtualbox: cannot run " + options_.vboxmanage + " (" +
                  r.error().message +
                  "); install VirtualBox 7 (its VBoxManage must be on PATH) or set "
                  "DCSLAB_VBOXMANAGE to its path");
    return std::move(*r);
  }

  Expected<std::string> vbox_checked(const std::vector<std::string>& args) {
    auto r = vbox(args);
    if (r.exit_status != 0)
      return Failure::error("VBoxManage " + join_argv(args) + " failed (exit " +
                            std::to_string(r.exit_status) + "): " + rtrim(r.output));
    return std::move(r.output);
  }

  Expected<void> check_tools() {
    auto version = vbox({"--version"});
    if (version.exit_status != 0)
      throw Fatal("provider virtualbox: " + options_.vboxmanage + " --version failed: " +
                  rtrim(version.output));
    std::error_code ec;
    if (!fs::exists(options_.vboxdrv, ec))
      throw Fatal("provider virtualbox: the vboxdrv kernel module is not loaded (" +
                  options_.vboxdrv.string() +
                  " is missing), so VirtualBox cannot start VMs; run `sudo /sbin/vboxconfig` "
                  "(rebuilds and loads it; on Secure Boot hosts the module must be signed) "
                  "or `sudo modprobe vboxdrv`");
    std::optional<std::string> conf;  // none: VirtualBox's built-in ranges apply
    if (auto text = read_file(options_.networks_conf)) conf = std::move(*text);
    if (!vbox_range_allows(vbox_allowed_ranges(conf), lab_.network.cidr)) {
      std::vector<std::string> ranges;
      for (const auto& c : vbox_allowed_ranges(conf)) ranges.push_back(c.str());
      const std::string allowed = join(ranges, " ");
      throw Fatal("provider virtualbox: lab " + lab_.name + "'s network " + lab_.network.cidr.str() +
                  " is outside the host-only ranges VirtualBox allows (" +
                  (allowed.empty() ? std::string("none") : allowed) + ", from " +
                  (conf ? options_.networks_conf.string()
                        : "the built-in default; " + options_.networks_conf.string() + " does not exist") +
                  "). VirtualBox 6.1.28 and later refuse other addresses: add a line \"* " +
                  lab_.network.cidr.str() + "\" to " + options_.networks_conf.string() +
                  " (as root), or use a network inside 192.168.56.0/21 in " + lab_.file.string());
    }
    return {};
  }

  Expected<void> check_vm_names() {
    auto out = vbox_checked({"list", "vms"});
    if (!out) return out.error();
    const auto vms = parse_vbox_list_vms(*out);
    for (const auto& node : lab_.nodes) {
      const std::string name = vbox_vm_name(lab_, node);
      const bool taken = std::any_of(vms.begin(), vms.end(), [&](const VBoxVm& v) { return v.name == name; });
      if (taken && !state_.has(kVBoxVmKind, name))
        return Failure::refused("VirtualBox already has a VM named " + name +
                                ", and it is not in lab " + lab_.name + "'s ledger (" +
                                (state_.dir() / "resources.json").string() +
                                "); nothing was created. Remove it (VBoxManage unregistervm " +
                                name + " --delete) or rename the lab");
    }
    return {};
  }

  // The host-only interface that has the lab's host address, "" if none (one is then
  // created), or a refusal when the address is taken in a way the lab cannot use.
  Expected<std::string> find_interface(Progress& progress) {
    auto out = vbox_checked({"list", "hostonlyifs"});
    if (!out) return out.error();
    const std::string host = lab_.network.host.str();
    const std::string mask = lab_.network.cidr.netmask().str();
    std::string found;
    for (const auto& i : parse_vbox_hostonlyifs(*out)) {
      if (i.ip != host) continue;
      if (i.netmask != mask)
        return Failure::refused("host-only interface " + i.name + " has the lab's host address " +
                                host + " but netmask " + i.netmask + " (the lab needs " + mask +
                                "); change it (VBoxManage hostonlyif ipconfig " + i.name +
                                " --ip " + host + " --netmask " + mask + ") or the lab's network");
      found = i.name;
      break;
    }
    if (found.empty()) return std::string();  // none: up() creates one
    if (!options_.network_is_local(lab_))
      return Failure::refused(not_here_message(found) + "; nothing was created");
    // A DHCP server on it is left alone (it is not ours), but it must not hand out a
    // node's address: a guest asking it for a lease would take a node's place.
    auto dhcp = vbox_checked({"list", "dhcpservers"});
    if (!dhcp) return dhcp.error();
    for (const auto& d : parse_vbox_dhcpservers(*dhcp)) {
      if (!d.enabled || d.network_name != "HostInterfaceNetworking-" + found) continue;
      const auto lo = Ipv4::parse(d.lower), hi = Ipv4::parse(d.upper), srv = Ipv4::parse(d.server_ip);
      for (const auto& node : lab_.nodes) {
        const bool in_range = lo && hi && node.ip.value >= lo->value && node.ip.value <= hi->value;
        if (in_range || (srv && *srv == node.ip))
          return Failure::refused("the DHCP server on " + found + " (not dcslab's; left alone) serves " +
                                  d.server_ip + ", " + d.lower + "-" + d.upper + ", which includes " +
                                  node.name + "'s address " + node.ip.str() +
                                  "; disable it (VBoxManage dhcpserver modify --interface=" + found +
                                  " --disable) or give the nodes addresses outside that range");
      }
      progress.done("note: " + found + " has a DHCP server (" + d.lower + "-" + d.upper +
                    ", not dcslab's; left alone); the nodes use static addresses");
    }
    progress.done("using host-only interface " + found + " (" + host + ")");
    return found;
  }

  Expected<std::string> create_interface(Progress& progress) {
    const std::string host = lab_.network.host.str();
    const std::string mask = lab_.network.cidr.netmask().str();
    progress.phase("creating a host-only interface with " + host + "/" +
                   std::to_string(lab_.network.cidr.prefix) + " (no DHCP server)");
    // The name is VirtualBox's choice, known only after creation: a placeholder is in
    // the ledger meanwhile, replaced by the name as soon as it is known.
    const Resource pending{kVBoxHostOnlyIfKind, kPendingInterface, host};
    state_.record(pending);
    auto r = vbox({"hostonlyif", "create"});
    const auto name = r.exit_status == 0 ? parse_vbox_created_hostonlyif(r.output) : std::nullopt;
    if (!name) {
      state_.forget(pending);
      return Failure::refused("VirtualBox refused to create a host-only interface (VBoxManage "
                              "hostonlyif create, exit " + std::to_string(r.exit_status) + "): " +
                              rtrim(r.output) +
                              "; nothing was created. Check that the vboxnetadp module is loaded "
                              "(sudo /sbin/vboxconfig) and that you may use VirtualBox");
    }
    state_.record({kVBoxHostOnlyIfKind, *name, host});
    state_.forget(pending);
    auto ip = vbox({"hostonlyif", "ipconfig", *name, "--ip", host, "--netmask", mask});
    if (ip.exit_status != 0) {
      // Nothing half-made: the interface goes again.
      auto rm = vbox({"hostonlyif", "remove", *name});
      if (rm.exit_status == 0) state_.forget({kVBoxHostOnlyIfKind, *name, host});
      return Failure::refused("VirtualBox refused the address " + host + "/" + mask + " on " +
                              *name + ": " + rtrim(ip.output) +
                              (rm.exit_status == 0 ? "; the interface was removed again"
                                                   : "; removing it failed too: `dcslab down` retries"));
    }
    if (!options_.network_is_local(lab_)) {
      auto rm = vbox({"hostonlyif", "remove", *name});
      if (rm.exit_status == 0) state_.forget({kVBoxHostOnlyIfKind, *name, host});
      return Failure::refused(not_here_message(*name) +
                              (rm.exit_status == 0 ? "; the interface was removed again"
                                                   : "; removing it failed: `dcslab down` retries"));
    }
    return *name;
  }

  // The refusal when VirtualBox's host-only interface is not in the network namespace
  // dcslab runs in. VirtualBox makes its interfaces in the namespace of its VBoxSVC
  // service (normally the host's), which an isolated lab's namespace cannot hold; dcslab
  // sends lab traffic only to a network it can see here (netns.h).
  std::string not_here_message(const std::string& ifname) const {
    const std::string ns = state_.get("netns");
    return "VirtualBox's host-only interface " + ifname + " (" + lab_.network.host.str() +
           ") is not in " +
           (ns.empty() ? std::string("this network namespace")
                       : "the lab's network namespace " + ns + " (up --isolated)") +
           ": VirtualBox creates its interfaces where its VBoxSVC service runs, normally the "
           "host's namespace, and dcslab sends lab traffic only to a network it can see. "
           "Bring a VirtualBox lab up without --isolated (its host-only network stays "
           "inside this host)";
  }

  // showvminfo as key/values; nullopt when there is no such VM.
  Expected<std::optional<std::map<std::string, std::string>>> vm_info(const std::string& name) {
    auto r = vbox({"showvminfo", name, "--machinereadable"});
    if (r.exit_status != 0) {
      if (vbox_output_says_not_found(r.output)) return std::optional<std::map<std::string, std::string>>();
      return Failure::error("VBoxManage showvminfo " + name + " failed: " + rtrim(r.output));
    }
    return std::optional<std::map<std::string, std::string>>(parse_vbox_machinereadable(r.output));
  }

  Expected<void> ensure_node(const Node& node, const fs::path& base, const fs::path& identity_tar,
                             const std::string& ifname, Progress& progress) {
    const fs::path dir = state_.node_dir(node.name);
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path root = dir / "root.vdi";
    const fs::path identity = dir / "identity.vdi";
    const std::string name = vbox_vm_name(lab_, node);

    if (!fs::exists(root, ec)) {
      progress.phase(node.name + ": differencing disk over " + base.filename().string());
      state_.record({kVBoxDiskKind, root.string(), node.name});
      DCSLAB_TRY(vbox_checked({"createmedium", "disk", "--filename", root.string(), "--diffparent",
                               base.string(), "--format", "VDI"}));
    }
    if (!fs::exists(identity, ec)) {
      progress.phase(node.name + ": identity disk");
      state_.record({kVBoxDiskKind, identity.string(), node.name});
      DCSLAB_TRY(vbox_checked({"convertfromraw", identity_tar.string(), identity.string(),
                               "--format", "VDI"}));
    }

    auto info = vm_info(name);
    if (!info) return info.error();
    if (!*info) {
      VBoxVmSpec spec;
      spec.name = name;
      spec.node = node.name;
      spec.memory_mib = node.memory_mib;
      spec.cpus = node.cpus;
      spec.hostonly_if = ifname;
      spec.mac = vbox_node_mac(lab_, node);
      spec.root_disk = root.string();
      spec.identity_disk = identity.string();
      spec.console_log = console_log(node.name).string();
      spec.basefolder = (state_.dir() / "vbox").string();
      progress.phase("creating VM " + name + " (" + std::to_string(node.memory_mib) + " MiB, " +
                     std::to_string(node.cpus) + " vCPUs, " + ifname + ")");
      state_.record({kVBoxVmKind, name, node.name});
      for (const auto& args : vbox_create_vm_argvs(spec)) DCSLAB_TRY(vbox_checked(args));
    } else {
      const auto& kv = **info;
      if (!kv.count(std::string(kVBoxController) + "-0-0") ||
          kv.at(std::string(kVBoxController) + "-0-0") == "none")
        return Failure::error("VM " + name + " exists without its root disk (an interrupted up?); "
                              "run `dcslab down` and `dcslab up` again");
      const std::string st = kv.count("VMState") ? kv.at("VMState") : "";
      if (st == "running" || st == "paused" || st == "starting") return {};  // left alone
    }
    progress.phase("starting " + name + " (headless)");
    DCSLAB_TRY(vbox_checked({"startvm", name, "--type", "headless"}));
    return {};
  }

  Expected<void> remove_vm(const Resource& r, Progress& progress) {
    auto info = vm_info(r.name);
    if (!info) return info.error();
    if (!*info) {
      state_.forget(r);
      return {};
    }
    progress.phase("removing VM " + r.name);
    auto kv = **info;
    const std::string st = kv["VMState"];
    const bool runs = st == "running" || st == "paused" || st == "starting" || st == "stuck";
    if (runs || !kv["SessionName"].empty()) {
      ProcessResult off;
      if (runs) off = vbox({"controlvm", r.name, "poweroff"});
      // The VM's process (VBoxHeadless) exits and releases its session a moment after
      // poweroff returns; unregistering before that fails, and down must not return
      // while it runs: wait until VirtualBox reports no session on the VM.
      auto stopped = wait_until_gone(clock(), "lab " + lab_.name, options_.gone, progress, [&] {
        std::vector<Lingering> left;
        auto i = vm_info(r.name);
        if (!i || !*i) return left;
        auto& now = **i;
        const std::string s = now["VMState"], session = now["SessionName"];
        if (s == "running" || s == "stopping" || s == "paused" || s == "starting" || s == "stuck")
          left.push_back({GoneKind::Machine, r.name + " (VMState " + s + ")"});
        else if (!session.empty())
          left.push_back({GoneKind::Machine, r.name + " (its process still holds session \"" +
                                                 session + "\")"});
        return left;
      });
      if (!stopped)
        return Failure::error((runs ? "VBoxManage controlvm " + r.name + " poweroff: " +
                                          rtrim(off.output) + "; "
                                    : std::string()) +
                              stopped.error().message);
    }
    // Detach first: `unregistervm --delete` deletes attached images that no other VM
    // uses, and the disks are the ledger's to remove (each its own entry).
    const std::string prefix = std::string(kVBoxController) + "-";
    for (const auto& [key, value] : kv) {
      if (key.rfind(prefix, 0) != 0 || value == "none" || value.empty()) continue;
      const std::string slot = key.substr(prefix.size());  // "0-1"
      const auto dash = slot.find('-');
      if (dash == std::string::npos || slot.find_first_not_of("0123456789-") != std::string::npos) continue;
      DCSLAB_TRY(vbox_checked({"storageattach", r.name, "--storagectl", kVBoxController, "--port",
                               slot.substr(0, dash), "--device", slot.substr(dash + 1), "--medium",
                               "none"}));
    }
    DCSLAB_TRY(vbox_checked({"unregistervm", r.name, "--delete"}));
    state_.forget(r);
    return {};
  }

  Expected<void> remove_disk(const Resource& r, Progress& progress) {
    std::error_code ec;
    // Only ever a file under this lab's state folder.
    const fs::path p = r.name;
    const auto rel = p.lexically_relative(state_.dir());
    if (rel.empty() || *rel.begin() == "..")
      return Failure::error("ledger entry " + r.name + " is outside " + state_.dir().string() +
                            "; not deleting it");
    if (fs::exists(p, ec)) {
      progress.phase("deleting disk " + p.filename().string() + " of " + r.data);
      auto close = vbox({"closemedium", "disk", p.string(), "--delete"});
      if (close.exit_status != 0 && fs::exists(p, ec))
        return Failure::error("VBoxManage closemedium disk " + p.string() +
                              " --delete failed: " + rtrim(close.output));
    }
    state_.forget(r);
    return {};
  }

  Expected<void> release_base(const Resource& r, Progress& progress) {
    // Forget the registration VirtualBox made when the first differencing disk was
    // created; never the file (it is the image's). Another lab's disks over the same
    // image keep it registered: then it stays, which is harmless.
    std::error_code ec;
    if (fs::exists(r.name, ec)) {
      auto close = vbox({"closemedium", "disk", r.name});
      if (close.exit_status != 0)
        progress.done("note: " + r.name + " stays registered in VirtualBox (" + rtrim(close.output) + ")");
    }
    state_.forget(r);
    return {};
  }

  Expected<void> remove_interface(const Resource& r, Progress& progress) {
    if (r.name == kPendingInterface) {
      progress.done("note: an earlier up was interrupted while VirtualBox created a host-only "
                    "interface; if `VBoxManage list hostonlyifs` shows an unused one with " +
                    r.data + ", remove it with VBoxManage hostonlyif remove");
      state_.forget(r);
      return {};
    }
    auto out = vbox_checked({"list", "hostonlyifs"});
    if (!out) return out.error();
    const auto ifs = parse_vbox_hostonlyifs(*out);
    if (std::any_of(ifs.begin(), ifs.end(), [&](const VBoxHostOnlyIf& i) { return i.name == r.name; })) {
      progress.phase("removing host-only interface " + r.name);
      DCSLAB_TRY(vbox_checked({"hostonlyif", "remove", r.name}));
    }
    state_.forget(r);
    return {};
  }

  const Lab& lab_;
  LabState& state_;
  VirtualBoxProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_virtualbox_provider(const Lab& lab, LabState& state) {
  return make_virtualbox_provider(lab, state, {});
}

std::unique_ptr<Provider> make_virtualbox_provider(const Lab& lab, LabState& state,
                                                   VirtualBoxProviderOptions options) {
  return std::make_unique<VirtualBoxProvider>(lab, state, std::move(options));
}

}  // namespace dcslab
