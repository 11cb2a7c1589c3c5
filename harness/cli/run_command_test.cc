#include "cli/run_command.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <fstream>
#include <sstream>

#include "testing/fake_lab.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = source_dir();

class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("dcslab-run-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(home_);
    fake_ = std::make_unique<FakeLabControl>(load_lab(kSource / "fixtures/labs/dcs.yaml"), home_, script_);
  }
  void TearDown() override { fs::remove_all(home_); }

  int run(std::vector<std::string> args, const GlobalOptions& global = {}) {
    out_.str("");
    err_.str("");
    RunEnv env{out_, err_, progress_, clock_, {}, {}, global};
    return run_command(args, [&](const Lab& lab) -> std::unique_ptr<LabControl> {
      ++factory_calls_;
      EXPECT_EQ(lab.name, global.name.empty() ? "dcs" : global.name);
      return std::make_unique<ForwardingLabControl>(*fake_);
    }, env);
  }

  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path home_;
  FakeScript script_;
  std::unique_ptr<FakeLabControl> fake_;
  std::ostringstream out_, err_;
  NullProgress progress_;
  FakeClock clock_;
  int factory_calls_ = 0;
};

TEST_F(RunCommandTest, FailingFixtureExitsOneWithOneJunitFailure) {
  script_.on("hostname", {0, "dcs-00\n", ""});
  script_.on("echo", {0, "etcd is not installed\n", ""});
  const fs::path junit = home_ / "out/junit.xml";
  const fs::path artifacts = home_ / "artifacts";
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/failing.yaml").string(), "--junit", junit.string(),
                 "--json", (home_ / "r.json").string(), "--transcript", (home_ / "t.md").string(),
                 "--artifacts", artifacts.string()}),
            1)
      << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("failed   | stdout: expected to contain \"etcd is running\""), std::string::npos) << out;
  EXPECT_NE(out.find("stdout   | etcd is not installed"), std::string::npos);
  EXPECT_NE(out.find("lab kept for inspection: dcslab ssh dcs-00"), std::string::npos);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(junit.c_str()));
  EXPECT_EQ(doc.child("testsuites").attribute("failures").as_int(), 1);
  EXPECT_EQ(doc.child("testsuites").attribute("tests").as_int(), 3);
  EXPECT_EQ(doc.child("testsuites").attribute("skipped").as_int(), 1);
  EXPECT_TRUE(fs::exists(home_ / "r.json"));
  EXPECT_NE(read(home_ / "t.md").find("[$] the node knows its name (`dcs-00`, as tux):"), std::string::npos);
  // The artifacts folder: each step's output, diagnostics for the failed node, reports.
  const fs::path step2 = artifacts / "01-failing/02-this-expectation-is-wrong-on-purpose/dcs-00";
  EXPECT_EQ(read(step2 / "stdout.txt"), "etcd is not installed\n");
  EXPECT_EQ(read(step2 / "command.txt"), "echo \"etcd is not installed\"\n");
  EXPECT_TRUE(fs::exists(step2 / "diagnostics/journalctl-etcd.txt"));
  EXPECT_TRUE(fs::exists(step2 / "diagnostics/ip-addr.txt"));
  EXPECT_TRUE(fs::exists(step2 / "diagnostics/journalctl.txt"));
  EXPECT_TRUE(fs::exists(artifacts / "junit.xml"));
  EXPECT_TRUE(fs::exists(artifacts / "transcript.md"));
  EXPECT_EQ(fake_->ups, 1);
  EXPECT_EQ(fake_->downs, 0);  // kept for inspection
}

// `dcslab --name ux --provider nspawn --isolated run FILE` that fails points at its own
// lab, not the default one; with --down there is no lab left to point at.
TEST_F(RunCommandTest, AKeptLabIsPointedAtWithTheOptionsThatReachIt) {
  script_.on("hostname", {0, "dcs-00\n", ""});
  script_.on("echo", {0, "etcd is not installed\n", ""});
  GlobalOptions g;
  g.name = "ux";
  g.provider = "nspawn";
  g.isolated = true;
  const std::string failing = (kSource / "fixtures/scenarios/failing.yaml").string();
  EXPECT_EQ(run({"--name", "ux", failing, "--artifacts", (home_ / "a").string()}, g), 1) << err_.str();
  EXPECT_NE(out_.str().find("lab kept for inspection: dcslab --name ux --provider nspawn --isolated "
                            "ssh dcs-00\n"),
            std::string::npos)
      << out_.str();

  // Another lab file than the default one is named too, whether --lab or the scenario's.
  EXPECT_EQ(run({"--lab", (kSource / "fixtures/labs/dcs.yaml").string(), "--name", "ux", failing,
                 "--artifacts", (home_ / "b").string()},
                g),
            1);
  EXPECT_NE(out_.str().find("lab kept for inspection: dcslab --lab " +
                            (kSource / "fixtures/labs/dcs.yaml").string() + " --name ux"),
            std::string::npos)
      << out_.str();

  EXPECT_EQ(run({"--name", "ux", failing, "--down", "--artifacts", (home_ / "c").string()}, g), 1);
  EXPECT_EQ(out_.str().find("lab kept for inspection"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find(" torn down (--down)"), std::string::npos) << out_.str();
}

TEST_F(RunCommandTest, DefaultArtifactsGoToTheLabStateFolder) {
  script_.on("echo", {0, "base-ready\n", ""});
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/base.yaml").string(), "--down"}), 0) << err_.str() << out_.str();
  // --down removes the lab's state folder: the artifacts are kept outside it.
  ASSERT_TRUE(fs::exists(home_ / "runs"));
  const auto run_dir = fs::directory_iterator(home_ / "runs")->path();
  EXPECT_EQ(run_dir.filename().string().rfind("dcs-", 0), 0u);
  EXPECT_TRUE(fs::exists(run_dir / "01-base/01-prepare/dcs-00/stdout.txt"));
  EXPECT_EQ(fake_->downs, 1);
  EXPECT_NE(out_.str().find("torn down (--down)"), std::string::npos);
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/base.yaml").string()}), 0);
  EXPECT_TRUE(fs::exists(home_ / "labs/dcs/runs"));  // without --down: in the lab's state
}

TEST_F(RunCommandTest, BadFilesExitTwoBeforeAnythingBoots) {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(kSource / "fixtures/bad")) {
    const auto name = e.path().filename().string();
    if (name.rfind("scenario-", 0) != 0) continue;
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    const std::string expected = "dcslab: " + e.path().string() + first.substr(16);
    EXPECT_EQ(run({e.path().string()}), 2) << name;
    EXPECT_EQ(err_.str().rfind(expected, 0), 0u) << err_.str() << "\nexpected: " << expected;
    ++checked;
  }
  EXPECT_GE(checked, 8);
  EXPECT_EQ(factory_calls_, 0);
  EXPECT_TRUE(script_.requests().empty());
  EXPECT_EQ(run({"--bogus"}), 2);
  EXPECT_NE(err_.str().find("unknown option --bogus"), std::string::npos);
  EXPECT_EQ(run({"/nonexistent.yaml"}), 2);
  EXPECT_EQ(run({(kSource / "fixtures/scenarios").string(), "--only", "nope"}), 2);
  EXPECT_NE(err_.str().find("--only: no scenario named \"nope\" (valid: base, dependent, failing, groups)"),
            std::string::npos) << err_.str();
  EXPECT_EQ(factory_calls_, 0);
}

TEST_F(RunCommandTest, RequiredScenarioRunsFirstOncePerLab) {
  script_.on("echo base-ready", {0, "base-ready\n", ""});
  script_.on("echo dependent-ran", {0, "dependent-ran\n", ""});
  const std::string dependent = (kSource / "fixtures/scenarios/dependent.yaml").string();
  EXPECT_EQ(run({dependent}), 0) << out_.str() << err_.str();
  auto reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].command, "echo base-ready");
  EXPECT_EQ(reqs[1].command, "echo dependent-ran");
  EXPECT_FALSE(fake_->state().get("passed:base").empty());
  // base already passed on this lab: not run again.
  EXPECT_EQ(run({dependent}), 0);
  reqs = script_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].command, "echo dependent-ran");
  EXPECT_NE(out_.str().find("base: already passed on this lab"), std::string::npos);
}

TEST_F(RunCommandTest, FailedRequirementStopsItsDependents) {
  script_.on("echo base-ready", {1, "", "broken\n"});
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/dependent.yaml").string(), "--junit",
                 (home_ / "j.xml").string()}),
            1);
  for (const auto& r : script_.requests()) EXPECT_EQ(r.command.find("dependent-ran"), std::string::npos);
  EXPECT_NE(out_.str().find("not run: required scenario \"base\" failed"), std::string::npos) << out_.str();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((home_ / "j.xml").c_str()));
  EXPECT_EQ(doc.child("testsuites").attribute("failures").as_int(), 1);
  EXPECT_EQ(doc.child("testsuites").attribute("skipped").as_int(), 1);
}

TEST_F(RunCommandTest, ListOnlyAndTags) {
  const std::string dir = (kSource / "fixtures/scenarios").string();
  EXPECT_EQ(run({dir, "--list"}), 0);
  const std::string out = out_.str();
  for (const char* n : {"base  (1 steps", "dependent  (1 steps", "failing  (3 steps", "groups  (3 steps"})
    EXPECT_NE(out.find(n), std::string::npos) << out;
  EXPECT_NE(out.find("requires: base"), std::string::npos);
  EXPECT_EQ(factory_calls_, 0);
  EXPECT_EQ(run({dir, "--list", "--only", "failing,base"}), 0);
  EXPECT_EQ(out_.str().find("groups"), std::string::npos);
  EXPECT_NE(out_.str().find("failing"), std::string::npos);
  EXPECT_EQ(run({(kSource / "scenarios").string(), "--list", "--tags", "quick"}), 0);
  EXPECT_NE(out_.str().find("smoke  (13 steps"), std::string::npos) << out_.str();
  EXPECT_EQ(run({(kSource / "scenarios").string(), "--list", "--tags", "nope"}), 0);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunCommandTest, InfrastructureFailuresExitThree) {
  fake_->up_failure = "libvirtd unreachable";
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/base.yaml").string()}), 3);
  EXPECT_NE(err_.str().find("the lab could not come up: libvirtd unreachable"), std::string::npos);
  EXPECT_TRUE(script_.requests().empty());
  fake_->up_failure.clear();
  fake_->unreachable.insert("dcs-00");
  EXPECT_EQ(run({(kSource / "fixtures/scenarios/base.yaml").string()}), 3);
}

TEST_F(RunCommandTest, HelpDocumentsExitCodes) {
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_NE(out_.str().find("0 all passed, 1 a step failed, 2 bad input, 3 infrastructure failure"),
            std::string::npos);
}

}  // namespace
}  // namespace dcslab
