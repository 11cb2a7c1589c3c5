#include "run/run_sequence.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "testing/fake_lab.h"
#include "testing/fake_lab_fixture.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

// A run of scenarios on a fake lab whose snapshots keep the facts as snapshot_ops does.
class RunSequenceTest : public FakeLabTest {
 protected:
  void SetUp() override {
    FakeLabTest::SetUp();
    runner_ = std::make_unique<Runner>(*lab_, clock_, progress_, redactor_, std::vector<Reporter*>{});
  }

  // A scenario that runs `echo <name>` on dcs-00.
  void add(const std::string& name, const std::vector<std::string>& requires_,
           const std::string& from = "") {
    std::string text = "name: " + name + "\n";
    if (!requires_.empty()) {
      text += "requires: [";
      for (std::size_t i = 0; i < requires_.size(); ++i) text += (i ? ", " : "") + requires_[i];
      text += "]\n";
    }
    if (!from.empty()) text += "from: " + from + "\n";
    text += "steps:\n  - {on: dcs-00, run: echo " + name + "}\n";
    scenarios_[name] = parse_scenario(text, name + ".yaml", [this](const std::string&) {
      return std::make_pair(lab_->lab(), fs::path("dcs.yaml"));
    });
    requires_of_[name] = requires_;
  }

  // A scenario of the given steps (YAML list items, each on one line).
  void add_steps(const std::string& name, const std::vector<std::string>& steps) {
    std::string text = "name: " + name + "\nsteps:\n";
    for (const auto& st : steps) text += "  - " + st + "\n";
    scenarios_[name] = parse_scenario(text, name + ".yaml", [this](const std::string&) {
      return std::make_pair(lab_->lab(), fs::path("dcs.yaml"));
    });
    requires_of_[name] = {};
  }

  // Runs `selected`; returns the names of the scenarios that really ran, in order.
  std::vector<std::string> run(const std::vector<std::string>& selected) {
    if (!answering_) script_.on("echo", {0, "ok\n", ""});  // after a test's own rules
    answering_ = true;
    out_.str("");
    RunReport report;
    const ScenarioGraph graph{
        [this](const std::string& n) -> const Scenario& { return scenarios_.at(n); },
        [this](const std::string& n) -> const std::vector<std::string>& { return requires_of_.at(n); }};
    run_sequence(graph, selected, *lab_, *runner_, progress_, out_, report);
    std::vector<std::string> ran;
    for (const auto& s : report.scenarios) {
      if (!s.steps.empty()) ran.push_back(s.name);
      reported_[s.name] = s;
    }
    return ran;
  }

  int times_run(const std::string& name) {
    return static_cast<int>(script_.requests_matching("echo " + name).size());
  }
  bool passed(const std::string& name) { return !lab_->state().get("passed:" + name).empty(); }

  std::unique_ptr<Runner> runner_;
  std::map<std::string, Scenario> scenarios_;
  std::map<std::string, std::vector<std::string>> requires_of_;
  std::map<std::string, ScenarioResult> reported_;
  std::ostringstream out_;
  bool answering_ = false;
};

using Strings = std::vector<std::string>;

TEST_F(RunSequenceTest, TheScenarioKeyIsRead) {
  add("x", {"base"}, "base-ready");
  EXPECT_EQ(scenarios_.at("x").from, "base-ready");
}

TEST_F(RunSequenceTest, FirstRunSavesTheStateAfterTheRequiresAndLaterRunsRevertToIt) {
  add("install", {});
  add("base", {"install"});
  add("x", {"base"}, "base-ready");

  // First run: the requires run, then the lab is saved, then x runs.
  EXPECT_EQ(run({"x"}), (Strings{"install", "base", "x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list", "save base-ready"}));
  // Saved between base and x: its facts hold install and base, not x.
  const std::string facts = lab_->state().get("snapshot:base-ready");
  EXPECT_NE(facts.find("passed:install"), std::string::npos) << facts;
  EXPECT_NE(facts.find("passed:base"), std::string::npos) << facts;
  EXPECT_EQ(facts.find("passed:x"), std::string::npos) << facts;
  EXPECT_NE(out_.str().find("== x: lab state base-ready saved in"), std::string::npos) << out_.str();
  EXPECT_EQ(lab_->connects, (Strings{"dcs-00/tux"}));

  // The lab moves on: something else passes on it.
  lab_->state().set("passed:later", "2026-01-01T00:00:00Z");

  // Second run: a revert, no requires, and x runs again on the reverted lab.
  lab_->snapshot_calls.clear();
  EXPECT_EQ(run({"x"}), (Strings{"x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list", "revert base-ready"}));
  EXPECT_EQ(times_run("install"), 1);
  EXPECT_EQ(times_run("base"), 1);
  EXPECT_EQ(times_run("x"), 2);
  const std::string out = out_.str();
  EXPECT_NE(out.find("== x: from base-ready: lab reverted to base-ready in"), std::string::npos) << out;
  EXPECT_NE(out.find("== base: not run: the lab state base-ready provides it"), std::string::npos) << out;
  // The facts are the snapshot's again (later no longer holds), then x passed.
  EXPECT_FALSE(passed("later"));
  EXPECT_TRUE(passed("install"));
  EXPECT_TRUE(passed("x"));
  // The session opened before the revert is not reused: x connects anew.
  EXPECT_EQ(lab_->connects, (Strings{"dcs-00/tux", "dcs-00/tux"}));
}

TEST_F(RunSequenceTest, WithoutMemorySnapshotsTheRequiresRunAsUsualWithOneLine) {
  lab_->memory_snapshots = false;
  add("base", {});
  add("x", {"base"}, "base-ready");
  add("y", {"base"}, "base-ready");
  EXPECT_EQ(run({"x", "y"}), (Strings{"base", "x", "y"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list"}));
  const std::string out = out_.str();
  const std::string line = "from base-ready: no lab snapshots here (fake: no memory snapshots); "
                           "its requires ran as usual";
  EXPECT_NE(out.find("== x: " + line), std::string::npos) << out;
  EXPECT_EQ(out.find(line), out.rfind(line)) << "said once per state: " << out;
  EXPECT_TRUE(reported_.at("y").passed);
}

TEST_F(RunSequenceTest, ALabThatHasPassedMoreIsNotSavedAsTheState) {
  lab_->state().set("passed:unrelated", "2026-01-01T00:00:00Z");
  add("base", {});
  add("x", {"base"}, "base-ready");
  EXPECT_EQ(run({"x"}), (Strings{"base", "x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list"}));
  EXPECT_NE(out_.str().find("== x: from base-ready: not saved: the lab has also passed unrelated"),
            std::string::npos)
      << out_.str();
}

TEST_F(RunSequenceTest, AFromWithoutRequiresSavesTheFreshLab) {
  add("x", {}, "fresh");
  EXPECT_EQ(run({"x"}), (Strings{"x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list", "save fresh"}));
  EXPECT_EQ(lab_->state().get("snapshot:fresh"), "{}");
  lab_->snapshot_calls.clear();
  EXPECT_EQ(run({"x"}), (Strings{"x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list", "revert fresh"}));
}

TEST_F(RunSequenceTest, AFailedRevertRunsTheRequiresInstead) {
  add("base", {});
  add("x", {"base"}, "base-ready");
  // The lab has the state (with base passed) but is elsewhere now, without base.
  lab_->state().set("passed:base", "2026-01-01T00:00:00Z");
  lab_->snapshot_names.insert("base-ready");
  record_snapshot_facts(lab_->state(), "base-ready");
  lab_->state().set("passed:base", "");
  lab_->revert_failure = "qemu went away";

  EXPECT_EQ(run({"x"}), (Strings{"base", "x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list", "revert base-ready"}));
  EXPECT_NE(out_.str().find("== x: from base-ready: the revert failed (qemu went away); its requires run instead"),
            std::string::npos)
      << out_.str();
  EXPECT_TRUE(reported_.at("x").passed);
}

TEST_F(RunSequenceTest, AScenarioWhoseRequirementARevertUndidGetsItRunAgain) {
  add("base", {});
  add("u", {});
  add("x", {"base"}, "base-ready");
  add("v", {"u"});
  // The lab has base-ready, saved before u ever ran.
  lab_->state().set("passed:base", "2026-01-01T00:00:00Z");
  lab_->snapshot_names.insert("base-ready");
  record_snapshot_facts(lab_->state(), "base-ready");

  // u runs, x's revert undoes it, so v gets u again first.
  EXPECT_EQ(run({"u", "x", "v"}), (Strings{"u", "x", "u", "v"}));
  EXPECT_NE(out_.str().find("== u: run again for v: a revert undid it"), std::string::npos) << out_.str();
  EXPECT_TRUE(passed("u"));
  EXPECT_TRUE(passed("v"));
}

TEST_F(RunSequenceTest, ASnapshotSavedWithoutFactsIsNeitherUsedNorReplaced) {
  add("base", {});
  add("x", {"base"}, "base-ready");
  lab_->snapshot_names.insert("base-ready");  // as `dcslab snapshot save` of an older dcslab
  EXPECT_EQ(run({"x"}), (Strings{"base", "x"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list"}));
  EXPECT_NE(out_.str().find("a snapshot base-ready exists without the lab's facts"), std::string::npos)
      << out_.str();
}

TEST_F(RunSequenceTest, AFailedRequirementStopsTheScenarioBeforeAnySave) {
  script_.on("echo base", {1, "", "broken\n"});
  add("base", {});
  add("x", {"base"}, "base-ready");
  EXPECT_EQ(run({"x"}), (Strings{"base"}));
  EXPECT_EQ(lab_->snapshot_calls, (Strings{"list"}));
  EXPECT_FALSE(reported_.at("x").passed);
  EXPECT_EQ(reported_.at("x").error, "not run: required scenario \"base\" failed");
}

// A scenario that fails between a fault and the step undoing it leaves the lab faulted;
// the next scenario would fail on that (seen: quorum-loss waited 2 minutes for a member
// minority-partition had cut off). The faults are undone before it, resume before heal.
TEST_F(RunSequenceTest, FaultsAFailedScenarioLeftAreUndoneBeforeTheNextOne) {
  script_.on("echo broken", {1, "", "no\n"});
  add_steps("cut", {"{on: dcs-01, fault: partition}", "{on: dcs-02, fault: pause}",
                    "{on: dcs-00, run: echo broken}", "{on: dcs-01, fault: heal}",
                    "{on: dcs-02, fault: resume}"});
  add("next", {});
  EXPECT_EQ(run({"cut", "next"}), (Strings{"cut", "next"}));
  EXPECT_FALSE(reported_.at("cut").passed);
  EXPECT_TRUE(reported_.at("next").passed);
  EXPECT_EQ(lab_->faults,
            (Strings{"partition dcs-01", "pause dcs-02", "resume dcs-02", "heal dcs-01"}));
  EXPECT_NE(out_.str().find("== next: first resume dcs-02: an earlier scenario left it paused ("),
            std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("== next: first heal dcs-01: an earlier scenario left it cut off ("),
            std::string::npos) << out_.str();
  EXPECT_TRUE(lab_->faults_in_force().empty());
}

// What a scenario undid itself is not undone again; a crashed node is only started (a
// node started again boots with its link up), and a kill is the guest's own business.
TEST_F(RunSequenceTest, OnlyWhatIsStillInForceIsUndoneAndACrashedNodeIsOnlyStarted) {
  add_steps("a", {"{on: dcs-00, fault: partition}", "{on: dcs-00, fault: crash}",
                  "{on: dcs-01, fault: partition}", "{on: dcs-01, fault: heal}",
                  "{on: dcs-02, fault: {do: kill, unit: etcd}}", "{on: dcs-00, run: echo a}"});
  add("next", {});
  EXPECT_EQ(run({"a", "next"}), (Strings{"a", "next"}));
  EXPECT_EQ(lab_->faults, (Strings{"partition dcs-00", "crash dcs-00", "partition dcs-01",
                                   "heal dcs-01", "start dcs-00"}));
  EXPECT_NE(out_.str().find("== next: first start dcs-00: an earlier scenario left it crashed"),
            std::string::npos) << out_.str();
}

TEST_F(RunSequenceTest, AnUndoThatFailsIsSaidAndTheScenarioRunsAnyway) {
  lab_->fault_failures["start dcs-00"] = "dcs-00 will not boot";
  add_steps("a", {"{on: dcs-00, fault: crash}"});
  add("next", {});
  EXPECT_EQ(run({"a", "next"}), (Strings{"a", "next"}));
  EXPECT_NE(out_.str().find("== next: start dcs-00, which an earlier scenario left crashed, "
                            "failed (dcs-00 will not boot); next runs on the lab as it is"),
            std::string::npos) << out_.str();
  EXPECT_EQ(lab_->faults_in_force(),
            (std::vector<std::pair<std::string, FaultKind>>{{"dcs-00", FaultKind::Start}}));
}

TEST(RunOrder, RequiresFirstEachOnceAndTheClosure) {
  std::map<std::string, std::vector<std::string>> req = {
      {"a", {}}, {"b", {"a"}}, {"c", {"b", "a"}}, {"d", {}}};
  std::map<std::string, Scenario> none;
  const ScenarioGraph g{[&](const std::string& n) -> const Scenario& { return none[n]; },
                        [&](const std::string& n) -> const std::vector<std::string>& { return req.at(n); }};
  EXPECT_EQ(run_order(g, {"d", "c"}), (Strings{"d", "a", "b", "c"}));
  EXPECT_EQ(requires_closure(g, "c"), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(requires_closure(g, "a").empty());
}

}  // namespace
}  // namespace dcslab
