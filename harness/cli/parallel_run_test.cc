#include "run/parallel.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "report/report_files.h"
#include "cli/run_command.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using Groups = std::vector<std::vector<std::string>>;
using Strings = std::vector<std::string>;

// A requires graph and a cost per scenario, as partition_scenarios sees them.
struct Graph {
  std::map<std::string, Strings> req;
  std::map<std::string, double> costs;
  RequiresOf requires_of() const {
    return [this](const std::string& n) -> const Strings& { return req.at(n); };
  }
  std::function<double(const std::string&)> cost() const {
    return [this](const std::string& n) { return costs.count(n) ? costs.at(n) : 1.0; };
  }
  Groups split(const Strings& selected, int labs) const {
    return partition_scenarios(selected, requires_of(), cost(), labs);
  }
};

TEST(PartitionScenarios, IndependentScenariosGoToDifferentLabs) {
  Graph g{{{"a", {}}, {"b", {}}, {"c", {}}, {"d", {}}}, {}};
  EXPECT_EQ(g.split({"a", "b", "c", "d"}, 2), (Groups{{"a", "c"}, {"b", "d"}}));
  EXPECT_EQ(g.split({"a", "b", "c", "d"}, 4), (Groups{{"a"}, {"b"}, {"c"}, {"d"}}));
  EXPECT_EQ(g.split({"a", "b", "c", "d"}, 1), (Groups{{"a", "b", "c", "d"}}));
}

TEST(PartitionScenarios, AScenarioAndWhatItRequiresStayTogether) {
  // The seed's chain, plus smoke on its own.
  Graph g{{{"install", {}}, {"environment", {"install"}}, {"tls", {"environment"}},
           {"auth", {"tls"}}, {"smoke", {}}},
          {}};
  EXPECT_EQ(g.split({"install", "environment", "tls", "auth", "smoke"}, 3),
            (Groups{{"install", "environment", "tls", "auth"}, {"smoke"}}));
  // Related through a requirement that is itself selected, even indirectly.
  EXPECT_EQ(g.split({"install", "auth"}, 2), (Groups{{"install", "auth"}}));
}

TEST(PartitionScenarios, ASharedRequirementThatIsNotSelectedDoesNotTieScenarios) {
  // x and y both require base; neither requires the other: each lab runs base itself.
  Graph g{{{"base", {}}, {"x", {"base"}}, {"y", {"base"}}}, {}};
  EXPECT_EQ(g.split({"x", "y"}, 2), (Groups{{"x"}, {"y"}}));
  // base selected too: all three are related.
  EXPECT_EQ(g.split({"base", "x", "y"}, 2), (Groups{{"base", "x", "y"}}));
}

TEST(PartitionScenarios, BalancedByCostCountingASharedRequirementOnce) {
  // slow alone weighs as much as the other three together.
  Graph g{{{"slow", {}}, {"p", {}}, {"q", {}}, {"r", {}}}, {{"slow", 3}}};
  EXPECT_EQ(g.split({"p", "q", "slow", "r"}, 2), (Groups{{"slow"}, {"p", "q", "r"}}));
  // x and y share an expensive requirement: beside x, y adds 1 (12 in all), on the lab
  // of big it would add 11 (41): the requirement counts once per lab.
  Graph h{{{"base", {}}, {"x", {"base"}}, {"y", {"base"}}, {"big", {}}}, {{"base", 10}, {"big", 30}}};
  EXPECT_EQ(h.split({"x", "y", "big"}, 2), (Groups{{"big"}, {"x", "y"}}));
}

TEST(ReportFromJson, RoundTripsWhatTheJsonReportHolds) {
  RunReport r;
  r.lab = "dcs-1";
  r.started_at = "2026-01-01T00:00:00Z";
  r.seconds = 12.5;
  r.seed = "42";
  ScenarioResult sc;
  sc.name = "smoke";
  sc.file = "scenarios/smoke.yaml";
  sc.lab = "dcs-1";
  sc.passed = false;
  sc.not_run = {"later"};
  StepResult st;
  st.index = 1;
  st.name = "hostname";
  st.action = "run";
  st.expected = "exit 0";
  NodeResult n;
  n.node = "dcs-00";
  n.user = "tux";
  n.command = "hostname";
  n.exit_status = 1;
  n.out = "x\n";
  n.err = "boom\n";
  n.attempts = 2;
  n.failures = {"exit: expected 0, observed 1"};
  st.nodes.push_back(n);
  sc.steps.push_back(st);
  r.scenarios.push_back(sc);
  auto back = report_from_json(json_report(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->lab, "dcs-1");
  EXPECT_EQ(back->seed, "42");
  EXPECT_DOUBLE_EQ(back->seconds, 12.5);
  ASSERT_EQ(back->scenarios.size(), 1u);
  const auto& s = back->scenarios[0];
  EXPECT_EQ(s.name, "smoke");
  EXPECT_FALSE(s.passed);
  EXPECT_EQ(s.not_run, Strings{"later"});
  ASSERT_EQ(s.steps.size(), 1u);
  ASSERT_EQ(s.steps[0].nodes.size(), 1u);
  const auto& nb = s.steps[0].nodes[0];
  EXPECT_EQ(nb.exit_status, 1);
  EXPECT_EQ(nb.err, "boom\n");
  EXPECT_EQ(nb.attempts, 2);
  EXPECT_EQ(nb.failures, Strings{"exit: expected 0, observed 1"});
  EXPECT_EQ(back->failed(), 1);
  EXPECT_FALSE(report_from_json("not json").ok());
}

// A launcher that records every command line and plays a child dcslab: it prints two
// lines and writes the report a lab of that group would.
class FakeChildren {
 public:
  ProcessLauncher launcher() {
    return [this](const Strings& argv, const std::function<void(const std::string&)>& on_line)
               -> Expected<int> {
      {
        std::lock_guard lock(mu_);
        calls.push_back(argv);
      }
      const auto at = [&](const std::string& flag) {
        auto it = std::find(argv.begin(), argv.end(), flag);
        return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
      };
      const std::string lab = at("--name");
      if (std::find(argv.begin(), argv.end(), "down") != argv.end()) return 0;
      on_line("== starting on " + lab + "\n");
      on_line("  ✓ a step");  // a last line without its newline
      if (fail_up.count(lab)) return 3;  // the lab could not come up: no report
      RunReport r;
      r.lab = lab;
      r.seed = at("--seed");
      std::stringstream only(at("--only"));
      for (std::string n; std::getline(only, n, ',');) {
        ScenarioResult sc;
        sc.name = n;
        sc.lab = lab;
        sc.passed = !failing.count(n);
        StepResult st;
        st.index = 1;
        st.name = "step of " + n;
        st.passed = sc.passed;
        NodeResult nr;
        nr.node = "dcs-00";
        nr.passed = sc.passed;
        nr.exit_status = sc.passed ? 0 : 1;
        st.nodes.push_back(nr);
        sc.steps.push_back(st);
        r.scenarios.push_back(sc);
      }
      const fs::path dir = at("--artifacts");
      fs::create_directories(dir);
      write_text_file(dir / "report.json", json_report(r));
      return r.failed() ? 1 : 0;
    };
  }
  std::mutex mu_;
  std::vector<Strings> calls;
  std::set<std::string> fail_up, failing;
};

class ParallelRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dcslab-parallel-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Three scenarios: base and dependent are related, smoke is on its own.
    for (const auto* f : {"base.yaml", "dependent.yaml"})
      fs::copy_file(source_dir() / "fixtures/scenarios" / f, dir_ / f);
    fs::copy_file(source_dir() / "scenarios/smoke.yaml", dir_ / "smoke.yaml");
    ::setenv("DCSLAB_HOME", (dir_ / "home").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("DCSLAB_HOME");
    fs::remove_all(dir_);
  }
  int run(Strings args) {
    out_.str("");
    err_.str("");
    RunEnv env{out_, err_, progress_, clock_, {"/x/dcslab", "--provider", "nspawn"},
               children_.launcher()};
    return run_command(args, [this](const Lab&) -> std::unique_ptr<LabControl> {
      ++factory_calls_;
      return nullptr;
    }, env);
  }
  fs::path dir_;
  FakeChildren children_;
  std::ostringstream out_, err_;
  NullProgress progress_;
  FakeClock clock_;
  int factory_calls_ = 0;
};

TEST_F(ParallelRunTest, EachGroupRunsOnALabOfItsOwnAndTheReportsMerge) {
  const fs::path junit = dir_ / "junit.xml";
  const fs::path artifacts = dir_ / "artifacts";
  EXPECT_EQ(run({dir_.string(), "--parallel", "2", "--seed", "7", "--junit", junit.string(),
                 "--artifacts", artifacts.string()}),
            0)
      << err_.str() << out_.str();
  EXPECT_EQ(factory_calls_, 0);  // the parent brings up no lab itself
  ASSERT_EQ(children_.calls.size(), 2u);
  std::map<std::string, Strings> by_lab;
  for (const auto& c : children_.calls) by_lab[c.at(4)] = c;
  // smoke (13 steps) is the costlier group: it is placed first, on dcs-1.
  const Strings lab2 = {"/x/dcslab", "--provider", "nspawn", "--name", "dcs-2", "--isolated", "run",
                        "--only", "base,dependent", "--artifacts", (artifacts / "dcs-2").string(),
                        "--down", "--seed", "7", fs::absolute(dir_).string()};
  EXPECT_EQ(by_lab["dcs-2"], lab2);
  EXPECT_EQ(by_lab["dcs-1"].at(8), "smoke");
  const std::string out = out_.str();
  EXPECT_NE(out.find("3 scenarios on 2 labs:\n  dcs-1: smoke\n  dcs-2: base dependent\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[dcs-1] == starting on dcs-1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[dcs-2]   ✓ a step\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ok: 3 scenarios, 3 passed, 0 failed"), std::string::npos) << out;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(junit.c_str()));
  EXPECT_EQ(doc.child("testsuites").attribute("tests").as_int(), 3);
  EXPECT_TRUE(fs::exists(artifacts / "report.json"));
  std::ifstream in(artifacts / "report.json");
  std::stringstream text;
  text << in.rdbuf();
  auto merged = report_from_json(text.str());
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->lab, "dcs-1, dcs-2");
  EXPECT_EQ(merged->seed, "7");
  std::set<std::string> labs;
  for (const auto& s : merged->scenarios) labs.insert(s.name + "@" + s.lab);
  EXPECT_EQ(labs, (std::set<std::string>{"base@dcs-2", "dependent@dcs-2", "smoke@dcs-1"}));
}

TEST_F(ParallelRunTest, AFailureOnOneLabIsOneAndALabThatCannotComeUpIsThree) {
  children_.failing = {"smoke"};
  EXPECT_EQ(run({dir_.string(), "--parallel", "2", "--artifacts", (dir_ / "a1").string()}), 1)
      << out_.str();
  EXPECT_NE(out_.str().find("FAILED: 3 scenarios, 2 passed, 1 failed"), std::string::npos) << out_.str();

  children_.failing.clear();
  children_.calls.clear();
  children_.fail_up = {"dcs-2"};
  EXPECT_EQ(run({dir_.string(), "--parallel", "2", "--keep", "--artifacts", (dir_ / "a2").string()}), 3);
  const std::string out = out_.str();
  EXPECT_NE(out.find("== base (dcs-2): not run: lab dcs-2: no report (exit status 3; last line:   ✓ a step)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("lab dcs-1 kept: dcslab --lab "), std::string::npos) << out;
  ASSERT_EQ(children_.calls.size(), 2u);  // and no `down` afterwards
  for (const auto& c : children_.calls)
    EXPECT_EQ(std::find(c.begin(), c.end(), "--down"), c.end()) << "--keep: no --down";
}

TEST_F(ParallelRunTest, ALabLeftUpByAChildIsTakenDown) {
  // A lab state that is not empty after the children ended: a child died before --down.
  LabState(dir_ / "home", "dcs-2").record({"netns", "dcslab-dcs-2", ""});
  EXPECT_EQ(run({dir_.string(), "--parallel", "2", "--artifacts", (dir_ / "a").string()}), 0) << out_.str();
  ASSERT_EQ(children_.calls.size(), 3u);
  const Strings& down = children_.calls.back();
  EXPECT_EQ(Strings(down.end() - 3, down.end()), (Strings{"--name", "dcs-2", "down"}));
  EXPECT_EQ(down.at(3), "--lab");
}

TEST_F(ParallelRunTest, BadParallelArgumentsExitTwoBeforeAnyLab) {
  EXPECT_EQ(run({dir_.string(), "--parallel", "0"}), 2);
  EXPECT_NE(err_.str().find("--parallel: \"0\" is not a number of labs from 1 to 16"), std::string::npos);
  EXPECT_EQ(run({dir_.string(), "--parallel", "two"}), 2);
  EXPECT_EQ(run({dir_.string(), "--keep"}), 2);
  EXPECT_NE(err_.str().find("--keep is for --parallel"), std::string::npos) << err_.str();
  EXPECT_EQ(run({dir_.string(), "--parallel", "2", "--down"}), 2);
  EXPECT_TRUE(children_.calls.empty());
}

}  // namespace
}  // namespace dcslab
