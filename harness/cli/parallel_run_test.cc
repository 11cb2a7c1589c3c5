#include "cli/run_command.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "base/paths.h"
#include "report/report_files.h"
#include "run/parallel.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

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
