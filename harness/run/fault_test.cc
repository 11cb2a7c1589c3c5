// Faults in scenarios: the `fault` action and `capture` as the loader reads them, and
// the runner driving them through a FakeLabControl that records every fault it is asked
// for; the seeded choice that makes a random schedule replayable.
#include "lab/fault.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "base/error.h"
#include "testing/fake_lab.h"
#include "testing/fake_lab_fixture.h"
#include "report/report_console.h"
#include "run/runner.h"
#include "scenario/scenario.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const FaultSpec& fault_of(const Step& st) { return std::get<FaultSpec>(st.action); }

TEST(Fault, NamesRoundTrip) {
  for (const auto& name : fault_names()) {
    auto k = parse_fault_kind(name);
    ASSERT_TRUE(k) << name;
    EXPECT_EQ(fault_name(*k), name);
  }
  EXPECT_FALSE(parse_fault_kind("explode"));
  EXPECT_FALSE(parse_fault_kind("Crash"));
  EXPECT_TRUE(fault_breaks_sessions(FaultKind::Crash));
  EXPECT_TRUE(fault_breaks_sessions(FaultKind::Partition));
  EXPECT_FALSE(fault_breaks_sessions(FaultKind::Heal));
  EXPECT_FALSE(fault_breaks_sessions(FaultKind::Kill));
}

TEST(Fault, KillCommandQuotesTheUnitAndFailsWithoutAMainProcess) {
  const std::string c = kill_unit_command("etcd");
  EXPECT_THAT(c, HasSubstr("systemctl show --property=MainPID --value -- etcd"));
  EXPECT_THAT(c, HasSubstr("sudo -n kill -KILL \"$pid\""));
  EXPECT_THAT(c, HasSubstr("exit 1"));
  const std::string evil = kill_unit_command("x; reboot");
  EXPECT_THAT(evil, HasSubstr("'x; reboot'"));
  EXPECT_THAT(evil, ::testing::Not(HasSubstr("-- x; reboot")));
}

TEST(FaultRng, SameSeedSameChoicesOtherSeedsOtherChoices) {
  const std::vector<std::string> nodes = {"dcs-00", "dcs-01", "dcs-02"};
  auto schedule = [&](std::uint64_t seed) {
    FaultRng rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i) out.push_back(rng.pick(nodes, 1).front());
    return out;
  };
  EXPECT_EQ(schedule(42), schedule(42));
  std::set<std::vector<std::string>> distinct;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) distinct.insert(schedule(seed));
  EXPECT_GE(distinct.size(), 4u);  // 3^20 schedules: five seeds do not collide
  // Every node comes up over a schedule: the choice is not stuck on one.
  const auto s = schedule(7);
  EXPECT_EQ(std::set<std::string>(s.begin(), s.end()).size(), 3u);
}

TEST(FaultRng, PicksDistinctNodesAndKnowsItsSeed) {
  FaultRng rng(123);
  EXPECT_EQ(rng.seed(), 123u);
  for (int i = 0; i < 50; ++i) {
    auto two = rng.pick({"a", "b", "c"}, 2);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_NE(two[0], two[1]);
  }
  EXPECT_EQ(rng.pick({"a", "b"}, 5).size(), 2u);  // never more than there are
  EXPECT_TRUE(rng.pick({}, 1).empty());
  EXPECT_LT(random_seed(), std::uint64_t{1} << 53);
}

class FaultScenarioTest : public FakeLabTest {
 protected:
  std::string error_of(const std::string& text) {
    try {
      parse(text);
    } catch (const BadInput& e) {
      return e.what();
    }
    return "(no error)";
  }
  ScenarioResult run(const std::string& text, std::uint64_t seed = 1) {
    RunnerOptions o;
    o.seed = seed;
    o.collect_diagnostics = false;
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, o);
    return runner.run(parse(text));
  }

};

TEST_F(FaultScenarioTest, LoaderReadsEveryForm) {
  const Scenario sc = parse(
      "steps:\n"
      "  - {on: dcs-00, fault: crash}\n"
      "  - {on: [dcs-01, dcs-02], fault: {do: pause}}\n"
      "  - {on: all, fault: {do: crash, pick: random, count: 2}, capture: victims}\n"
      "  - {fault: {do: start, node: '{{ vars.victims }}'}}\n"
      "  - {on: dcs-01, fault: {do: kill, unit: etcd}}\n"
      "  - {on: dcs-00, run: echo dcs-02, capture: leader}\n"
      "  - {on: '{{ vars.leader }}', run: 'echo {{ vars.leader }}'}\n"
      "  - {on: {except: dcs-01}, run: hostname}\n"
      "  - {on: {except: '{{ vars.leader }}'}, run: hostname}\n");
  ASSERT_EQ(sc.steps.size(), 9u);
  ASSERT_TRUE(std::holds_alternative<FaultSpec>(sc.steps[0].action));
  EXPECT_EQ(fault_of(sc.steps[0]).kind, FaultKind::Crash);
  EXPECT_EQ(sc.steps[0].name, "crash");
  EXPECT_EQ(fault_of(sc.steps[1]).kind, FaultKind::Pause);
  EXPECT_THAT(sc.steps[1].on, ElementsAre("dcs-01", "dcs-02"));
  EXPECT_TRUE(fault_of(sc.steps[2]).pick_random);
  EXPECT_EQ(fault_of(sc.steps[2]).count, 2);
  EXPECT_EQ(sc.steps[2].capture, "victims");
  EXPECT_EQ(fault_of(sc.steps[3]).node, "{{ vars.victims }}");
  EXPECT_EQ(sc.steps[3].on.size(), 3u);  // no on: every node a candidate
  EXPECT_EQ(fault_of(sc.steps[4]).unit, "etcd");
  EXPECT_EQ(sc.steps[4].name, "kill etcd");
  EXPECT_EQ(sc.steps[6].on_template, "{{ vars.leader }}");
  EXPECT_FALSE(sc.steps[6].on_except);
  EXPECT_THAT(sc.steps[7].on, ElementsAre("dcs-00", "dcs-02"));
  EXPECT_TRUE(sc.steps[7].on_template.empty());
  EXPECT_TRUE(sc.steps[8].on_except);
  EXPECT_EQ(sc.steps[8].on_template, "{{ vars.leader }}");
  EXPECT_EQ(std::string(action_name(sc.steps[0].action)), "fault");
}

TEST_F(FaultScenarioTest, LoaderErrorsNameLineColumnAndKey) {
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: explode}\n"),
              HasSubstr("t.yaml:2:25: steps[0].fault: unknown fault \"explode\" (valid: crash, start, "
                        "pause, resume, partition, heal, kill)"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: kill}\n"),
              HasSubstr("steps[0].fault: kill needs the unit"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: {do: crash, unit: etcd}}\n"),
              HasSubstr("steps[0].fault.unit: only kill takes a unit"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: {do: crash, node: dcs-01, pick: random}}\n"),
              HasSubstr("steps[0].fault.pick: give node"));
  EXPECT_THAT(error_of("steps:\n  - {on: all, fault: {do: crash, pick: first}}\n"),
              HasSubstr("steps[0].fault.pick: unknown pick \"first\" (valid: random)"));
  EXPECT_THAT(error_of("steps:\n  - {on: [dcs-00, dcs-01], fault: {do: crash, pick: random, count: 3}}\n"),
              HasSubstr("steps[0].fault.count: picks 3 distinct nodes from 2"));
  EXPECT_THAT(error_of("steps:\n  - {fault: {do: crash, node: dcs-07}}\n"),
              HasSubstr("steps[0].fault.node: unknown node \"dcs-07\""));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: {do: crash, delay: 1s}}\n"),
              HasSubstr("steps[0].fault.delay: unknown key (valid: do, node, pick, count, unit)"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: crash, expect: {exit: 0}}\n"),
              HasSubstr("steps[0].expect: fault has no output"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, fault: crash, until: {timeout: 1m}}\n"),
              HasSubstr("steps[0].until: only run and get steps repeat"));
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, put: {path: /x, content: y}, capture: x}\n"),
              HasSubstr("steps[0].capture: only run and fault steps capture"));
  EXPECT_THAT(error_of("vars: {leader: x}\nsteps:\n  - {on: dcs-00, run: hostname, capture: leader}\n"),
              HasSubstr("steps[0].capture: \"leader\" is a var of this scenario"));
  // A capture is known only after its step, and not in its own step.
  EXPECT_THAT(error_of("steps:\n  - {on: dcs-00, run: 'echo {{ vars.l }}', capture: l}\n"),
              HasSubstr("unknown template name \"vars.l\""));
  EXPECT_THAT(error_of("steps:\n  - {on: '{{ node.name }}', run: hostname}\n"),
              HasSubstr("steps[0].on: only vars.* templates in on"));
  EXPECT_THAT(error_of("steps:\n  - {on: {except: all}, run: hostname}\n"),
              HasSubstr("steps[0].on.except: leaves no node"));
  EXPECT_THAT(error_of("steps:\n  - {on: {but: dcs-00}, run: hostname}\n"),
              HasSubstr("steps[0].on.but: unknown key (valid: except)"));
}

TEST_F(FaultScenarioTest, ProviderFaultsGoToTheLabAndKillRunsInTheGuest) {
  script_.on("MainPID", {0, "SIGKILL to 812, the main process of etcd\n", ""});
  script_.on("hostname", {0, "x\n", ""});
  const auto r = run(
      "steps:\n"
      "  - {on: dcs-01, run: hostname}\n"
      "  - {on: [dcs-01, dcs-02], fault: crash}\n"
      "  - {on: dcs-01, fault: start}\n"
      "  - {on: dcs-00, fault: {do: kill, unit: etcd}}\n"
      "  - {fault: {do: partition, node: dcs-02}}\n"
      "  - {on: dcs-01, run: hostname}\n");
  ASSERT_TRUE(r.passed) << console_out_.str();
  std::vector<std::string> faults = lab_->faults;
  std::sort(faults.begin(), faults.begin() + 2);  // the two crashes ran in parallel
  EXPECT_THAT(faults, ElementsAre("crash dcs-01", "crash dcs-02", "start dcs-01", "partition dcs-02"));
  const auto kills = script_.requests_matching("MainPID");
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].node, "dcs-00");
  EXPECT_EQ(kills[0].command, kill_unit_command("etcd"));
  EXPECT_THAT(r.steps[1].nodes[0].command, HasSubstr("crash dcs-01 (hard power-off"));
  EXPECT_EQ(r.steps[1].nodes.size(), 2u);
  EXPECT_EQ(r.steps[4].nodes.at(0).node, "dcs-02");
  // The crashed node's session was dropped: the step after start connected anew.
  EXPECT_EQ(std::count(lab_->connects.begin(), lab_->connects.end(), "dcs-01/tux"), 2);
  EXPECT_EQ(std::count(lab_->connects.begin(), lab_->connects.end(), "dcs-02/tux"), 0);
}

TEST_F(FaultScenarioTest, ARefusedFaultFailsTheStepWithTheReason) {
  lab_->fault_failures["pause dcs-00"] = "dcs-00 is shut off; only a running node pauses";
  const auto r = run("steps:\n  - {on: dcs-00, fault: pause}\n  - {on: dcs-00, run: hostname}\n");
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_THAT(r.steps[0].nodes[0].failures,
              ElementsAre("pause: dcs-00 is shut off; only a running node pauses"));
  EXPECT_EQ(r.not_run.size(), 1u);
  EXPECT_FALSE(r.infrastructure_failed);
}

TEST_F(FaultScenarioTest, RandomPicksReplayWithTheSameSeed) {
  const std::string text =
      "steps:\n"
      "  - {on: all, fault: {do: crash, pick: random}, capture: victim}\n"
      "  - {fault: {do: start, node: '{{ vars.victim }}'}}\n"
      "  - {on: all, fault: {do: pause, pick: random, count: 2}}\n"
      "  - {on: all, fault: {do: partition, pick: random}}\n";
  auto schedule = [&](std::uint64_t seed) {
    lab_->faults.clear();
    const auto r = run(text, seed);
    EXPECT_TRUE(r.passed) << console_out_.str();
    // pause hits its two nodes in parallel: order them within the step.
    auto f = lab_->faults;
    EXPECT_EQ(f.size(), 5u);
    if (f.size() == 5u) std::sort(f.begin() + 2, f.begin() + 4);
    return f;
  };
  const auto a = schedule(2024);
  EXPECT_EQ(schedule(2024), a);
  // start hit the node crash picked (captured as vars.victim).
  EXPECT_EQ(a[1], "start " + a[0].substr(6));
  EXPECT_NE(a[2], a[3]);  // count 2: two distinct nodes
  std::set<std::vector<std::string>> seen;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) seen.insert(schedule(seed));
  EXPECT_GE(seen.size(), 3u);
  // The report says what was picked and how to replay it.
  const auto r = run(text, 99);
  EXPECT_THAT(r.steps[0].nodes[0].command, HasSubstr("picked at random from dcs-00, dcs-01, dcs-02 (seed 99)"));
}

TEST_F(FaultScenarioTest, CaptureFeedsLaterTemplatesAndOnTemplates) {
  script_.on("find-leader", {0, "  dcs-02\n", ""});
  script_.on("find-followers", {0, "dcs-00,dcs-01\n", ""});
  script_.on("echo leader", {0, "ok\n", ""});
  script_.on("per-node", {0, "value-from-node\n", ""});
  const auto r = run(
      "steps:\n"
      "  - {on: dcs-00, run: find-leader, capture: leader}\n"
      "  - {on: dcs-00, run: find-followers, capture: followers}\n"
      "  - {on: '{{ vars.followers }}', run: 'echo leader {{ vars.leader }} seen from {{ node.name }}'}\n"
      "  - {on: {except: '{{ vars.leader }}'}, run: 'echo leader not-on {{ node.name }}'}\n"
      "  - {fault: {do: crash, node: '{{ vars.leader }}'}}\n"
      "  - {on: [dcs-00, dcs-01], run: per-node, capture: mine}\n"
      "  - {on: dcs-01, run: 'echo leader {{ vars.mine }}'}\n");
  ASSERT_TRUE(r.passed) << console_out_.str();
  const auto echoes = script_.requests_matching("echo leader dcs-02 seen from");
  ASSERT_EQ(echoes.size(), 2u);
  std::set<std::string> on;
  for (const auto& e : echoes) on.insert(e.node);
  EXPECT_EQ(on, (std::set<std::string>{"dcs-00", "dcs-01"}));
  std::set<std::string> but;
  for (const auto& e : script_.requests_matching("echo leader not-on")) but.insert(e.node);
  EXPECT_EQ(but, (std::set<std::string>{"dcs-00", "dcs-01"}));
  EXPECT_THAT(lab_->faults, ElementsAre("crash dcs-02"));
  EXPECT_EQ(r.steps[4].name, "crash dcs-02");
  EXPECT_EQ(script_.requests_matching("echo leader value-from-node").size(), 1u);
}

TEST_F(FaultScenarioTest, AMissingCaptureFailsTheStepNotTheRun) {
  script_.on("find-leader", {1, "", "no leader\n"});
  const auto r = [&] {
    RunnerOptions o;
    o.keep_going = true;
    o.collect_diagnostics = false;
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_}, o);
    return runner.run(parse("steps:\n"
                            "  - {on: dcs-00, run: find-leader, capture: leader}\n"
                            "  - {fault: {do: crash, node: '{{ vars.leader }}'}}\n"
                            "  - {on: '{{ vars.leader }}', run: hostname}\n"
                            "  - {on: dcs-01, run: 'echo {{ vars.leader }}'}\n"));
  }();
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.steps.size(), 4u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_FALSE(r.steps[i].passed);
    EXPECT_THAT(r.steps[i].nodes.at(0).error, HasSubstr("\"vars.leader\" has no value here")) << i;
  }
  EXPECT_TRUE(lab_->faults.empty());
}

TEST_F(FaultScenarioTest, OnTemplateNamingNoNodeIsAStepError) {
  script_.on("echo", {0, "dcs-09\n", ""});
  const auto r = run("steps:\n  - {on: dcs-00, run: echo, capture: who}\n"
                     "  - {on: '{{ vars.who }}', run: hostname}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_THAT(r.steps[1].nodes.at(0).error,
              HasSubstr("on: \"dcs-09\" (from {{ vars.who }}) is not a node of lab dcs"));
}

}  // namespace
}  // namespace dcslab
