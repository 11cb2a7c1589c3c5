#include "run/matrix.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <string>
#include <vector>

#include "base/error.h"

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

}  // namespace
}  // namespace dcslab
