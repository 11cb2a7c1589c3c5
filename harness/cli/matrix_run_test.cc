#include "cli/run_command.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "base/paths.h"
#include "run/matrix.h"
#include "testing/fake_lab.h"

namespace dcslab {
namespace {

// dcslab run --matrix, on fake labs (the matrix itself: run/matrix_test.cc).

namespace fs = std::filesystem;

class MatrixRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dcslab-matrix-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "seedlet");
    write(dir_ / "seedlet/10-one.yaml",
          "name: one\nlab: " + (source_dir() / "fixtures/labs/dcs.yaml").string() +
              "\nsteps:\n  - {on: dcs-00, run: echo hi, expect: {stdout: {equals: hi}}}\n");
    write(dir_ / "seedlet/20-two.yaml",
          "name: two\nrequires: [one]\nlab: " +
              (source_dir() / "fixtures/labs/dcs.yaml").string() +
              "\nsteps:\n  - {on: all, when: etcd >= 3.5, run: etcdutl version}\n");
    // bookworm: etcd 3.4 (two is skipped), one passes. trixie: etcd 3.5; each test
    // says whether one passes there.
    scripts_["dcs-bookworm"].on("echo hi", {0, "hi\n", ""});
    scripts_["dcs-bookworm"].on("dpkg-query", {0, "dpkg: ii |3.4.23-4+b5\n", ""});
    scripts_["dcs-trixie"].on("dpkg-query", {0, "dpkg: ii |3.5.16-4\n", ""});
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // The table's row that starts with `first`, its cells joined by one space.
  static std::string row(const std::string& out, const std::string& first) {
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(first + "  ", 0) != 0) continue;
      std::istringstream words(line);
      std::string w, joined;
      while (words >> w) joined += (joined.empty() ? "" : " ") + w;
      return joined;
    }
    return "(no row " + first + ")";
  }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    RunEnv env{out_, err_, progress_, clock_};
    return run_command(args, [this](const Lab& lab) -> std::unique_ptr<LabControl> {
      made_.push_back(lab.name + "/" + lab.image.suite);
      auto& fake = labs_[lab.name];
      if (!fake) fake = std::make_unique<FakeLabControl>(lab, dir_ / "home", scripts_[lab.name]);
      return std::make_unique<ForwardingLabControl>(*fake);
    }, env);
  }

  fs::path dir_;
  std::map<std::string, FakeScript> scripts_;
  std::map<std::string, std::unique_ptr<FakeLabControl>> labs_;
  std::vector<std::string> made_;  // name/suite of each lab the factory was asked for
  std::ostringstream out_, err_;
  NullProgress progress_;
  FakeClock clock_;
};

TEST_F(MatrixRunTest, RunsEveryCellOnALabOfItsOwnAndDownsEach) {
  scripts_["dcs-trixie"].on("echo hi", {1, "", "no\n"});
  const int rc = run({"--matrix", "suite=bookworm,trixie", (dir_ / "seedlet").string(), "--junit",
                      (dir_ / "m.xml").string(), "--artifacts", (dir_ / "art").string()});
  EXPECT_EQ(rc, 1) << out_.str() << err_.str();  // a cell failed
  EXPECT_EQ(made_, (std::vector<std::string>{"dcs-bookworm/bookworm", "dcs-trixie/trixie"}));
  ASSERT_EQ(labs_.size(), 2u);
  EXPECT_EQ(labs_["dcs-bookworm"]->downs, 1);
  EXPECT_EQ(labs_["dcs-trixie"]->downs, 1);
  // Each cell ran on its own lab: the trixie lab saw no bookworm commands.
  EXPECT_EQ(scripts_["dcs-bookworm"].requests_matching("echo hi").size(), 1u);
  EXPECT_EQ(scripts_["dcs-trixie"].requests_matching("echo hi").size(), 1u);
  EXPECT_TRUE(scripts_["dcs-bookworm"].requests_matching("etcdutl").empty());  // skipped: 3.4
  EXPECT_TRUE(scripts_["dcs-trixie"].requests_matching("etcdutl").empty());    // not run: one failed
  const std::string out = out_.str();
  EXPECT_EQ(row(out, "scenario"), "scenario suite=bookworm suite=trixie") << out;
  EXPECT_EQ(row(out, "one"), "one passed FAILED") << out;
  EXPECT_EQ(row(out, "two"), "two skipped not run") << out;

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((dir_ / "m.xml").c_str()));
  std::vector<std::string> names;
  for (auto s : doc.child("testsuites").children("testsuite")) names.push_back(s.attribute("name").value());
  EXPECT_EQ(names, (std::vector<std::string>{"seedlet[suite=bookworm]", "seedlet[suite=trixie]"}));
  EXPECT_TRUE(fs::exists(dir_ / "art/junit.xml"));
  EXPECT_TRUE(fs::exists(dir_ / "art/bookworm/junit.xml"));
  EXPECT_TRUE(fs::exists(dir_ / "art/trixie/report.json"));
  EXPECT_NE(read(dir_ / "art/report.json").find("\"label\": \"suite=trixie\""), std::string::npos);
}

TEST_F(MatrixRunTest, AllPassedExitsZeroAndKeepLeavesTheLabsUp) {
  scripts_["dcs-trixie"].on("echo hi", {0, "hi\n", ""});
  scripts_["dcs-trixie"].on("etcdutl version", {0, "etcdutl version: 3.5.16\n", ""});
  const int rc = run({"--matrix", "suite=bookworm,trixie", "--keep", (dir_ / "seedlet").string(),
                      "--artifacts", (dir_ / "art").string()});
  EXPECT_EQ(rc, 0) << out_.str() << err_.str();
  EXPECT_EQ(labs_["dcs-bookworm"]->downs, 0);
  EXPECT_EQ(labs_["dcs-trixie"]->downs, 0);
  EXPECT_EQ(scripts_["dcs-trixie"].requests_matching("etcdutl version").size(), 3u);
  EXPECT_EQ(row(out_.str(), "two"), "two skipped passed") << out_.str();
}

TEST_F(MatrixRunTest, ALabThatDoesNotComeUpIsThatCellsFailureOnly) {
  run({"--matrix", "suite=trixie", "--keep", (dir_ / "seedlet").string(), "--artifacts",
       (dir_ / "first").string()});  // makes the fake
  labs_["dcs-trixie"]->up_failure = "no image for suite trixie";
  made_.clear();
  const int rc = run({"--matrix", "suite=trixie,bookworm", (dir_ / "seedlet").string(),
                      "--artifacts", (dir_ / "art").string()});
  EXPECT_EQ(rc, 3);
  EXPECT_EQ(made_, (std::vector<std::string>{"dcs-trixie/trixie", "dcs-bookworm/bookworm"}));
  EXPECT_EQ(labs_["dcs-trixie"]->downs, 1);  // what it made is taken down
  EXPECT_NE(err_.str().find("no image for suite trixie"), std::string::npos);
  EXPECT_NE(read(dir_ / "art/junit.xml").find("the lab could not come up: no image for suite trixie"),
            std::string::npos);
}

TEST_F(MatrixRunTest, BadMatrixArgumentsExit2BeforeAnyLab) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--matrix", "suite="}, {"--matrix", "os=bookworm"}, {"--matrix", "suite=bookworm,,trixie"},
           {"--suite", "trixie", "--matrix", "suite=bookworm"}, {"--matrix", "suite=trixie", "--parallel", "2"}}) {
    std::vector<std::string> a = args;
    a.push_back((dir_ / "seedlet").string());
    EXPECT_EQ(run(a), 2) << args[1];
    EXPECT_NE(err_.str().find(args[0] == "--suite" ? "--matrix suite" : "--matrix"), std::string::npos)
        << err_.str();
  }
  EXPECT_NE(err_.str().find("--parallel"), std::string::npos) << err_.str();
  EXPECT_TRUE(made_.empty());
  EXPECT_FALSE(fs::exists(dir_ / "home"));
}

TEST_F(MatrixRunTest, TheGlobalSuiteAndNameApplyToAPlainRun) {
  scripts_["other"].on("echo hi", {0, "hi\n", ""});
  scripts_["other"].on("dpkg-query", {0, "dpkg: ii |3.5.16-4\n", ""});
  scripts_["other"].on("etcdutl", {0, "etcdutl version: 3.5.16\n", ""});
  EXPECT_EQ(run({"--suite", "trixie", "--name", "other", (dir_ / "seedlet").string()}), 0) << out_.str() << err_.str();
  EXPECT_EQ(made_, (std::vector<std::string>{"other/trixie"}));
  EXPECT_EQ(run({"--suite", "sid", (dir_ / "seedlet").string()}), 2);
  EXPECT_NE(err_.str().find("--suite: unknown suite \"sid\""), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace dcslab
