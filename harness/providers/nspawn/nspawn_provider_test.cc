#include "providers/nspawn/nspawn_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/paths.h"
#include "lab/lab.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kLabYaml = R"(name: dcs
network:
  name: patroni
  cidr: 192.168.56.0/24
  host: 192.168.56.1
  domain: patroni.mydomain
provider:
  type: nspawn
nodes:
  - name: dcs-00
    ip: 192.168.56.10
  - name: dcs-01
    ip: 192.168.56.11
)";

// Records every host call together with how many resources the ledger held at that
// moment, so tests can check "recorded before created".
class FakeHost : public NspawnHost {
 public:
  explicit FakeHost(LabState& state) : state_(state) {}

  HostCgroups cgroups() override { return host_cgroups; }
  bool link_exists(const std::string& name) override { return links.count(name) > 0; }
  Expected<void> create_bridge(const std::string& name, const std::string& address) override {
    log("create_bridge " + name + " " + address);
    links.insert(name);
    return {};
  }
  Expected<void> delete_link(const std::string& name) override {
    log("delete_link " + name);
    links.erase(name);
    return {};
  }
  Expected<void> make_dirs(const std::vector<fs::path>& dirs) override {
    log("make_dirs " + dirs.front().parent_path().filename().string());
    return {};
  }
  Expected<void> remove_dirs(const std::vector<fs::path>& dirs) override {
    log("remove_dirs " + dirs.front().parent_path().filename().string());
    return {};
  }
  Expected<MachineRecord> launch_detached(
      const LaunchPlan& plan, const std::function<void(const MachineRecord&)>& commit) override {
    MachineRecord r{next_pid++, 1000, ""};
    std::string machine;  // the node, from --hostname=NAME
    for (const auto& a : plan.argv)
      if (a.rfind("--hostname=", 0) == 0) machine = a.substr(11);
    log("fork " + machine);
    commit(r);
    log("exec " + machine);
    plans.push_back(plan);
    live.insert(r.pid);
    return r;
  }
  Expected<void> run(const LaunchPlan& plan) override {
    log("run " + plan.argv.front());
    return {};
  }
  bool alive(const MachineRecord& m) override { return live.count(m.pid) > 0; }
  void terminate(const MachineRecord& m) override {
    log("terminate " + std::to_string(m.pid));
    if (!ignores_term.count(m.pid)) live.erase(m.pid);
  }
  void kill(const MachineRecord& m, const std::string& cgroup) override {
    log("kill " + std::to_string(m.pid) + " " + cgroup);
    if (!survives_kill.count(m.pid)) live.erase(m.pid);
  }
  std::string run_state(const MachineRecord& m, const std::string&) override {
    return paused.count(m.pid) ? "paused" : "running";
  }
  Expected<void> freeze(const MachineRecord& m, bool frozen) override {
    log(std::string(frozen ? "freeze " : "thaw ") + std::to_string(m.pid) + " " + m.cgroup);
    if (frozen) paused.insert(m.pid);
    else paused.erase(m.pid);
    return {};
  }
  Expected<std::string> host_link(const MachineRecord& m) override {
    return "vb-" + std::to_string(m.pid);
  }
  Expected<void> set_link_up(const std::string& name, bool up) override {
    log("link " + name + (up ? " up" : " down"));
    return {};
  }
  MachineTrace trace(const MachineRecord& m) override {
    log("trace " + std::to_string(m.pid));
    return {"pid:[" + std::to_string(m.pid) + "]", "vb-" + std::to_string(m.pid), nullptr};
  }
  // A machine's container process stays for linger_polls[pid] calls after nspawn is
  // gone (-1: for ever).
  std::vector<Lingering> lingering(const std::string& node, const MachineRecord& m,
                                   const MachineTrace& t) override {
    ++lingering_calls;
    std::vector<Lingering> out;
    if (alive(m)) out.push_back({GoneKind::Machine, node + " (nspawn pid " + std::to_string(m.pid) + ")"});
    auto& left = linger_polls[m.pid];
    if (left != 0) {
      out.push_back({GoneKind::Process, "pid " + std::to_string(m.pid + 1000) + " (etcd) of " + node +
                                            " in " + t.pid_ns});
      if (left > 0 && --left == 0) log("last process of " + std::to_string(m.pid) + " gone");
    }
    return out;
  }

  void log(const std::string& what) {
    events.push_back(what + " @" + std::to_string(state_.resources().size()));
  }

  HostCgroups host_cgroups{};  // the CI hosts: v1 hybrid, no systemd
  std::set<std::string> links;
  std::set<pid_t> live, ignores_term, survives_kill, paused;
  std::vector<std::string> events;
  std::vector<LaunchPlan> plans;
  std::map<pid_t, int> linger_polls;
  int lingering_calls = 0;
  pid_t next_pid = 100;

 private:
  LabState& state_;
};

class RecordingProgress : public Progress {
 public:
  void phase(const std::string& m) override { lines.push_back(m); }
  void waiting(const std::string& what, std::chrono::seconds elapsed,
               std::chrono::seconds limit) override {
    lines.push_back("waiting " + what + " (" + std::to_string(elapsed.count()) + "s of " +
                    std::to_string(limit.count()) + "s)");
  }
  void done(const std::string& m) override { lines.push_back(m); }
  std::vector<std::string> lines;
};

class NspawnProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("dcslab-nspawn-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_ / "image/rootfs");
    lab_ = parse_lab(kLabYaml, "test.yaml");
    state_ = std::make_unique<LabState>(home_, lab_.name);
    host_ = std::make_unique<FakeHost>(*state_);
    provider_ = make_nspawn_provider(lab_, *state_, *host_, clock_);
    image_.rootfs = home_ / "image/rootfs";
    request_.lab = &lab_;
    request_.image = &image_;
    for (const auto& n : lab_.nodes) request_.identity[n.name] = home_ / (n.name + ".tar");
  }
  void TearDown() override { fs::remove_all(home_); }

  std::vector<std::string> kinds_and_names() const {
    std::vector<std::string> out;
    for (const auto& r : state_->resources()) out.push_back(r.kind + " " + r.name);
    return out;
  }

  fs::path home_;
  Lab lab_;
  std::unique_ptr<LabState> state_;
  std::unique_ptr<FakeHost> host_;
  FakeClock clock_;
  std::unique_ptr<Provider> provider_;
  Image image_;
  UpRequest request_;
  NullProgress progress_;
};

TEST(NspawnNames, BridgeNameFitsInterfaceLimit) {
  EXPECT_EQ(nspawn_bridge_name("dcs"), "dcsn-dcs");
  EXPECT_EQ(nspawn_bridge_name("abcdefghij"), "dcsn-abcdefghij");  // exactly 15
  const auto a = nspawn_bridge_name("abcdefghijk");
  const auto b = nspawn_bridge_name("abcdefghijl");
  EXPECT_EQ(a.size(), 15u);
  EXPECT_EQ(a.substr(0, 9), "dcsn-abc-");
  EXPECT_NE(a, b);                                   // the hash tells long names apart
  EXPECT_EQ(a, nspawn_bridge_name("abcdefghijk"));   // and is stable across runs
  EXPECT_LE(nspawn_bridge_name(std::string(32, 'x')).size(), 15u);
}

TEST(NspawnNames, CgroupTrickOnlyWhereNspawnNeedsIt) {
  EXPECT_TRUE(nspawn_needs_private_cgroup2({.root_is_cgroup2 = false, .systemd_booted = false}));
  EXPECT_FALSE(nspawn_needs_private_cgroup2({.root_is_cgroup2 = true, .systemd_booted = false}));
  EXPECT_FALSE(nspawn_needs_private_cgroup2({.root_is_cgroup2 = false, .systemd_booted = true}));
  EXPECT_FALSE(nspawn_needs_private_cgroup2({.root_is_cgroup2 = true, .systemd_booted = true}));
}

TEST(NspawnRecord, RoundTripsAndRejectsGarbage) {
  MachineRecord r{4242, 987654321ULL, "dcslab-dcs-dcs-00"};
  auto back = MachineRecord::parse(r.format());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->start_ticks, 987654321ULL);
  EXPECT_EQ(back->cgroup, "dcslab-dcs-dcs-00");
  EXPECT_FALSE(MachineRecord::parse(""));
  EXPECT_FALSE(MachineRecord::parse("pid=12"));
  EXPECT_FALSE(MachineRecord::parse("pid=abc start=1"));
  EXPECT_FALSE(MachineRecord::parse("pid=0 start=1"));
}

TEST_F(NspawnProviderTest, LaunchPlanOnCgroupV1HostMountsCgroup2AndOverlayPrivately) {
  const Node& n = lab_.nodes[1];
  auto spec = nspawn_machine_spec(lab_, *state_, n, "/img/rootfs", "/id/dcs-01.tar", true);
  const auto dir = state_->node_dir("dcs-01");
  auto plan = nspawn_launch_plan(spec);
  using K = LaunchStep::Kind;
  ASSERT_EQ(plan.steps.size(), 5u);
  EXPECT_EQ(plan.steps[0].kind, K::PrivateMounts);  // first: nothing below leaks to the host
  EXPECT_EQ(plan.steps[1], (LaunchStep{K::Detach, "/sys/fs/cgroup", "", "", ""}));
  EXPECT_EQ(plan.steps[2], (LaunchStep{K::Mount, "/sys/fs/cgroup", "none", "cgroup2", ""}));
  EXPECT_EQ(plan.steps[3], (LaunchStep{K::JoinCgroup, "/sys/fs/cgroup/dcslab-dcs-dcs-01", "", "", ""}));
  EXPECT_EQ(plan.steps[4],
            (LaunchStep{K::Mount, (dir / "root").string(), "overlay", "overlay",
                        "lowerdir=/img/rootfs,upperdir=" + (dir / "upper").string() +
                            ",workdir=" + (dir / "work").string()}));
  EXPECT_EQ(describe(plan.steps[2]), "mount -t cgroup2 none /sys/fs/cgroup");
  EXPECT_EQ(plan.output, dir / "console.log");
  EXPECT_THAT(plan.argv,
              ElementsAre("systemd-nspawn", "--directory=" + (dir / "root").string(), "--boot",
                          "--register=no", "--keep-unit", "--link-journal=no",
                          "--machine=dcslab-dcs-dcs-01", "--hostname=dcs-01",
                          "--network-bridge=dcsn-dcs",
                          "--bind-ro=/id/dcs-01.tar:/run/dcslab/identity.tar",
                          "--timezone=off", "--console=read-only"));
}

TEST(NspawnMachineName, UniquePerLabAndWithinNspawnsLimit) {
  EXPECT_EQ(nspawn_machine_name("a", "dcs-00"), "dcslab-a-dcs-00");
  EXPECT_NE(nspawn_machine_name("a", "dcs-00"), nspawn_machine_name("b", "dcs-00"));
  const std::string long1(80, 'x'), long2 = std::string(79, 'x') + "y";
  EXPECT_LE(nspawn_machine_name(long1, "dcs-00").size(), 64u);
  EXPECT_NE(nspawn_machine_name(long1, "dcs-00"), nspawn_machine_name(long2, "dcs-00"));
  EXPECT_NE(nspawn_machine_name(long1, "dcs-00"), nspawn_machine_name(long1, "dcs-01"));
}

TEST_F(NspawnProviderTest, LaunchPlanOnSystemdHostLeavesCgroupsAlone) {
  auto spec = nspawn_machine_spec(lab_, *state_, lab_.nodes[0], "/img/rootfs", "/id/a.tar", false);
  auto plan = nspawn_launch_plan(spec);
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[0].kind, LaunchStep::Kind::PrivateMounts);
  EXPECT_EQ(plan.steps[1].fstype, "overlay");
  EXPECT_TRUE(spec.cgroup.empty());
}

TEST_F(NspawnProviderTest, PathsOverlayCannotCarryAreBadInput) {
  auto spec = nspawn_machine_spec(lab_, *state_, lab_.nodes[0], "/img:x/rootfs", "/id/a.tar", true);
  EXPECT_THROW(nspawn_launch_plan(spec), BadInput);
  spec = nspawn_machine_spec(lab_, *state_, lab_.nodes[0], "/img/rootfs", "/id/a,b.tar", true);
  EXPECT_THROW(nspawn_launch_plan(spec), BadInput);
}

TEST(NspawnCleanup, RemovesOnlyTheMachinesGroupChildrenFirst) {
  auto plan = cgroup_cleanup_plan("dcslab-dcs-dcs-00", true);
  ASSERT_EQ(plan.steps.size(), 4u);
  EXPECT_EQ(plan.steps[2].fstype, "cgroup2");
  // An orphaned container (its nspawn killed) is killed before the group is removed.
  EXPECT_EQ(plan.steps[3], (LaunchStep{LaunchStep::Kind::KillCgroup,
                                       "/sys/fs/cgroup/dcslab-dcs-dcs-00", "", "", ""}));
  EXPECT_THAT(plan.argv, ElementsAre("find", "/sys/fs/cgroup", "-mindepth", "1", "-depth", "-type",
                                     "d", "(", "-path", "/sys/fs/cgroup/dcslab-dcs-dcs-00", "-o",
                                     "-path", "/sys/fs/cgroup/dcslab-dcs-dcs-00/*", ")", "-delete"));
}

TEST_F(NspawnProviderTest, NicIsHost0) {
  EXPECT_EQ(provider_->nic_match(lab_.nodes[0]), "Name=host0");
  EXPECT_EQ(provider_->kind(), "nspawn");
  EXPECT_EQ(provider_->console_log("dcs-00"), state_->node_dir("dcs-00") / "console.log");
}

TEST_F(NspawnProviderTest, UpRecordsEveryResourceBeforeCreatingIt) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  // "@N" is the ledger size when the host call happened.
  EXPECT_THAT(host_->events,
              ElementsAre("create_bridge dcsn-dcs 192.168.56.1/24 @1",  // bridge recorded
                          "make_dirs dcs-00 @2",                       // layer recorded
                          "fork dcs-00 @3",                            // cgroup recorded
                          "exec dcs-00 @4",                            // machine recorded
                          "make_dirs dcs-01 @5", "fork dcs-01 @6", "exec dcs-01 @7"));
  EXPECT_THAT(kinds_and_names(),
              ElementsAre("nspawn-bridge dcsn-dcs", "nspawn-layer dcs-00",
                          "nspawn-cgroup dcslab-dcs-dcs-00", "nspawn-machine dcs-00",
                          "nspawn-layer dcs-01", "nspawn-cgroup dcslab-dcs-dcs-01",
                          "nspawn-machine dcs-01"));
  auto rec = MachineRecord::parse(state_->resources()[3].data);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->pid, 100);
  EXPECT_EQ(rec->cgroup, "dcslab-dcs-dcs-00");
  EXPECT_THAT(host_->plans[0].argv, ::testing::Contains("--bind-ro=" + (home_ / "dcs-00.tar").string() +
                                                        ":/run/dcslab/identity.tar"));
}

TEST_F(NspawnProviderTest, OnSystemdHostNoCgroupIsMade) {
  host_->host_cgroups = {.root_is_cgroup2 = true, .systemd_booted = true};
  ASSERT_TRUE(provider_->up(request_, progress_));
  for (const auto& r : state_->resources()) EXPECT_NE(r.kind, kNspawnCgroup);
  EXPECT_EQ(host_->plans[0].steps.size(), 2u);
}

TEST_F(NspawnProviderTest, UpLeavesRunningMachinesAloneAndRestartsDeadOnes) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->live.erase(100);  // dcs-00's machine died
  host_->events.clear();
  ASSERT_TRUE(provider_->up(request_, progress_));
  int forks = 0;
  for (const auto& e : host_->events) forks += e.rfind("fork ", 0) == 0;
  EXPECT_EQ(forks, 1);
  // The dead machine's cgroup (where an orphaned container could live on) is cleared
  // before the new machine starts.
  EXPECT_THAT(host_->events, ElementsAre("create_bridge dcsn-dcs 192.168.56.1/24 @7",
                                         "run find @6", "make_dirs dcs-00 @6", "fork dcs-00 @6",
                                         "exec dcs-00 @7"));
  auto rec = MachineRecord::parse(state_->resources().back().data);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->pid, 102);  // the new process, not the dead one
}

TEST_F(NspawnProviderTest, UpWithoutImageRootfsFailsBeforeCreatingAnything) {
  image_.rootfs = home_ / "nope";
  auto r = provider_->up(request_, progress_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Failure::Kind::NotFound);
  EXPECT_TRUE(state_->empty());
  EXPECT_TRUE(host_->events.empty());
}

TEST_F(NspawnProviderTest, StatusReportsRunningPausedMissing) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->paused.insert(101);
  auto s = provider_->status();
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].state, "running");
  EXPECT_EQ((*s)[1].state, "paused");
  host_->live.clear();
  s = provider_->status();
  EXPECT_EQ((*s)[0].state, "missing");
  EXPECT_THAT((*s)[0].detail, HasSubstr("exited"));
}

TEST_F(NspawnProviderTest, DownStopsEverythingNewestFirstAndEmptiesTheLedger) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  state_->record({"netns", "someone-elses", ""});  // not ours: must stay
  host_->events.clear();
  ASSERT_TRUE(provider_->down(progress_));
  EXPECT_THAT(host_->events,
              ElementsAre("trace 101 @8", "trace 100 @8",          // while they run
                          "terminate 101 @8", "terminate 100 @8",  // all at once first
                          // both gone: forgotten, then the rest newest first
                          "run find @6",                           // dcs-01's cgroup
                          "remove_dirs dcs-01 @5", "run find @4", "remove_dirs dcs-00 @3",
                          "delete_link dcsn-dcs @2"));
  EXPECT_THAT(kinds_and_names(), ElementsAre("netns someone-elses"));
  EXPECT_EQ(clock_.sleeps, 0);  // both powered off on SIGTERM: no waiting
  // Already gone is success.
  ASSERT_TRUE(provider_->down(progress_));
}

TEST_F(NspawnProviderTest, DownKillsAMachineThatIgnoresPoweroff) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->ignores_term.insert(101);
  ASSERT_TRUE(provider_->down(progress_));
  EXPECT_THAT(host_->events, ::testing::Contains(HasSubstr("kill 101 dcslab-dcs-dcs-01")));
  EXPECT_GE(clock_.now().time_since_epoch(), std::chrono::seconds(10));  // waited the poweroff limit
  EXPECT_TRUE(state_->empty());
}

TEST_F(NspawnProviderTest, DownKeepsLayerAndBridgeOfAMachineThatWillNotDie) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->ignores_term.insert(101);
  host_->survives_kill.insert(101);
  auto r = provider_->down(progress_);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("survived SIGKILL"));
  EXPECT_THAT(kinds_and_names(),
              ElementsAre("nspawn-bridge dcsn-dcs", "nspawn-layer dcs-01",
                          "nspawn-cgroup dcslab-dcs-dcs-01", "nspawn-machine dcs-01"));
  for (const auto& e : host_->events) EXPECT_THAT(e, Not(HasSubstr("remove_dirs dcs-01")));
}

TEST_F(NspawnProviderTest, DownWaitsForTheContainersLastProcessesAndSaysWhat) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->linger_polls[100] = 25;  // dcs-00's container outlives nspawn by 2.5 s
  host_->events.clear();
  RecordingProgress progress;
  ASSERT_TRUE(provider_->down(progress));
  EXPECT_TRUE(state_->empty());
  EXPECT_EQ(clock_.sleeps, 25);
  EXPECT_EQ(host_->linger_polls[100], 0);  // down returned only once it was gone
  EXPECT_THAT(progress.lines,
              ::testing::Contains("waiting 1 process of lab dcs: pid 1100 (etcd) of dcs-00 in "
                                  "pid:[100] (1s of 15s)"));
  // Its machine was forgotten and its layer removed only after: nothing ran on it any more.
  EXPECT_THAT(host_->events,
              ElementsAre("trace 101 @7", "trace 100 @7", "terminate 101 @7", "terminate 100 @7",
                          "last process of 100 gone @7", "run find @5", "remove_dirs dcs-01 @4",
                          "run find @3", "remove_dirs dcs-00 @2", "delete_link dcsn-dcs @1"));
}

TEST_F(NspawnProviderTest, DownFailsBoundedNamingWhatStaysAndKeepsItForASecondDown) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->linger_polls[101] = -1;  // dcs-01's container never goes
  auto r = provider_->down(progress_);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("dcs-01: after 15 s still there: 1 process of lab dcs: "
                                           "pid 1101 (etcd) of dcs-01 in pid:[101]"));
  EXPECT_EQ(clock_.now().time_since_epoch(), std::chrono::seconds(15));  // the process limit
  // dcs-00 went and is forgotten; dcs-01, its layer, cgroup and the bridge stay.
  EXPECT_THAT(kinds_and_names(),
              ElementsAre("nspawn-bridge dcsn-dcs", "nspawn-layer dcs-01",
                          "nspawn-cgroup dcslab-dcs-dcs-01", "nspawn-machine dcs-01"));
  // Once it is gone, a second down finishes.
  host_->linger_polls[101] = 0;
  ASSERT_TRUE(provider_->down(progress_));
  EXPECT_TRUE(state_->empty());
}

TEST_F(NspawnProviderTest, CrashKillsTheMachineAndStartLaunchesItOnTheSameLayer) {
  ASSERT_TRUE(provider_->up(request_, progress_));  // dcs-00 pid 100, dcs-01 pid 101
  host_->events.clear();
  host_->links.insert("vb-101");  // the veth outlives the container for a moment
  ASSERT_TRUE(provider_->crash("dcs-01", progress_));
  EXPECT_THAT(host_->events, ElementsAre(HasSubstr("kill 101 dcslab-dcs-dcs-01"),
                                         HasSubstr("delete_link vb-101")));
  EXPECT_FALSE(host_->alive({101, 1000, ""}));
  auto st = provider_->status();
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)[0].state, "running");
  EXPECT_EQ((*st)[1].state, "missing");
  ASSERT_TRUE(provider_->crash("dcs-01", progress_));  // already down: nothing to do
  EXPECT_EQ(host_->events.size(), 2u);

  host_->events.clear();
  ASSERT_TRUE(provider_->start("dcs-01", progress_));
  ASSERT_EQ(host_->plans.size(), 3u);
  const LaunchPlan& again = host_->plans.back();
  // The same overlay (upper dir kept: the node's disk) and the identity given at up.
  EXPECT_THAT(again.steps.back().options,
              HasSubstr("upperdir=" + (state_->node_dir("dcs-01") / "upper").string()));
  EXPECT_THAT(again.steps.back().options, HasSubstr("lowerdir=" + image_.rootfs.string()));
  EXPECT_THAT(again.argv, ::testing::Contains("--bind-ro=" + (home_ / "dcs-01.tar").string() +
                                              ":/run/dcslab/identity.tar"));
  EXPECT_THAT(host_->events, ::testing::Contains(HasSubstr("fork dcs-01")));
  for (const auto& e : host_->events) EXPECT_THAT(e, Not(HasSubstr("remove_dirs")));
  st = provider_->status();
  EXPECT_EQ((*st)[1].state, "running");
  // One machine entry per node, and down still removes everything.
  const auto ledger = kinds_and_names();
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), "nspawn-machine dcs-01"), 1);
  const auto before = host_->plans.size();
  ASSERT_TRUE(provider_->start("dcs-01", progress_));  // running: nothing to do
  EXPECT_EQ(host_->plans.size(), before);
  ASSERT_TRUE(provider_->down(progress_));
  EXPECT_TRUE(state_->empty());
}

TEST_F(NspawnProviderTest, PauseFreezesResumeThawsAndStatusSaysPaused) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->events.clear();
  ASSERT_TRUE(provider_->pause("dcs-00", progress_));
  EXPECT_EQ((*provider_->status())[0].state, "paused");
  ASSERT_TRUE(provider_->resume("dcs-00", progress_));
  EXPECT_EQ((*provider_->status())[0].state, "running");
  EXPECT_THAT(host_->events, ElementsAre(HasSubstr("freeze 100 dcslab-dcs-dcs-00"),
                                         HasSubstr("thaw 100 dcslab-dcs-dcs-00")));
}

TEST_F(NspawnProviderTest, PartitionAndHealSetTheHostEndOfTheVeth) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  host_->events.clear();
  ASSERT_TRUE(provider_->partition("dcs-01", progress_));
  ASSERT_TRUE(provider_->heal("dcs-01", progress_));
  EXPECT_THAT(host_->events, ElementsAre(HasSubstr("link vb-101 down"), HasSubstr("link vb-101 up")));
}

TEST_F(NspawnProviderTest, FaultsOnAStoppedOrUnknownNodeAreRefusedWithTheReason) {
  ASSERT_TRUE(provider_->up(request_, progress_));
  ASSERT_TRUE(provider_->crash("dcs-00", progress_));
  for (auto fault : {&Provider::pause, &Provider::resume, &Provider::partition, &Provider::heal}) {
    auto r = ((*provider_).*fault)("dcs-00", progress_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Failure::Kind::Refused);
    EXPECT_THAT(r.error().message, HasSubstr("dcs-00 is not running"));
  }
  auto unknown = provider_->crash("dcs-09", progress_);
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("no node dcs-09"));
}

TEST_F(NspawnProviderTest, StartOfANodeNeverUpIsRefused) {
  auto r = provider_->start("dcs-00", progress_);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("never started"));
  EXPECT_TRUE(host_->plans.empty());
}

// Snapshots need memory state, which a container does not have.
TEST(NspawnSnapshot, RefusesClearlyInsteadOfFaking) {
  char tmpl[] = "/tmp/dcslab-nsnap-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  Lab lab = load_lab(source_dir() / "fixtures/labs/dcs.yaml");
  lab.provider.type = "nspawn";
  LabState state(dir, "snap-nspawn");
  auto p = make_nspawn_provider(lab, state);
  NullProgress progress;
  for (auto r : {p->snapshot_save("base", progress), p->snapshot_revert("base", progress),
                 p->snapshot_delete("base", progress)}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, Failure::Kind::Refused);
    EXPECT_EQ(r.error().message, "nspawn machines have no memory snapshots; use provider libvirt");
  }
  EXPECT_FALSE(p->snapshot_list().ok());
  EXPECT_TRUE(state.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dcslab
