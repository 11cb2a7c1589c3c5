#include "run/matrix.h"
#include "base/paths.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "testing/fake_lab.h"
#include "cli/run_command.h"

namespace dcslab {
namespace {

std::string bad_input(const std::vector<std::string>& args) {
  try {
    parse_matrix_args(args);
  } catch (const BadInput& e) {
    return e.what();
  }
  ADD_FAILURE() << "no BadInput";
  return "";
}

TEST(Matrix, ParsesADimensionAndItsValuesInOrder) {
  const auto dims = parse_matrix_args({"suite=trixie,bookworm"});
  ASSERT_EQ(dims.size(), 1u);
  EXPECT_EQ(dims[0].key, "suite");
  EXPECT_EQ(dims[0].values, (std::vector<std::string>{"trixie", "bookworm"}));
  EXPECT_TRUE(parse_matrix_args({}).empty());
}

TEST(Matrix, BadArgumentsNameTheArgument) {
  EXPECT_EQ(bad_input({"os=bookworm"}),
            "run: --matrix os=bookworm: unknown dimension \"os\" (valid: suite)");
  EXPECT_EQ(bad_input({"suite="}),
            "run: --matrix suite=: an empty value (valid: bullseye, bookworm, trixie, forky)");
  EXPECT_EQ(bad_input({"suite=bookworm,,trixie"}).rfind("run: --matrix suite=bookworm,,trixie: an empty value", 0), 0u);
  EXPECT_EQ(bad_input({"suite=bookworm,"}).rfind("run: --matrix suite=bookworm,: an empty value", 0), 0u);
  EXPECT_EQ(bad_input({"suite=buster"}),
            "run: --matrix suite=buster: unknown suite \"buster\" (valid: bullseye, bookworm, trixie, forky)");
  EXPECT_EQ(bad_input({"suite=trixie,trixie"}),
            "run: --matrix suite=trixie,trixie: suite \"trixie\" is listed twice");
  EXPECT_EQ(bad_input({"suite"}).rfind("run: --matrix suite: expected KEY=VALUE", 0), 0u);
  EXPECT_EQ(bad_input({"=trixie"}).rfind("run: --matrix =trixie: expected KEY=VALUE", 0), 0u);
  EXPECT_NE(bad_input({"suite=bookworm", "suite=trixie"}).find("given twice"), std::string::npos);
}

TEST(Matrix, CellsAreTheProductFirstDimensionSlowest) {
  // Only `suite` exists; the product is planned for any list of dimensions.
  const std::vector<MatrixDimension> dims = {{"suite", {"bookworm", "trixie"}},
                                             {"provider", {"nspawn", "libvirt", "x"}}};
  const auto cells = matrix_cells(dims);
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(cells[0].label(), "suite=bookworm,provider=nspawn");
  EXPECT_EQ(cells[1].label(), "suite=bookworm,provider=libvirt");
  EXPECT_EQ(cells[2].label(), "suite=bookworm,provider=x");
  EXPECT_EQ(cells[3].label(), "suite=trixie,provider=nspawn");
  EXPECT_EQ(cells[5].suffix(), "trixie-x");
  EXPECT_TRUE(matrix_cells({}).empty());
  EXPECT_TRUE(matrix_cells({{"suite", {}}}).empty());
  const auto one = matrix_cells(parse_matrix_args({"suite=bookworm,trixie"}));
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[1].label(), "suite=trixie");
  EXPECT_EQ(one[1].suffix(), "trixie");
}

TEST(Matrix, ACellsLabHasItsSuiteAndAName) {
  Lab lab;
  lab.name = "dcs";
  lab.image.suite = "bookworm";
  lab.nodes.push_back(Node{});
  const auto cells = matrix_cells(parse_matrix_args({"suite=bookworm,trixie"}));
  const Lab a = apply_cell(lab, cells[0]), b = apply_cell(lab, cells[1]);
  EXPECT_EQ(a.name, "dcs-bookworm");
  EXPECT_EQ(a.image.suite, "bookworm");
  EXPECT_EQ(b.name, "dcs-trixie");
  EXPECT_EQ(b.image.suite, "trixie");
  EXPECT_EQ(b.nodes.size(), 1u);
  EXPECT_EQ(lab.name, "dcs");  // untouched
  lab.name = std::string(26, 'a');
  try {
    apply_cell(lab, cells[1]);
    FAIL() << "a 33-character lab name was accepted";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("at most 32"), std::string::npos) << e.what();
  }
}

NodeResult node(const std::string& name, bool passed, bool skipped = false) {
  NodeResult n;
  n.node = name;
  n.passed = passed;
  n.skipped = skipped;
  if (skipped) n.skip_reason = "when etcd >= 3.5: etcd 3.4.23 (installed)";
  if (!passed) n.failures.push_back("exit: expected 0, observed 1");
  return n;
}

ScenarioResult scenario(const std::string& name, std::vector<std::vector<NodeResult>> steps) {
  ScenarioResult s;
  s.name = name;
  s.passed = true;
  int i = 0;
  for (auto& nodes : steps) {
    StepResult st;
    st.index = ++i;
    st.name = "step " + std::to_string(i);
    st.nodes = std::move(nodes);
    st.passed = true;
    for (const auto& n : st.nodes) st.passed = st.passed && n.passed;
    s.passed = s.passed && st.passed;
    s.steps.push_back(std::move(st));
  }
  return s;
}

std::vector<MatrixCellResult> two_cells() {
  const auto cells = matrix_cells(parse_matrix_args({"suite=bookworm,trixie"}));
  MatrixCellResult a{cells[0], "dcs-bookworm", {}, "", 0};
  a.report.scenarios.push_back(scenario("install", {{node("dcs-00", true)}}));
  a.report.scenarios.push_back(scenario("v35", {{node("dcs-00", true, true), node("dcs-01", true, true)}}));
  a.report.scenarios.push_back(scenario("kv", {{node("dcs-00", true)}, {node("dcs-00", false)}}));
  ScenarioResult blocked;
  blocked.name = "replication";
  blocked.error = "not run: required scenario \"kv\" failed";
  blocked.not_run = {"a", "b"};
  a.report.scenarios.push_back(blocked);
  a.report.seconds = 12.5;
  a.exit_status = 1;
  MatrixCellResult b{cells[1], "dcs-trixie", {}, "", 0};
  b.report.scenarios.push_back(scenario("install", {{node("dcs-00", true)}}));
  b.report.scenarios.push_back(scenario("v35", {{node("dcs-00", true), node("dcs-01", true)}}));
  b.report.scenarios.push_back(scenario("kv", {{node("dcs-00", true)}, {node("dcs-00", true)}}));
  b.report.scenarios.push_back(scenario("replication", {{node("dcs-00", true)}}));
  b.report.seconds = 20;
  return {a, b};
}

TEST(Matrix, TableShowsEachScenarioInEachCell) {
  const auto cells = two_cells();
  const std::string t = matrix_table({"install", "v35", "kv", "replication"}, cells);
  EXPECT_EQ(t,
            "scenario     suite=bookworm       suite=trixie\n"
            "install      passed               passed\n"
            "v35          skipped              passed\n"
            "kv           FAILED               passed\n"
            "replication  not run              passed\n"
            "(lab, time)  dcs-bookworm, 12.5s  dcs-trixie, 20.0s\n");
}

TEST(Matrix, ACellWhoseLabDidNotComeUpIsNotRunEverywhere) {
  auto cells = two_cells();
  cells[1].report = RunReport{};
  cells[1].error = "the lab could not come up: no image";
  cells[1].exit_status = 3;
  const std::string t = matrix_table({"install"}, cells);
  EXPECT_NE(t.find("install      passed               not run"), std::string::npos) << t;
  EXPECT_NE(t.find("dcs-trixie, did not run"), std::string::npos) << t;
  EXPECT_EQ(matrix_exit_status(cells), 3);
  const std::string xml = matrix_junit_xml("seed", cells);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  auto trixie = doc.child("testsuites").find_child_by_attribute("testsuite", "name", "seed[suite=trixie]");
  ASSERT_TRUE(trixie);
  EXPECT_STREQ(trixie.attribute("errors").value(), "1");
  EXPECT_STREQ(trixie.child("testcase").child("error").attribute("message").value(),
               "the lab could not come up: no image");
}

TEST(Matrix, JUnitHasATestsuitePerCell) {
  const auto cells = two_cells();
  const std::string xml = matrix_junit_xml("seed", cells);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  auto suites = doc.child("testsuites");
  std::vector<std::string> names;
  for (auto s : suites.children("testsuite")) names.push_back(s.attribute("name").value());
  EXPECT_EQ(names, (std::vector<std::string>{"seed[suite=bookworm]", "seed[suite=trixie]"}));
  auto bookworm = suites.child("testsuite");
  // install 1 + v35 2 (skipped) + kv 2 (one failed) + replication 2 not run (skipped).
  EXPECT_STREQ(bookworm.attribute("tests").value(), "7");
  EXPECT_STREQ(bookworm.attribute("failures").value(), "1");
  EXPECT_STREQ(bookworm.attribute("skipped").value(), "4");
  EXPECT_STREQ(bookworm.child("properties").find_child_by_attribute("property", "name", "suite")
                   .attribute("value").value(), "bookworm");
  // The scenario is each testcase's classname.
  auto first = bookworm.child("testcase");
  EXPECT_STREQ(first.attribute("classname").value(), "install");
  auto trixie = bookworm.next_sibling("testsuite");
  EXPECT_STREQ(trixie.attribute("failures").value(), "0");
  EXPECT_STREQ(trixie.attribute("skipped").value(), "0");
  EXPECT_STREQ(suites.attribute("tests").value(), "13");
  EXPECT_EQ(matrix_exit_status(cells), 1);
}

TEST(Matrix, JsonCarriesEachCellsReport) {
  const auto cells = two_cells();
  const auto dims = parse_matrix_args({"suite=bookworm,trixie"});
  const std::string j = matrix_json(dims, cells);
  EXPECT_NE(j.find("\"label\": \"suite=trixie\""), std::string::npos);
  EXPECT_NE(j.find("\"lab\": \"dcs-bookworm\""), std::string::npos);
  EXPECT_NE(j.find("\"skip_reason\": \"when etcd >= 3.5: etcd 3.4.23 (installed)\""), std::string::npos);
  EXPECT_NE(j.find("\"passed\": false"), std::string::npos);
}

TEST(Matrix, ExitStatusIsTheWorstCells) {
  auto cells = two_cells();
  cells[0].exit_status = 0;
  EXPECT_EQ(matrix_exit_status(cells), 0);
  cells[1].exit_status = 1;
  EXPECT_EQ(matrix_exit_status(cells), 1);
  EXPECT_EQ(matrix_exit_status({}), 0);
}

// ---- dcslab run --matrix, on fake labs --------------------------------------------------

namespace fs = std::filesystem;

// Hands run_command a LabControl that forwards to one the test keeps and inspects.
class Forward : public LabControl {
 public:
  explicit Forward(FakeLabControl& f) : f_(f) {}
  const Lab& lab() const override { return f_.lab(); }
  LabState& state() override { return f_.state(); }
  Expected<void> ensure_up(Progress& p) override { return f_.ensure_up(p); }
  fs::path console_log(const std::string& n) override { return f_.console_log(n); }

 protected:
  Expected<std::shared_ptr<Transport>> open_session(const std::string& n,
                                                    const std::string& u) override {
    return f_.open_session(n, u);
  }
  Expected<void> reboot_node(const std::string& n, Progress& p) override { return f_.reboot(n, p); }
  Expected<void> take_down(Progress& p) override { return f_.down(p); }

 private:
  FakeLabControl& f_;
};

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
      return std::make_unique<Forward>(*fake);
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
