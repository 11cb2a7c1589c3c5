#include "providers/libvirt/libvirt_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <libvirt/libvirt-qemu.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "providers/libvirt/accel_probe.h"
#include "lab/consistent_snapshot.h"
#include "base/digest.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/process.h"
#include "base/text.h"
#include "base/wait_gone.h"
#include "providers/libvirt/libvirt_handles.h"
#include "providers/libvirt/libvirt_xml.h"
#include "providers/libvirt/libvirt_uri.h"
#include "providers/libvirt/private_libvirtd.h"
#include "providers/libvirt/libvirt_save_image.h"
#include "providers/libvirt/libvirt_template.h"

namespace dcslab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Expected<uint64_t> qcow2_virtual_size(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  unsigned char h[32] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h))
    return Failure::not_found("cannot read the image disk " + file.string());
  if (!(h[0] == 'Q' && h[1] == 'F' && h[2] == 'I' && h[3] == 0xfb))
    return Failure::error(file.string() + " is not a qcow2 image (rebuild it: dcslab image build)");
  uint64_t size = 0;
  for (int i = 24; i < 32; ++i) size = (size << 8) | h[i];  // big-endian
  return size;
}

namespace {

std::string state_name(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:  // running, its vCPUs idle
      return "running";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting down";
    case VIR_DOMAIN_SHUTOFF: return "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "no state";
  }
}

bool is_ours(const std::string& kind) {
  return kind == kLibvirtDomainKind || kind == kLibvirtNetworkKind || kind == kLibvirtPoolKind ||
         kind == kLibvirtVolumeKind || kind == kLibvirtSnapshotKind || kind == kPrivateLibvirtdKind;
}

// The dcslab <metadata> lab name of a domain, or "" when it carries none (not ours).
std::string metadata_lab(virDomainPtr dom) {
  VirChars md(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, kDcslabXmlns, 0));
  if (!md) return "";
  pugi::xml_document doc;
  if (!doc.load_string(md.get())) return "";
  // libvirt hands the element back with its own prefix choice; match by local name.
  for (auto child : doc.first_child().children()) {
    std::string n = child.name();
    if (n == "name" || (n.size() > 5 && n.substr(n.size() - 5) == ":name")) return child.text().get();
  }
  return "";
}

// The accelerator probe's guest as a transient libvirt domain. It is in the ledger while
// it exists: under a hanging KVM it would never end by itself.
class LibvirtProbeGuest : public ProbeGuest {
 public:
  LibvirtProbeGuest(virConnectPtr conn, LabState& state, fs::path kernel)
      : conn_(conn),
        state_(state),
        kernel_(std::move(kernel)),
        name_("dcslab-" + state.lab_name() + "-accel-probe"),
        log_(state.dir() / "accel-probe-console.log") {}

  Expected<void> start() override {
    std::error_code ec;
    fs::remove(log_, ec);
    state_.record({kLibvirtDomainKind, name_, "accel probe"});
    const std::string xml = probe_domain_xml(name_, true, kernel_, log_);
    virDomainPtr d = virDomainCreateXML(conn_, xml.c_str(), 0);
    if (!d) return libvirt_failure("starting the KVM probe guest " + name_);
    virDomainFree(d);
    return {};
  }

  ProbeObservation observe() override {
    ProbeObservation seen;
    VirDomain d(virDomainLookupByName(conn_, name_.c_str()));
    int st = VIR_DOMAIN_NOSTATE, reason = 0;
    seen.ended = !d || virDomainGetState(d.get(), &st, &reason, 0) != 0 || st == VIR_DOMAIN_SHUTOFF ||
                 st == VIR_DOMAIN_CRASHED;
    // Nothing written yet is an empty console.
    if (auto text = read_file(log_)) seen.console = std::move(*text);
    return seen;
  }

  void stop() override {
    if (VirDomain d{virDomainLookupByName(conn_, name_.c_str())}) virDomainDestroy(d.get());
    if (!VirDomain(virDomainLookupByName(conn_, name_.c_str())))
      state_.forget({kLibvirtDomainKind, name_, ""});
  }

 private:
  virConnectPtr conn_;
  LabState& state_;
  fs::path kernel_;
  std::string name_;
  fs::path log_;
};

// One node's snapshot primitives on libvirt: internal snapshots (disk and memory in the
// node's qcow2 overlay) through the snapshot API, so libvirt knows them (list, delete,
// undefine) on a remote host as well as here.
class LibvirtNodeSnapshots : public NodeSnapshots {
 public:
  LibvirtNodeSnapshots(virConnectPtr conn, const Lab& lab, LabState& state,
                       LibvirtProviderOptions::Revert revert, Progress& progress)
      : conn_(conn), lab_(lab), state_(state), revert_(revert), progress_(progress) {}

  Expected<void> pause(const std::string& node) override {
    auto d = domain(node);
    if (!d) return d.error();
    auto st = domain_state(d->get(), node);
    if (!st) return st.error();
    if (*st == VIR_DOMAIN_PAUSED) return {};
    if (*st != VIR_DOMAIN_RUNNING && *st != VIR_DOMAIN_BLOCKED)
      return Failure::refused(node + " is " + state_name(*st) +
                              "; lab snapshots need running nodes (dcslab up)");
    if (virDomainSuspend(d->get()) != 0) return libvirt_failure("pausing " + domain_name(node));
    return {};
  }

  Expected<void> resume(const std::string& node) override {
    auto d = domain(node);
    if (!d) return d.error();
    auto st = domain_state(d->get(), node);
    if (!st) return st.error();
    if (*st != VIR_DOMAIN_PAUSED) return {};
    if (virDomainResume(d->get()) != 0) return libvirt_failure("resuming " + domain_name(node));
    return {};
  }

  Expected<bool> has(const std::string& node, const std::string& name) override {
    auto d = domain(node);
    if (!d) return d.error();
    VirSnapshot s(virDomainSnapshotLookupByName(d->get(), name.c_str(), 0));
    if (s) return true;
    if (libvirt_last_code() == VIR_ERR_NO_DOMAIN_SNAPSHOT) return false;
    return libvirt_failure("looking up snapshot " + name + " of " + domain_name(node));
  }

  Expected<void> create(const std::string& node, const std::string& name) override {
    auto d = domain(node);
    if (!d) return d.error();
    SnapshotSpec spec;
    spec.name = name;
    spec.description = "dcslab lab " + lab_.name + " snapshot " + name + " of " + node;
    state_.record(ledger_entry(node, name));
    VirSnapshot s(virDomainSnapshotCreateXML(d->get(), snapshot_xml(spec).c_str(), 0));
    if (!s) {
      Failure f = libvirt_failure("creating snapshot " + name + " of " + domain_name(node));
      if (auto h = has(node, name); h && !*h) state_.forget(ledger_entry(node, name));
      return f;
    }
    return {};
  }

  Expected<void> revert(const std::string& node, const std::string& name) override {
    auto d = domain(node);
    if (!d) return d.error();
    VirSnapshot s(virDomainSnapshotLookupByName(d->get(), name.c_str(), 0));
    if (!s) return libvirt_failure("looking up snapshot " + name + " of " + domain_name(node));
    if (revert_ == LibvirtProviderOptions::Revert::Fast) {
      // The paused QEMU loads the snapshot in place (name checked by valid_snapshot_name,
      // so it cannot carry a second monitor command). HMP's loadvm prints nothing on
      // success and the error otherwise.
      char* reply = nullptr;
      const std::string cmd = "loadvm " + name;
      if (virDomainQemuMonitorCommand(d->get(), cmd.c_str(), &reply,
                                      VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) == 0) {
        VirChars out(reply);
        const std::string text = out ? rtrim(out.get()) : "";
        if (text.empty()) return {};
        warn_once("QEMU's loadvm on " + domain_name(node) + " said \"" + text +
                  "\"; reverting through libvirt instead (slower)");
      } else {
        warn_once("no QEMU monitor for " + domain_name(node) + " (" +
                  libvirt_failure("loadvm").message + "); reverting through libvirt instead");
      }
    }
    // libvirt restarts QEMU from the snapshot; paused, so that every node resumes together.
    if (virDomainRevertToSnapshot(s.get(), VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) != 0)
      return libvirt_failure("reverting " + domain_name(node) + " to " + name);
    return {};
  }

  Expected<void> remove(const std::string& node, const std::string& name) override {
    auto d = domain(node);
    if (!d) return d.error();
    VirSnapshot s(virDomainSnapshotLookupByName(d->get(), name.c_str(), 0));
    if (s && virDomainSnapshotDelete(s.get(), 0) != 0)
      return libvirt_failure("deleting snapshot " + name + " of " + domain_name(node));
    if (!s && libvirt_last_code() != VIR_ERR_NO_DOMAIN_SNAPSHOT)
      return libvirt_failure("looking up snapshot " + name + " of " + domain_name(node));
    state_.forget(ledger_entry(node, name));
    return {};
  }

 private:
  std::string domain_name(const std::string& node) const {
    const Node* n = lab_.find_node(node);
    return n ? libvirt_domain_name(lab_, *n) : "dcslab-" + lab_.name + "-" + node;
  }

  Resource ledger_entry(const std::string& node, const std::string& name) const {
    return {kLibvirtSnapshotKind, domain_name(node) + "/" + name, name};
  }

  Expected<VirDomain> domain(const std::string& node) {
    const std::string name = domain_name(node);
    VirDomain d(virDomainLookupByName(conn_, name.c_str()));
    if (!d) {
      if (libvirt_last_code() == VIR_ERR_NO_DOMAIN)
        return Failure::not_found("domain " + name + " of node " + node + " does not exist; is lab " +
                                  lab_.name + " up? (dcslab up)");
      return libvirt_failure("looking up " + name);
    }
    return d;
  }

  Expected<int> domain_state(virDomainPtr d, const std::string& node) {
    int st = VIR_DOMAIN_NOSTATE, reason = 0;
    if (virDomainGetState(d, &st, &reason, 0) != 0)
      return libvirt_failure("reading the state of " + domain_name(node));
    return st;
  }

  void warn_once(const std::string& message) {
    if (warned_) return;
    warned_ = true;
    progress_.done("warning: " + message);
  }

  virConnectPtr conn_;
  const Lab& lab_;
  LabState& state_;
  LibvirtProviderOptions::Revert revert_;
  Progress& progress_;
  bool warned_ = false;
};

class LibvirtProvider : public Provider {
 public:
  LibvirtProvider(const Lab& lab, LabState& state, LibvirtProviderOptions options)
      : lab_(lab), state_(state), options_(std::move(options)) {
    silence_libvirt_errors();
    if (options_.home.empty()) options_.home = dcslab_home();
    if (const char* r = std::getenv("DCSLAB_SNAPSHOT_REVERT"); r && std::string(r) == "libvirt")
      options_.revert = LibvirtProviderOptions::Revert::Libvirt;
  }

  std::string kind() const override { return "libvirt"; }

  std::string nic_match(const Node& node) const override {
    return "MACAddress=" + libvirt_node_mac(lab_, node);
  }

  fs::path console_log(const std::string& node) const override {
    return state_.node_dir(node) / "console.log";
  }

  Expected<void> up(const UpRequest& request, Progress& progress) override {
    if (!request.image) return Failure::error("libvirt provider: no image given to up()");
    const Image& image = *request.image;
    std::string uri = current_uri();
    if (state_.get("isolated") == "1") {
      auto private_uri = ensure_private_libvirtd(state_, progress, clock());
      if (!private_uri) return private_uri.error();
      uri = *private_uri;
    }
    auto conn = libvirt_connect(uri);
    if (!conn) return conn.error();
    virConnectPtr c = conn->get();

    auto accel = choose(c, image, progress);
    if (!accel) return accel.error();
    const bool kvm = *accel;

    auto pool = ensure_pool(c, progress);
    if (!pool) return pool.error();
    DCSLAB_TRY(ensure_network(c, progress));

    auto capacity = qcow2_virtual_size(image.disk);
    if (!capacity) return capacity.error();
    // Under TCG the guest's TSC is the host's: tell its kernel the frequency (see
    // host_tsc_khz) rather than let it calibrate against an emulated PIT.
    std::string cmdline = image.kernel_cmdline();
    if (!kvm)
      if (const auto khz = host_tsc_khz()) cmdline += " tsc_early_khz=" + std::to_string(*khz);
    // A fresh lab is restored from the image's booted template where it can be; what
    // cannot (a cold lab, a failed restore) says why and boots cold below.
    if (up_from_template(c, pool->get(), image, kvm, cmdline, request, progress)) {
      if (state_.get("isolated") == "1") keep_libvirt_capabilities(state_);
      return {};
    }
    std::vector<std::pair<std::string, VirDomain>> to_start;
    for (const auto& node : lab_.nodes) {
      const auto identity = request.identity.find(node.name);
      if (identity == request.identity.end())
        return Failure::error("libvirt provider: no identity.tar for " + node.name);
      auto overlay = ensure_overlay(c, pool->get(), node, *capacity, image.disk, progress);
      if (!overlay) return overlay.error();
      const DomainSpec spec =
          node_domain_spec(lab_, node, kvm, image.kernel, image.initrd, cmdline,
                           *overlay, identity->second, console_log(node.name));
      auto dom = ensure_domain(c, spec, progress);
      if (!dom) return dom.error();
      if (*dom) to_start.emplace_back(spec.name, std::move(*dom));
    }
    // The first definition made the daemon probe QEMU: keep what it found for the next.
    if (state_.get("isolated") == "1") keep_libvirt_capabilities(state_);
    return start_domains(to_start, progress);
  }

  Expected<std::vector<NodeStatus>> status() override {
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    std::vector<NodeStatus> out;
    for (const auto& node : lab_.nodes) {
      const std::string name = libvirt_domain_name(lab_, node);
      VirDomain d(virDomainLookupByName(conn->get(), name.c_str()));
      if (!d) {
        out.push_back({node.name, "missing", name});
        continue;
      }
      int st = VIR_DOMAIN_NOSTATE, reason = 0;
      if (virDomainGetState(d.get(), &st, &reason, 0) != 0)
        return libvirt_failure("reading the state of " + name);
      out.push_back({node.name, state_name(st), name});
    }
    return out;
  }

  Expected<void> snapshot_save(const std::string& name, Progress& progress) override {
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    LibvirtNodeSnapshots ops(conn->get(), lab_, state_, options_.revert, progress);
    return consistent_save(ops, lab_.node_names(), name, progress);
  }

  Expected<void> snapshot_revert(const std::string& name, Progress& progress) override {
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    LibvirtNodeSnapshots ops(conn->get(), lab_, state_, options_.revert, progress);
    return consistent_revert(ops, lab_.node_names(), name, progress);
  }

  Expected<void> snapshot_delete(const std::string& name, Progress& progress) override {
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    LibvirtNodeSnapshots ops(conn->get(), lab_, state_, options_.revert, progress);
    return remove_everywhere(ops, lab_.node_names(), name, progress);
  }

  // Through the QEMU guest agent (its port is in every node's domain, libvirt_xml.h):
  // read the guest's time (virDomainGetTime), shift its clock by the difference, read it
  // again (more than 1 s off is a failure); every node at once, each on a connection of
  // its own. Not virDomainSetTime: after setting the clock the agent writes it to the RTC
  // with hwclock, which waits for the RTC's next second (0.2 to 1 s a node measured under
  // TCG) before libvirt answers.
  // A machine without the agent refuses at once (a lab made before the image had it);
  // one whose agent is not connected yet (just resumed) is asked again for a few seconds.
  Expected<std::vector<GuestClock>> set_clocks(Progress& progress) override {
    const size_t n = lab_.nodes.size();
    progress.phase("setting the clocks of " + std::to_string(n) +
                   " nodes through their guest agents");
    std::vector<std::optional<Expected<GuestClock>>> set(n);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i)
      threads.emplace_back([&, i] { set[i] = set_node_clock(lab_.nodes[i].name); });
    for (auto& t : threads) t.join();
    std::vector<GuestClock> clocks;
    std::string failed;
    for (size_t i = 0; i < n; ++i) {
      if (*set[i])
        clocks.push_back(**set[i]);
      else
        failed += (failed.empty() ? "" : "; ") + lab_.nodes[i].name + ": " + set[i]->error().message;
    }
    if (!failed.empty()) return Failure::error(failed);
    return clocks;
  }

  Expected<std::vector<SnapshotInfo>> snapshot_list() override {
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    std::map<std::string, SnapshotInfo> by_name;
    for (const auto& node : lab_.nodes) {
      const std::string dom_name = libvirt_domain_name(lab_, node);
      VirDomain d(virDomainLookupByName(conn->get(), dom_name.c_str()));
      if (!d) continue;  // a missing node holds nothing
      virDomainSnapshotPtr* snaps = nullptr;
      const int n = virDomainListAllSnapshots(d.get(), &snaps, 0);
      if (n < 0) return libvirt_failure("listing the snapshots of " + dom_name);
      std::vector<VirSnapshot> owned;
      for (int i = 0; i < n; ++i) owned.emplace_back(snaps[i]);
      free(snaps);
      for (const auto& s : owned) {
        const char* name = virDomainSnapshotGetName(s.get());
        if (!name) continue;
        SnapshotInfo& info = by_name[name];
        info.name = name;
        info.nodes.push_back(node.name);
        VirChars xml(virDomainSnapshotGetXMLDesc(s.get(), VIR_DOMAIN_SNAPSHOT_XML_SECURE));
        pugi::xml_document doc;
        if (xml && doc.load_string(xml.get())) {
          const long long t = doc.child("domainsnapshot").child("creationTime").text().as_llong();
          if (t > 0 && (info.created == 0 || t < info.created)) info.created = t;
        }
      }
    }
    std::vector<SnapshotInfo> out;
    for (auto& [name, info] : by_name) {
      info.complete = info.nodes.size() == lab_.nodes.size();
      out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
      return a.created != b.created ? a.created < b.created : a.name < b.name;
    });
    return out;
  }

  // Faults, each on a connection of its own: a hard power-off is virDomainDestroy (QEMU
  // killed, the guest gets no shutdown), start is virDomainCreate of the same persistent
  // definition (same overlay, same identity disk), pause and resume suspend and resume
  // the vCPUs, and a partition sets the lab NIC's link down in the running domain only
  // (AFFECT_LIVE): the definition keeps the link up, so a node crashed and started
  // again comes back connected.
  Expected<void> crash(const std::string& node, Progress& progress) override {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto st = domain_state(*nd);
    if (!st) return st.error();
    if (*st == VIR_DOMAIN_SHUTOFF || *st == VIR_DOMAIN_CRASHED) return {};
    progress.phase("crashing " + node + " (hard power-off of " + nd->name + ")");
    if (virDomainDestroy(nd->dom.get()) != 0) return libvirt_failure("destroying " + nd->name);
    return {};
  }

  Expected<void> start(const std::string& node, Progress& progress) override {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto st = domain_state(*nd);
    if (!st) return st.error();
    if (*st == VIR_DOMAIN_RUNNING || *st == VIR_DOMAIN_BLOCKED) return {};
    if (*st == VIR_DOMAIN_PAUSED)
      return Failure::refused(node + " is paused, not stopped; resume it (fault resume)");
    progress.phase("starting " + node + " (" + nd->name + ")");
    if (virDomainCreate(nd->dom.get()) != 0) return libvirt_failure("starting " + nd->name);
    return {};
  }

  Expected<void> pause(const std::string& node, Progress& progress) override {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto st = domain_state(*nd);
    if (!st) return st.error();
    if (*st == VIR_DOMAIN_PAUSED) return {};
    if (*st != VIR_DOMAIN_RUNNING && *st != VIR_DOMAIN_BLOCKED)
      return Failure::refused(node + " is " + state_name(*st) + "; only a running node pauses");
    progress.phase("pausing " + node);
    if (virDomainSuspend(nd->dom.get()) != 0) return libvirt_failure("pausing " + nd->name);
    return {};
  }

  Expected<void> resume(const std::string& node, Progress& progress) override {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto st = domain_state(*nd);
    if (!st) return st.error();
    if (*st == VIR_DOMAIN_RUNNING || *st == VIR_DOMAIN_BLOCKED) return {};
    if (*st != VIR_DOMAIN_PAUSED)
      return Failure::refused(node + " is " + state_name(*st) + ", not paused; start it (fault start)");
    progress.phase("resuming " + node);
    if (virDomainResume(nd->dom.get()) != 0) return libvirt_failure("resuming " + nd->name);
    return {};
  }

  Expected<void> partition(const std::string& node, Progress& progress) override {
    return set_link(node, false, progress);
  }
  Expected<void> heal(const std::string& node, Progress& progress) override {
    return set_link(node, true, progress);
  }

  Expected<void> down(Progress& progress) override {
    std::vector<Resource> mine;
    for (const auto& r : state_.resources())
      if (is_ours(r.kind)) mine.push_back(r);
    if (mine.empty()) return {};
    std::reverse(mine.begin(), mine.end());  // newest first

    VirConnect conn;
    const bool needs_libvirt = std::any_of(mine.begin(), mine.end(), [](const Resource& r) {
      return r.kind != kPrivateLibvirtdKind;
    });
    if (needs_libvirt) {
      auto c = libvirt_connect(current_uri());
      if (!c && state_.has(kPrivateLibvirtdKind, "dcslab-" + lab_.name + "-libvirtd")) {
        // The private daemon died (a crash, a killed run) but its QEMU processes and
        // definitions may not have: start it again so it finds them, then remove them.
        auto uri = ensure_private_libvirtd(state_, progress, clock());
        if (!uri) return uri.error();
        c = libvirt_connect(*uri);
      }
      if (!c) return Failure::refused(c.error().message + "; cannot remove the lab's libvirt resources");
      conn = std::move(*c);
    }

    std::optional<Failure> first;
    for (const auto& r : mine) {
      Expected<void> done;
      if (r.kind == kLibvirtDomainKind) {
        done = remove_domain(conn.get(), r, progress);
      } else if (r.kind == kLibvirtSnapshotKind) {
        done = remove_snapshot(conn.get(), r, progress);
      } else if (r.kind == kLibvirtVolumeKind) {
        done = remove_volume(conn.get(), r, progress);
      } else if (r.kind == kLibvirtPoolKind) {
        done = remove_pool(conn.get(), r, progress);
      } else if (r.kind == kLibvirtNetworkKind) {
        done = remove_network(conn.get(), r, progress);
      } else if (r.kind == kPrivateLibvirtdKind) {
        // Never stop the daemon while something it runs is left: its QEMU processes
        // would be orphaned with nothing to remove them.
        if (first) break;
        conn.reset();
        progress.phase("stopping the private libvirtd");
        done = stop_private_libvirtd(state_, r, clock());
      }
      if (!done && !first) first = done.error();
    }
    if (first) return *first;
    return {};
  }

 private:
  Clock& clock() { return options_.clock ? *options_.clock : RealClock::instance(); }

  // A node's domain with the connection it came from (the domain is freed first).
  struct NodeDomain {
    VirConnect conn;
    VirDomain dom;
    std::string name;
  };

  Expected<NodeDomain> node_domain(const std::string& node) {
    const Node* n = lab_.find_node(node);
    if (!n) return Failure::not_found("lab " + lab_.name + " has no node " + node);
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    const std::string name = libvirt_domain_name(lab_, *n);
    VirDomain d(virDomainLookupByName(conn->get(), name.c_str()));
    if (!d) {
      if (libvirt_last_code() == VIR_ERR_NO_DOMAIN)
        return Failure::not_found("domain " + name + " of node " + node + " does not exist; is lab " +
                                  lab_.name + " up? (dcslab up)");
      return libvirt_failure("looking up " + name);
    }
    return NodeDomain{std::move(*conn), std::move(d), name};
  }

  // One node's clock through its agent: read, shift by the difference, read again.
  Expected<GuestClock> set_node_clock(const std::string& node) {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto before = guest_offset(*nd);
    if (!before) return before.error();
    DCSLAB_TRY(shift_guest_clock(*nd, -*before));
    auto after = guest_offset(*nd);
    if (!after) return after.error();
    if (std::abs(*after) > 1.0)
      return Failure::error(
          fmt::format("the clock of {} is still {:+.1f} s off after setting it", node, *after));
    return GuestClock{node, *before, *after};
  }

  // One command to the node's guest agent; its answer's "return" value.
  Expected<nlohmann::json> agent_command(const NodeDomain& nd, const nlohmann::json& command) {
    const std::string what = command.value("execute", std::string("command"));
    VirChars reply(virDomainQemuAgentCommand(nd.dom.get(), command.dump().c_str(), 10, 0));
    if (!reply) return libvirt_failure("the guest agent of " + nd.name + " (" + what + ")");
    try {
      auto j = nlohmann::json::parse(reply.get());
      if (j.is_object() && j.contains("return")) return j["return"];
    } catch (const nlohmann::json::exception&) {
    }
    return Failure::error("the guest agent of " + nd.name + " (" + what + ") answered " + reply.get());
  }

  // Moves the guest's clock by `offset` seconds: `date -s '+N seconds'` run by the agent
  // (guest-exec). date adds N to the time it reads itself just before setting it, so the
  // command's way to the guest and its start-up do not end up in the clock.
  Expected<void> shift_guest_clock(const NodeDomain& nd, double offset) {
    auto started = agent_command(
        nd, {{"execute", "guest-exec"},
             {"arguments",
              {{"path", "/bin/date"},
               {"arg", {"-u", "-s", fmt::format("{:+.6f} seconds", offset)}},
               {"capture-output", true}}}});
    if (!started) return started.error();
    const long long pid = started->value("pid", -1LL);
    const auto start = clock().now();
    for (;;) {
      auto st = agent_command(nd, {{"execute", "guest-exec-status"}, {"arguments", {{"pid", pid}}}});
      if (!st) return st.error();
      if (st->value("exited", false)) {
        const int code = st->value("exitcode", -1);
        if (code == 0) return {};
        std::string err;
        base64_decode(st->value("err-data", std::string()), &err);
        return Failure::error(fmt::format("setting the clock of {} (date -s) failed with exit {}: {}",
                                          nd.name, code, err));
      }
      if (clock().now() - start >= 10s)
        return Failure::timeout("setting the clock of " + nd.name + ": date -s did not finish in 10 s");
      clock().sleep_for(20ms);
    }
  }

  // The guest's time minus the host's (the middle of the call), read through the agent.
  Expected<double> guest_offset(const NodeDomain& nd) {
    const auto wall = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    const auto start = clock().now();
    for (;;) {
      const double before = wall();
      long long secs = 0;
      unsigned int nsecs = 0;
      if (virDomainGetTime(nd.dom.get(), &secs, &nsecs, 0) == 0)
        return static_cast<double>(secs) + nsecs / 1e9 - (before + wall()) / 2;
      const int code = libvirt_last_code();
      Failure f = libvirt_failure("reading the clock of " + nd.name + " through its guest agent");
      if (code != VIR_ERR_AGENT_UNRESPONSIVE || clock().now() - start >= 5s) return f;
      clock().sleep_for(50ms);
    }
  }

  Expected<int> domain_state(const NodeDomain& nd) {
    int st = VIR_DOMAIN_NOSTATE, reason = 0;
    if (virDomainGetState(nd.dom.get(), &st, &reason, 0) != 0)
      return libvirt_failure("reading the state of " + nd.name);
    return st;
  }

  Expected<void> set_link(const std::string& node, bool up, Progress& progress) {
    auto nd = node_domain(node);
    if (!nd) return nd.error();
    auto st = domain_state(*nd);
    if (!st) return st.error();
    if (*st != VIR_DOMAIN_RUNNING && *st != VIR_DOMAIN_BLOCKED && *st != VIR_DOMAIN_PAUSED)
      return Failure::refused(node + " is " + state_name(*st) + "; its link can only be " +
                              (up ? "healed" : "cut") + " while it runs");
    const std::string mac = libvirt_node_mac(lab_, *lab_.find_node(node));
    VirChars xml(virDomainGetXMLDesc(nd->dom.get(), 0));
    if (!xml) return libvirt_failure("reading the definition of " + nd->name);
    auto nic = interface_with_link_state(xml.get(), mac, up);
    if (!nic) return Failure::error(nd->name + " has no lab NIC with MAC " + mac);
    progress.phase(std::string(up ? "healing " : "partitioning ") + node + " (link " +
                   (up ? "up" : "down") + " on " + mac + ")");
    if (virDomainUpdateDeviceFlags(nd->dom.get(), nic->c_str(), VIR_DOMAIN_AFFECT_LIVE) != 0)
      return libvirt_failure(std::string("setting the link of ") + nd->name + " " +
                             (up ? "up" : "down"));
    // Read back: the fault is only reported done when the domain says so.
    VirChars after(virDomainGetXMLDesc(nd->dom.get(), 0));
    if (!after) return libvirt_failure("reading the definition of " + nd->name);
    if (interface_link_state(after.get(), mac) != (up ? "up" : "down"))
      return Failure::error(nd->name + ": the link of " + mac + " did not change to " +
                            (up ? "up" : "down"));
    return {};
  }

  std::string current_uri() const {
    if (auto fact = state_.get("libvirt_uri"); !fact.empty()) return fact;
    if (!options_.uri.empty()) return options_.uri;
    return lab_.provider.uri;
  }

  Expected<bool> choose(virConnectPtr c, const Image& image, Progress& progress) {
    AccelInputs in;
    in.requested = lab_.provider.accel;
    in.kvm_device = fs::exists("/dev/kvm");
    in.cache_file = probe_cache_file(options_.home);
    in.boot_id = current_boot_id();
    in.probe = [&] {
      progress.phase("probing KVM with a test guest (at most 10 s; cached until reboot)");
      LibvirtProbeGuest guest(c, state_, image.kernel);
      ProbeResult r = run_kvm_probe(guest, clock());
      progress.done("KVM probe: " + r.detail);
      return r;
    };
    auto choice = choose_accel(in);
    if (!choice) return choice.error();
    if (!choice->warning.empty()) progress.done("warning: " + choice->warning);
    state_.set("accel", choice->kvm ? "kvm" : "tcg");
    return choice->kvm;
  }

  // A libvirt object with our name that the ledger does not know is someone else's (or a
  // lab whose state was deleted): never adopt it silently.
  Failure not_ours(const std::string& what, const std::string& name) const {
    return Failure::refused(what + " " + name + " exists but is not in lab " + lab_.name +
                            "'s ledger (" + (state_.dir() / "resources.json").string() +
                            "); remove it or rename the lab");
  }

  Expected<VirPool> ensure_pool(virConnectPtr c, Progress& progress) {
    const std::string name = libvirt_pool_name(lab_);
    const fs::path dir = state_.dir() / "pool";
    VirPool pool(virStoragePoolLookupByName(c, name.c_str()));
    if (pool && !state_.has(kLibvirtPoolKind, name)) return not_ours("storage pool", name);
    if (!pool) {
      progress.phase("creating storage pool " + name + " (" + dir.string() + ")");
      state_.record({kLibvirtPoolKind, name, dir.string()});
      pool.reset(virStoragePoolDefineXML(c, pool_xml(name, dir).c_str(), 0));
      if (!pool) return libvirt_failure("defining storage pool " + name);
      if (virStoragePoolBuild(pool.get(), 0) != 0)
        return libvirt_failure("building storage pool " + name);
    }
    if (virStoragePoolIsActive(pool.get()) != 1 && virStoragePoolCreate(pool.get(), 0) != 0)
      return libvirt_failure("starting storage pool " + name);
    return pool;
  }

  Expected<void> ensure_network(virConnectPtr c, Progress& progress) {
    const std::string name = libvirt_network_name(lab_);
    VirNetwork net(virNetworkLookupByName(c, name.c_str()));
    if (net && !state_.has(kLibvirtNetworkKind, name)) return not_ours("network", name);
    if (!net) {
      progress.phase("creating network " + name + " (bridge " + libvirt_bridge_name(lab_) +
                     ", host " + lab_.network.host.str() + ", no DHCP, no NAT)");
      state_.record({kLibvirtNetworkKind, name, libvirt_bridge_name(lab_)});
      net.reset(virNetworkDefineXML(c, network_xml(lab_).c_str()));
      if (!net) return libvirt_failure("defining network " + name);
    }
    if (virNetworkIsActive(net.get()) != 1 && virNetworkCreate(net.get()) != 0)
      return libvirt_failure("starting network " + name);
    return {};
  }

  Expected<fs::path> ensure_overlay(virConnectPtr, virStoragePoolPtr pool, const Node& node,
                                    uint64_t capacity, const fs::path& backing,
                                    Progress& progress) {
    const std::string vol_name = libvirt_volume_name(node);
    const std::string key = libvirt_pool_name(lab_) + "/" + vol_name;
    VirVol vol(virStorageVolLookupByName(pool, vol_name.c_str()));
    if (vol && !state_.has(kLibvirtVolumeKind, key)) return not_ours("volume", key);
    if (!vol) {
      progress.phase("creating overlay " + vol_name + " over " + backing.string());
      state_.record({kLibvirtVolumeKind, key, libvirt_pool_name(lab_)});
      vol.reset(virStorageVolCreateXML(pool, overlay_volume_xml(vol_name, capacity, backing).c_str(), 0));
      if (!vol) return libvirt_failure("creating volume " + key);
    }
    VirChars path(virStorageVolGetPath(vol.get()));
    if (!path) return libvirt_failure("reading the path of volume " + key);
    return fs::path(path.get());
  }

  // Defines the domain when missing. Returns it when it must be started (shut off or
  // crashed), an empty handle when it runs or is paused (left alone).
  Expected<VirDomain> ensure_domain(virConnectPtr c, const DomainSpec& spec, Progress& progress) {
    VirDomain dom(virDomainLookupByName(c, spec.name.c_str()));
    if (dom && !state_.has(kLibvirtDomainKind, spec.name)) {
      if (metadata_lab(dom.get()) != lab_.name) return not_ours("domain", spec.name);
      // Ours by its metadata (the ledger was lost): adopt it so down removes it.
      state_.record({kLibvirtDomainKind, spec.name, spec.node});
    }
    if (!dom) {
      std::error_code ec;
      fs::create_directories(spec.console_log.parent_path(), ec);
      progress.phase("defining domain " + spec.name + (spec.kvm ? " (KVM)" : " (TCG)"));
      state_.record({kLibvirtDomainKind, spec.name, spec.node});
      dom.reset(virDomainDefineXML(c, domain_xml(spec).c_str()));
      if (!dom) return libvirt_failure("defining domain " + spec.name);
    }
    int st = VIR_DOMAIN_NOSTATE, reason = 0;
    if (virDomainGetState(dom.get(), &st, &reason, 0) != 0)
      return libvirt_failure("reading the state of " + spec.name);
    if (st == VIR_DOMAIN_SHUTOFF || st == VIR_DOMAIN_CRASHED) return dom;
    return VirDomain();  // running or paused: left alone
  }

  // Starts the domains all at once, one thread each on the shared connection (libvirt's
  // are thread-safe; its errors are per thread): libvirtd prepares and launches the QEMU
  // processes in parallel, ~1 s each when done one after another, and every node starts
  // booting at the same time instead of the last one a few seconds behind.
  Expected<void> start_domains(std::vector<std::pair<std::string, VirDomain>>& doms,
                               Progress& progress) {
    std::vector<std::optional<Failure>> failures(doms.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < doms.size(); ++i) {
      progress.phase("starting " + doms[i].first);
      threads.emplace_back([&, i] {
        if (virDomainCreate(doms[i].second.get()) != 0)
          failures[i] = libvirt_failure("starting domain " + doms[i].first);
      });
    }
    for (auto& t : threads) t.join();
    for (auto& f : failures)
      if (f) return *f;
    return {};
  }

  // ---- Booted templates (libvirt_template.h) ----

  // Whether every node was restored from the template and is running with its identity
  // under way. False (after saying why, and removing whatever it made) when the lab must
  // boot cold.
  bool up_from_template(virConnectPtr c, virStoragePoolPtr pool, const Image& image, bool kvm,
                        const std::string& cmdline, const UpRequest& request, Progress& progress) {
    if (!lab_.provider.template_boot) {
      progress.done("booting cold: the lab file says provider.template: false");
      return false;
    }
    if (const char* t = std::getenv("DCSLAB_TEMPLATE"); t && std::string(t) == "off") {
      progress.done("booting cold: DCSLAB_TEMPLATE=off");
      return false;
    }
    // Save images and the guest agent are the QEMU driver's (not test:///, not another
    // hypervisor's), and the template lives in the image's folder.
    const char* driver = virConnectGetType(c);
    if (!driver || std::string(driver) != "QEMU" || !image.dir.is_absolute()) return false;
    // Only a lab with nothing of its nodes yet: a re-up keeps what runs.
    for (const auto& node : lab_.nodes) {
      const std::string key = libvirt_pool_name(lab_) + "/" + libvirt_volume_name(node);
      if (state_.has(kLibvirtVolumeKind, key) ||
          VirDomain(virDomainLookupByName(c, libvirt_domain_name(lab_, node).c_str())))
        return false;
    }
    std::vector<DomainSpec> specs;
    for (const auto& node : lab_.nodes) {
      const auto identity = request.identity.find(node.name);
      if (identity == request.identity.end()) return false;  // the cold path says so
      fs::path overlay = state_.dir() / "pool" / libvirt_volume_name(node);  // set once made
      specs.push_back(node_domain_spec(lab_, node, kvm, image.kernel, image.initrd, cmdline, overlay,
                                       identity->second, console_log(node.name)));
    }
    for (const auto& s : specs)
      if (template_shape(s) != template_shape(specs.front())) {
        progress.done("booting cold: the nodes differ in memory or vCPUs (one template per shape)");
        return false;
      }
    auto tpl = ensure_template(c, image, specs.front(), progress);
    if (!tpl) {
      progress.done("booting cold: " + tpl.error().message);
      return false;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto restored = restore_clones(pool, *tpl, specs, progress);
    if (!restored) {
      progress.done("warning: restoring the template failed (" + restored.error().message +
                    "); removing what it made and booting cold");
      undo_clones(c, specs, progress);
      return false;
    }
    progress.done(fmt::format("{} nodes restored from the template {} in {:.1f} s", specs.size(),
                              tpl->dir.filename().string(),
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    return true;
  }

  // What a template for `spec` depends on, as this host and lab have it now.
  Expected<TemplateManifest> current_manifest(virConnectPtr c, const Image& image, const DomainSpec& spec) {
    TemplateManifest m;
    unsigned long qemu = 0, lib = 0;
    if (virConnectGetVersion(c, &qemu) != 0) return libvirt_failure("reading QEMU's version");
    if (virConnectGetLibVersion(c, &lib) != 0) return libvirt_failure("reading libvirt's version");
    VirChars caps(virConnectGetDomainCapabilities(c, nullptr, "x86_64", "pc", spec.kvm ? "kvm" : "qemu", 0));
    if (!caps) return libvirt_failure("reading the domain capabilities of machine type pc");
    pugi::xml_document doc;
    doc.load_string(caps.get());
    const std::string emulator = doc.child("domainCapabilities").child_value("path");
    m.machine = doc.child("domainCapabilities").child_value("machine");
    std::error_code ec;
    const auto size = fs::file_size(emulator, ec);
    const auto mtime = fs::last_write_time(emulator, ec).time_since_epoch().count();
    m.qemu = fmt::format("{} {} {} {}", qemu, emulator, size, mtime);
    m.libvirt = std::to_string(lib);
    m.cpu = domain_cpu_xml(domain_xml(spec));
    Sha256 kernel;
    for (const auto& f : {image.kernel, image.initrd}) {
      auto bytes = read_file(f);
      if (!bytes) return Failure::error("cannot read " + f.string());
      kernel.field(*bytes);
    }
    m.kernel = kernel.hex_digest();
    m.image_hash = image.hash;
    m.accel = spec.kvm ? "kvm" : "tcg";
    m.memory_mib = spec.memory_mib;
    m.vcpus = spec.vcpus;
    return m;
  }

  struct UsableTemplate {
    fs::path dir, disk, state;
    SaveImageHeader header;
  };

  // The image's template for this node shape: kept, checked against this host, or booted
  // now (once). Under a lock, so two labs never build the same template at once.
  Expected<UsableTemplate> ensure_template(virConnectPtr c, const Image& image, const DomainSpec& node,
                                           Progress& progress) {
    const std::string shape = template_shape(node);
    const TemplateFiles files = template_files(image.dir, shape);
    std::error_code ec;
    fs::create_directories(files.dir.parent_path(), ec);
    DCSLAB_TRY_ASSIGN(auto lock, lock_file(files.dir.parent_path() / (shape + ".lock"), clock(), 20min, [&] {
      progress.phase("waiting for another dcslab building the template " + shape);
    }));
    DCSLAB_TRY_ASSIGN(auto now, current_manifest(c, image, node));
    if (fs::exists(files.manifest)) {
      auto text = read_file(files.manifest);
      auto kept = text ? parse_template_manifest(*text) : Expected<TemplateManifest>(text.error());
      std::string why = kept ? template_mismatch(*kept, now) : kept.error().message;
      if (why.empty()) {
        auto header = read_save_header(files.state);
        if (header && header->compressed == 0)
          return UsableTemplate{files.dir, files.disk, files.state, std::move(*header)};
        why = header ? "its save image is compressed" : header.error().message;
      }
      // A stale template is never used again: the next up builds a new one.
      fs::remove_all(files.dir, ec);
      return Failure::error("the template " + image.suite + "-" + image.hash + "/" + shape +
                            " does not fit (" + why + "); removed it, the next up builds a new one");
    }
    fs::remove_all(files.dir, ec);  // a build that did not finish
    auto built = build_template(c, image, node, files, now, progress);
    if (!built) {
      fs::remove_all(files.dir, ec);
      return Failure::error("building the template failed: " + built.error().message);
    }
    DCSLAB_TRY_ASSIGN(auto header, read_save_header(files.state));
    return UsableTemplate{files.dir, files.disk, files.state, std::move(header)};
  }

  // Boots one node without an identity (a blank identity disk: dcslab-identity finds no
  // archive, sshd is skipped, /run/dcslab/clone is made empty), waits until systemd is up,
  // and saves it (the domain is gone after), its disk frozen read-only.
  Expected<void> build_template(virConnectPtr c, const Image& image, const DomainSpec& node,
                                const TemplateFiles& files, const TemplateManifest& manifest,
                                Progress& progress) {
    progress.phase("booting the template for " + image.suite + "-" + image.hash + "/" +
                   template_shape(node) + " (once; its nodes are restored from it)");
    const auto t0 = std::chrono::steady_clock::now();
    std::error_code ec;
    fs::create_directories(files.dir, ec);
    if (ec) return Failure::error("cannot create " + files.dir.string() + ": " + ec.message());
    DCSLAB_TRY(write_file(files.blank, std::string(1 << 20, '\0'), 0444));
    DCSLAB_TRY(run_checked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                            image.disk.string(), files.disk.string()}));
    DomainSpec spec = node;
    spec.name = "dcslab-" + lab_.name + "-template";
    spec.node = "template";
    spec.overlay = files.disk;
    spec.identity = files.blank;
    spec.mac = "52:54:00:00:00:01";  // alone on the lab network while it runs
    spec.console_log = state_.dir() / "template-console.log";
    fs::remove(spec.console_log, ec);
    const Resource entry{kLibvirtDomainKind, spec.name, "template"};
    state_.record(entry);
    VirDomain dom(virDomainCreateXML(c, domain_xml(spec).c_str(), 0));
    if (!dom) {
      Failure f = libvirt_failure("starting the template domain " + spec.name);
      state_.forget(entry);
      return f;
    }
    auto conn = libvirt_connect(current_uri());
    if (!conn) return conn.error();
    NodeDomain nd{std::move(*conn), VirDomain(virDomainLookupByName(c, spec.name.c_str())), spec.name};
    auto ready = [&]() -> Expected<void> {
      if (!nd.dom) return libvirt_failure("looking up " + spec.name);
      DCSLAB_TRY(wait_agent(nd, 10min));
      // systemd done starting (a "degraded" answer is fine), and the image has the clone
      // units (dcslab-identity made the trigger).
      DCSLAB_TRY_ASSIGN(auto r, guest_exec(nd, {"/bin/sh", "-c",
                                                "systemctl is-system-running --wait >/dev/null; "
                                                "test -e /run/dcslab/clone || "
                                                "{ echo 'no /run/dcslab/clone: an image without the "
                                                "clone units (dcslab image build)'; exit 1; }"},
                                            10min));
      if (r.first != 0) return Failure::error(spec.name + ": " + rtrim(r.second));
      const fs::path tmp = files.dir / "state.save.part";
      progress.phase("saving the template (memory and disk)");
      if (virDomainSaveFlags(nd.dom.get(), tmp.c_str(), nullptr, VIR_DOMAIN_SAVE_RUNNING) != 0)
        return libvirt_failure("saving the template " + spec.name);
      std::error_code e2;
      fs::rename(tmp, files.state, e2);
      if (e2) return Failure::error("cannot rename " + tmp.string() + ": " + e2.message());
      return {};
    };
    auto done = ready();
    if (!done) {
      virDomainDestroy(dom.get());
      if (!VirDomain(virDomainLookupByName(c, spec.name.c_str()))) state_.forget(entry);
      return done.error();
    }
    state_.forget(entry);  // a saved domain is gone
    fs::permissions(files.disk, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                    fs::perm_options::replace, ec);
    DCSLAB_TRY(write_file_atomic(files.manifest, template_manifest_json(manifest), 0644));
    progress.done(fmt::format("template {} booted and saved in {:.0f} s ({})", template_shape(node),
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                              files.dir.string()));
    return {};
  }

  // Every node restored paused from the template (its own header XML through a FIFO),
  // defined cold-bootable, resumed all at once, then given its identity and clock.
  Expected<void> restore_clones(virStoragePoolPtr pool, const UsableTemplate& tpl,
                                std::vector<DomainSpec>& specs, Progress& progress) {
    DCSLAB_TRY_ASSIGN(auto capacity, qcow2_virtual_size(tpl.disk));
    for (size_t i = 0; i < specs.size(); ++i) {
      DCSLAB_TRY_ASSIGN(auto overlay, ensure_overlay(nullptr, pool, lab_.nodes[i], capacity, tpl.disk, progress));
      specs[i].overlay = overlay;
      std::error_code ec;
      fs::create_directories(specs[i].console_log.parent_path(), ec);
    }
    const size_t n = specs.size();
    std::vector<std::string> uuids(n);
    std::vector<std::optional<Failure>> failures(n);
    std::vector<NodeDomain> doms(n);
    progress.phase(fmt::format("restoring {} nodes from the template (paused)", n));
    {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
          uuids[i] = random_uuid();
          auto d = restore_one(tpl, specs[i], uuids[i]);
          if (d) doms[i] = std::move(*d);
          else failures[i] = d.error();
        });
      for (auto& t : threads) t.join();
    }
    for (auto& f : failures)
      if (f) return *f;
    // Persistent and cold-bootable (with the identity disk), so that fault crash + start
    // and a restarted daemon treat the node like any other.
    for (size_t i = 0; i < n; ++i) {
      const std::string xml = domain_xml_with_uuid(domain_xml(specs[i]), uuids[i]);
      VirDomain defined(virDomainDefineXML(doms[i].conn.get(), xml.c_str()));
      if (!defined) return libvirt_failure("defining " + specs[i].name + " after its restore");
    }
    // All at once: one running while the others restore slows them (seen: 4-5 s behind).
    progress.phase(fmt::format("resuming {} nodes; identity through their guest agents", n));
    {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
          if (virDomainResume(doms[i].dom.get()) != 0) {
            failures[i] = libvirt_failure("resuming " + specs[i].name);
            return;
          }
          auto id = give_identity(doms[i], specs[i]);
          if (!id) failures[i] = id.error();
        });
      for (auto& t : threads) t.join();
    }
    for (auto& f : failures)
      if (f) return *f;
    return {};
  }

  // One node's restore from a FIFO in the lab's state folder, fed by a writer thread with
  // the template's save image under this node's XML (libvirt_save_image.h).
  Expected<NodeDomain> restore_one(const UsableTemplate& tpl, const DomainSpec& spec,
                                   const std::string& uuid) {
    DCSLAB_TRY_ASSIGN(auto xml, clone_domain_xml(tpl.header.xml, CloneSpec{uuid, spec}));
    DCSLAB_TRY_ASSIGN(auto conn, libvirt_connect(current_uri()));
    const fs::path fifo = state_.dir() / (spec.node + ".restore");
    std::error_code ec;
    fs::remove(fifo, ec);
    if (::mkfifo(fifo.c_str(), 0600) != 0)
      return Failure::error("cannot make the FIFO " + fifo.string() + ": " + std::strerror(errno));
    std::atomic<bool> cancel{false};
    Expected<void> written;
    std::thread writer([&] { written = write_clone_save_image(tpl.state, xml, fifo, cancel); });
    state_.record({kLibvirtDomainKind, spec.name, spec.node});
    const int rc = virDomainRestoreFlags(conn.get(), fifo.c_str(), nullptr, VIR_DOMAIN_SAVE_PAUSED);
    std::optional<Failure> failed;
    if (rc != 0) failed = libvirt_failure("restoring " + spec.name + " from the template");
    cancel = true;
    if (rc != 0) {
      // A reader that opened and gave up leaves the writer in write(): open and close the
      // FIFO's read end so it gets EPIPE.
      Fd drain(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      writer.join();
    } else {
      writer.join();
    }
    fs::remove(fifo, ec);
    if (failed) {
      if (!written) failed->message += " (writing its save image: " + written.error().message + ")";
      return *failed;
    }
    // A restore that succeeded has read all of the state QEMU needs; a reader closing
    // before the writer's last bytes (EPIPE) is no failure then.
    VirDomain d(virDomainLookupByName(conn.get(), spec.name.c_str()));
    if (!d) return libvirt_failure("looking up the restored " + spec.name);
    return NodeDomain{std::move(conn), std::move(d), spec.name};
  }

  // Through the guest agent: the node's identity.tar to /run/dcslab/, then the trigger
  // line "MAC SEED" that starts images/files/dcslab-clone in the guest (MAC, reseed,
  // identity, then sshd). SEED is 32 random bytes of the host's: every clone resumed
  // with the template's random state, so its kernel is reseeded from them before sshd.
  // Then the clock, which is the template's (read, shift, read: set_node_clock).
  Expected<void> give_identity(const NodeDomain& nd, const DomainSpec& spec) {
    DCSLAB_TRY(wait_agent(nd, 120s));
    DCSLAB_TRY_ASSIGN(auto tar, read_file(spec.identity));
    DCSLAB_TRY(guest_write_file(nd, "/run/dcslab/identity.tar", tar));
    DCSLAB_TRY(guest_write_file(nd, "/run/dcslab/clone", spec.mac + " " + hex(random_bytes(32)) + "\n"));
    DCSLAB_TRY_ASSIGN(auto clk, set_node_clock(spec.node));
    (void)clk;
    return {};
  }

  // Right after a resume libvirt says "Guest agent not available for now" between two
  // commands that worked (seen on guest-file-write after guest-file-open): the whole
  // open-write-close is tried again (mode "w" truncates) for a few seconds.
  Expected<void> guest_write_file(const NodeDomain& nd, const std::string& path, const std::string& data) {
    const auto start = clock().now();
    for (;;) {
      int code = VIR_ERR_OK;
      auto done = guest_write_file_once(nd, path, data, &code);
      if (done || code != VIR_ERR_AGENT_UNRESPONSIVE || clock().now() - start >= 30s)
        return done;
      clock().sleep_for(200ms);
    }
  }

  // `code`: libvirt's error code of the command that failed.
  Expected<void> guest_write_file_once(const NodeDomain& nd, const std::string& path, const std::string& data,
                                       int* code) {
    auto opened = agent_command(nd, {{"execute", "guest-file-open"},
                                     {"arguments", {{"path", path}, {"mode", "w"}}}});
    if (!opened) {
      *code = libvirt_last_code();
      return opened.error();
    }
    const long long handle = opened->get<long long>();
    // In pieces: a 14 KB write right after a resume timed out (twice, at 10 s) where the
    // short commands before it were answered at once.
    Expected<nlohmann::json> wrote = nlohmann::json();
    for (size_t at = 0; at < data.size() && wrote; at += 2048)
      wrote = agent_command(nd, {{"execute", "guest-file-write"},
                                 {"arguments", {{"handle", handle},
                                                {"buf-b64", base64_encode(std::string_view(data).substr(at, 2048))}}}});
    if (!wrote) {
      *code = libvirt_last_code();
      (void)agent_command(nd, {{"execute", "guest-file-close"}, {"arguments", {{"handle", handle}}}});
      return wrote.error();
    }
    auto closed = agent_command(nd, {{"execute", "guest-file-close"}, {"arguments", {{"handle", handle}}}});
    if (!closed) {
      *code = libvirt_last_code();
      return closed.error();
    }
    return {};
  }

  // Until the guest agent answers guest-ping (it is not connected for a moment after a
  // resume, or until udev loaded virtio_console in a boot).
  Expected<void> wait_agent(const NodeDomain& nd, Clock::duration limit) {
    const auto start = clock().now();
    for (;;) {
      VirChars reply(virDomainQemuAgentCommand(nd.dom.get(), R"({"execute":"guest-ping"})", 2, 0));
      if (reply) return {};
      const int code = libvirt_last_code();
      if (code != VIR_ERR_AGENT_UNRESPONSIVE && code != VIR_ERR_AGENT_UNSYNCED &&
          code != VIR_ERR_OPERATION_TIMEOUT && code != VIR_ERR_OPERATION_INVALID)
        return libvirt_failure("the guest agent of " + nd.name);
      if (clock().now() - start >= limit)
        return Failure::timeout("the guest agent of " + nd.name + " did not answer in " +
                                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s");
      clock().sleep_for(100ms);
    }
  }

  // Runs argv in the guest through the agent; its exit status and output.
  Expected<std::pair<int, std::string>> guest_exec(const NodeDomain& nd, const std::vector<std::string>& argv,
                                                   Clock::duration limit) {
    nlohmann::json args = nlohmann::json::array();
    for (size_t i = 1; i < argv.size(); ++i) args.push_back(argv[i]);
    DCSLAB_TRY_ASSIGN(auto started, agent_command(nd, {{"execute", "guest-exec"},
                                                       {"arguments", {{"path", argv[0]}, {"arg", args},
                                                                      {"capture-output", true}}}}));
    const long long pid = started.value("pid", -1LL);
    const auto start = clock().now();
    for (;;) {
      DCSLAB_TRY_ASSIGN(auto st, agent_command(nd, {{"execute", "guest-exec-status"}, {"arguments", {{"pid", pid}}}}));
      if (st.value("exited", false)) {
        std::string out, err;
        base64_decode(st.value("out-data", std::string()), &out);
        base64_decode(st.value("err-data", std::string()), &err);
        return std::make_pair(st.value("exitcode", -1), out + err);
      }
      if (clock().now() - start >= limit) return Failure::timeout(nd.name + ": " + argv[0] + " did not finish");
      clock().sleep_for(100ms);
    }
  }

  // After a failed restore: the clones' domains and overlays go (the cold path makes its
  // own, backed by the image).
  void undo_clones(virConnectPtr c, const std::vector<DomainSpec>& specs, Progress& progress) {
    for (const auto& s : specs) {
      if (state_.has(kLibvirtDomainKind, s.name)) (void)remove_domain(c, {kLibvirtDomainKind, s.name, s.node}, progress);
    }
    for (const auto& node : lab_.nodes) {
      const std::string key = libvirt_pool_name(lab_) + "/" + libvirt_volume_name(node);
      if (state_.has(kLibvirtVolumeKind, key))
        (void)remove_volume(c, {kLibvirtVolumeKind, key, libvirt_pool_name(lab_)}, progress);
    }
  }

  Expected<void> remove_domain(virConnectPtr c, const Resource& r, Progress& progress) {
    VirDomain d(virDomainLookupByName(c, r.name.c_str()));
    if (!d) {
      if (libvirt_last_code() != VIR_ERR_NO_DOMAIN) return libvirt_failure("looking up " + r.name);
    } else {
      progress.phase("removing domain " + r.name);
      if (virDomainIsActive(d.get()) == 1) {
        // QEMU's pid, taken while libvirt's pid file still names it, so down can wait for
        // that very process; a fact, so a second down still knows it.
        if (auto q = libvirt_qemu_process(libvirt_qemu_pidfile(current_uri(), r.name), r.name))
          state_.set(qemu_fact(r.name), std::to_string(q->pid) + " " + std::to_string(q->start_ticks));
        if (virDomainDestroy(d.get()) != 0 && virDomainIsActive(d.get()) == 1)
          return libvirt_failure("stopping domain " + r.name);
      }
    }
    DCSLAB_TRY(wait_qemu_gone(r.name, progress));
    if (d) {
      // A domain with snapshots cannot be undefined without saying what happens to them;
      // their data lives in the overlay, which down deletes with the volume.
      if (virDomainIsPersistent(d.get()) == 1 &&
          virDomainUndefineFlags(d.get(), VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) != 0)
        return libvirt_failure("undefining domain " + r.name);
    }
    state_.forget(r);
    return {};
  }

  static std::string qemu_fact(const std::string& domain) { return "qemu-process:" + domain; }

  // libvirt's destroy returns once it has reaped QEMU, mostly; a QEMU stuck freeing a
  // large guest's memory can outlast it. Down goes on only when the process is gone.
  Expected<void> wait_qemu_gone(const std::string& domain, Progress& progress) {
    std::istringstream in(state_.get(qemu_fact(domain)));
    ProcessId q;
    if (!(in >> q.pid >> q.start_ticks)) return {};
    DCSLAB_TRY(wait_until_gone(clock(), "lab " + lab_.name, options_.gone, progress, [&] {
      std::vector<Lingering> left;
      if (process_alive(q))
        left.push_back({GoneKind::Machine, domain + " (QEMU pid " + std::to_string(q.pid) + ")"});
      return left;
    }));
    state_.set(qemu_fact(domain), "");
    return {};
  }

  Expected<void> remove_snapshot(virConnectPtr c, const Resource& r, Progress& progress) {
    const std::string dom_name = r.name.substr(0, r.name.rfind('/'));
    VirDomain d(virDomainLookupByName(c, dom_name.c_str()));
    if (!d && libvirt_last_code() != VIR_ERR_NO_DOMAIN) return libvirt_failure("looking up " + dom_name);
    VirSnapshot s(d ? virDomainSnapshotLookupByName(d.get(), r.data.c_str(), 0) : nullptr);
    if (d && !s && libvirt_last_code() != VIR_ERR_NO_DOMAIN_SNAPSHOT)
      return libvirt_failure("looking up snapshot " + r.name);
    if (s) {
      progress.phase("deleting snapshot " + r.name);
      // The data goes with the overlay volume anyway; if QEMU cannot drop it, at least
      // libvirt's record must go, or the domain could not be undefined.
      if (virDomainSnapshotDelete(s.get(), 0) != 0 &&
          virDomainSnapshotDelete(s.get(), VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) != 0)
        return libvirt_failure("deleting snapshot " + r.name);
    }
    state_.forget(r);
    return {};
  }

  Expected<void> remove_volume(virConnectPtr c, const Resource& r, Progress& progress) {
    VirPool pool(virStoragePoolLookupByName(c, r.data.c_str()));
    if (pool) {
      // Volumes of an inactive pool are invisible to libvirt: start the pool first.
      if (virStoragePoolIsActive(pool.get()) != 1) virStoragePoolCreate(pool.get(), 0);
      const std::string vol_name = r.name.substr(r.name.find('/') + 1);
      VirVol vol(virStorageVolLookupByName(pool.get(), vol_name.c_str()));
      if (vol) {
        progress.phase("deleting volume " + r.name);
        if (virStorageVolDelete(vol.get(), 0) != 0) return libvirt_failure("deleting volume " + r.name);
      }
    } else if (libvirt_last_code() != VIR_ERR_NO_STORAGE_POOL) {
      return libvirt_failure("looking up storage pool " + r.data);
    }
    state_.forget(r);
    return {};
  }

  Expected<void> remove_pool(virConnectPtr c, const Resource& r, Progress& progress) {
    VirPool pool(virStoragePoolLookupByName(c, r.name.c_str()));
    if (pool) {
      progress.phase("removing storage pool " + r.name);
      if (virStoragePoolIsActive(pool.get()) == 1 && virStoragePoolDestroy(pool.get()) != 0)
        return libvirt_failure("stopping storage pool " + r.name);
      // Removes the (now empty) folder; a driver without it leaves the folder to us.
      virStoragePoolDelete(pool.get(), 0);
      if (virStoragePoolUndefine(pool.get()) != 0)
        return libvirt_failure("undefining storage pool " + r.name);
    } else if (libvirt_last_code() != VIR_ERR_NO_STORAGE_POOL) {
      return libvirt_failure("looking up storage pool " + r.name);
    }
    // Only ever our own folder under the lab's state, and only if empty.
    std::error_code ec;
    if (!r.data.empty() && fs::path(r.data).parent_path() == state_.dir()) fs::remove(r.data, ec);
    state_.forget(r);
    return {};
  }

  Expected<void> remove_network(virConnectPtr c, const Resource& r, Progress& progress) {
    VirNetwork net(virNetworkLookupByName(c, r.name.c_str()));
    if (net) {
      progress.phase("removing network " + r.name);
      if (virNetworkIsActive(net.get()) == 1 && virNetworkDestroy(net.get()) != 0)
        return libvirt_failure("stopping network " + r.name);
      if (virNetworkIsPersistent(net.get()) == 1 && virNetworkUndefine(net.get()) != 0)
        return libvirt_failure("undefining network " + r.name);
    } else if (libvirt_last_code() != VIR_ERR_NO_NETWORK) {
      return libvirt_failure("looking up network " + r.name);
    }
    state_.forget(r);
    return {};
  }

  const Lab& lab_;
  LabState& state_;
  LibvirtProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_libvirt_provider(const Lab& lab, LabState& state) {
  return make_libvirt_provider(lab, state, {});
}

std::unique_ptr<Provider> make_libvirt_provider(const Lab& lab, LabState& state,
                                                LibvirtProviderOptions options) {
  return std::make_unique<LibvirtProvider>(lab, state, std::move(options));
}

}  // namespace dcslab
