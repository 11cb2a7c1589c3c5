// A step's `when:` guard, judged per node on the etcd observed there (fake lab).
#include <gtest/gtest.h>
#include "base/paths.h"
#include <pugixml.hpp>

#include <algorithm>
#include <sstream>

#include "testing/fake_lab.h"
#include "testing/fake_lab_fixture.h"
#include "report/report_console.h"
#include "report/report_files.h"
#include "run/runner.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

class WhenTest : public FakeLabTest {
 protected:
  WhenTest() : FakeLabTest(false) {}


  ScenarioResult run(const std::string& text) {
    Runner runner(*lab_, clock_, progress_, redactor_, {&console_});
    return runner.run(parse(text));
  }

  // dcs-00 has etcd 3.4.23 installed; dcs-01 has 3.5.16 installed; dcs-02 has none
  // installed and apt would install 3.5.16.
  void mixed_versions() {
    script_.on("dpkg-query", {0, "dpkg: ii |3.4.23-4+b5\netcd-server:\n  Installed: 3.4.23-4+b5\n  Candidate: 3.4.23-4+b5\n", ""}, "dcs-00");
    script_.on("dpkg-query", {0, "dpkg: ii |3.5.16-4\netcd-server:\n  Installed: 3.5.16-4\n  Candidate: 3.5.16-4\n", ""}, "dcs-01");
    script_.on("dpkg-query", {0, "etcd-server:\n  Installed: (none)\n  Candidate: 3.5.16-4\n", ""}, "dcs-02");
    script_.on("etcdutl version", {0, "etcdutl version: 3.5.16\n", ""});
  }

};

TEST_F(WhenTest, RunsOnlyOnTheNodesWhereItHolds) {
  mixed_versions();
  const auto r = run(
      "steps:\n"
      "  - on: all\n"
      "    when: etcd >= 3.5\n"
      "    run: etcdutl version\n"
      "    expect: {stdout: {contains: '3.5'}}\n");
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.steps.size(), 1u);
  const auto& nodes = r.steps[0].nodes;
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_TRUE(nodes[0].skipped);
  EXPECT_TRUE(nodes[0].passed);
  EXPECT_EQ(nodes[0].skip_reason, "when etcd >= 3.5: etcd 3.4.23 (installed)");
  EXPECT_FALSE(nodes[1].skipped);
  EXPECT_EQ(nodes[1].out, "etcdutl version: 3.5.16\n");
  EXPECT_FALSE(nodes[2].skipped);  // apt's candidate is 3.5.16
  EXPECT_FALSE(r.steps[0].skipped());
  // The guard was asked on every node, the command ran only where it held.
  std::vector<std::string> probed, ran;
  for (const auto& q : script_.requests_matching("dpkg-query")) probed.push_back(q.node);
  for (const auto& q : script_.requests_matching("etcdutl version")) ran.push_back(q.node);
  std::sort(probed.begin(), probed.end());
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(probed, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"}));
  EXPECT_EQ(ran, (std::vector<std::string>{"dcs-01", "dcs-02"}));
  EXPECT_NE(console_out_.str().find("SKIP [1] etcdutl version  dcs-00  skipped: when etcd >= 3.5: etcd 3.4.23 (installed)"),
            std::string::npos)
      << console_out_.str();
}

TEST_F(WhenTest, TheOppositeGuardSkipsTheOtherNodes) {
  mixed_versions();
  script_.on("etcdctl snapshot restore", {0, "restored\n", ""});
  const auto r = run(
      "steps:\n"
      "  - on: all\n"
      "    when: etcd < 3.5\n"
      "    run: etcdctl snapshot restore x.db\n");
  EXPECT_TRUE(r.passed);
  const auto& nodes = r.steps[0].nodes;
  EXPECT_FALSE(nodes[0].skipped);
  EXPECT_TRUE(nodes[1].skipped);
  EXPECT_EQ(nodes[1].skip_reason, "when etcd < 3.5: etcd 3.5.16 (installed)");
  EXPECT_TRUE(nodes[2].skipped);
  EXPECT_EQ(nodes[2].skip_reason, "when etcd < 3.5: etcd 3.5.16 (apt candidate)");
  ASSERT_EQ(script_.requests_matching("etcdctl snapshot restore").size(), 1u);
  EXPECT_EQ(script_.requests_matching("etcdctl snapshot restore")[0].node, "dcs-00");
}

TEST_F(WhenTest, AStepSkippedEverywhereIsSkippedNotPassedAndTheScenarioGoesOn) {
  mixed_versions();
  script_.on("echo next", {0, "next\n", ""});
  const auto r = run(
      "steps:\n"
      "  - {on: [dcs-00], when: etcd >= 3.5, run: etcdutl version}\n"
      "  - {on: dcs-00, run: echo next}\n");
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_TRUE(r.steps[0].skipped());
  EXPECT_FALSE(r.steps[1].skipped());
  EXPECT_TRUE(script_.requests_matching("etcdutl").empty());
  EXPECT_EQ(script_.requests_matching("echo next").size(), 1u);
  EXPECT_NE(console_out_.str().find("passed, 2 steps (1 skipped: when)"), std::string::npos)
      << console_out_.str();

  RunReport report;
  report.lab = "dcs";
  report.scenarios.push_back(r);
  pugi::xml_document doc;
  const std::string xml = junit_xml(report);
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  auto suite = doc.child("testsuites").child("testsuite");
  EXPECT_STREQ(suite.attribute("tests").value(), "2");
  EXPECT_STREQ(suite.attribute("skipped").value(), "1");
  EXPECT_STREQ(suite.attribute("failures").value(), "0");
  EXPECT_STREQ(suite.child("testcase").child("skipped").attribute("message").value(),
               "when etcd >= 3.5: etcd 3.4.23 (installed)");
  const std::string json = json_report(report);
  EXPECT_NE(json.find("\"skipped\": true"), std::string::npos);
  EXPECT_NE(json.find("\"skip_reason\": \"when etcd >= 3.5: etcd 3.4.23 (installed)\""), std::string::npos);
  EXPECT_NE(transcript_markdown(report).find("_skipped: when etcd >= 3.5: etcd 3.4.23 (installed)_"),
            std::string::npos);
}

TEST_F(WhenTest, TheVersionIsAskedAnewForEachStep) {
  // Not installed first (apt would install 3.4.23), then 3.5.16 after an upgrade.
  script_.on_sequence("dpkg-query",
                      {{0, "etcd-server:\n  Installed: (none)\n  Candidate: 3.4.23-4+b5\n", ""},
                       {0, "dpkg: ii |3.5.16-4\n", ""}},
                      "dcs-00");
  script_.on("echo ran", {0, "ran\n", ""});
  const auto r = run(
      "steps:\n"
      "  - {on: dcs-00, when: etcd >= 3.5, run: echo ran}\n"
      "  - {on: dcs-00, when: etcd >= 3.5, run: echo ran}\n");
  EXPECT_TRUE(r.steps[0].skipped());
  EXPECT_FALSE(r.steps[1].skipped());
  EXPECT_EQ(script_.requests_matching("dpkg-query").size(), 2u);
  EXPECT_EQ(script_.requests_matching("echo ran").size(), 1u);
}

TEST_F(WhenTest, NoEtcdToJudgeIsAFailureNotASkip) {
  script_.on("dpkg-query", {0, "etcd-server:\n  Installed: (none)\n  Candidate: (none)\n", ""});
  const auto r = run("steps:\n  - {on: dcs-01, when: etcd >= 3.5, run: echo never}\n");
  EXPECT_FALSE(r.passed);
  const auto& n = r.steps[0].nodes[0];
  EXPECT_FALSE(n.skipped);
  ASSERT_EQ(n.failures.size(), 1u);
  EXPECT_EQ(n.failures[0],
            "when etcd >= 3.5: cannot tell the etcd version on dcs-01: etcd-server is neither "
            "installed, nor available to apt, nor in /var/local/dcslab-repo");
  EXPECT_TRUE(script_.requests_matching("echo never").empty());
}

TEST_F(WhenTest, AnUnreachableNodeIsAnInfrastructureFailure) {
  lab_->unreachable.insert("dcs-02");
  const auto r = run("steps:\n  - {on: dcs-02, when: etcd >= 3.5, run: 'true'}\n");
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.infrastructure_failed);
}

TEST(WhenParse, BadGuardsAreBadInputWithLineAndColumn) {
  Lab lab = load_lab(source_dir() / "fixtures/labs/dcs.yaml");
  auto parse = [&](const std::string& text) {
    return parse_scenario(text, "w.yaml", [&](const std::string&) {
      return std::make_pair(lab, fs::path("dcs.yaml"));
    });
  };
  auto error = [&](const std::string& text) -> std::string {
    try {
      parse(text);
    } catch (const BadInput& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error("steps:\n  - on: dcs-00\n    when: etcd => 3.5\n    run: 'true'\n"),
            "w.yaml:3:16: steps[0].when: \"=>\" is not an operator (valid: ==, !=, <, <=, >, >=)");
  EXPECT_EQ(error("steps:\n  - on: dcs-00\n    when: \"etcd >= 3.x\"\n    run: 'true'\n"),
            "w.yaml:3:20: steps[0].when: \"3.x\" is not a version (digits separated by dots, e.g. 3.5 or 3.4.23)");
  EXPECT_EQ(error("steps:\n  - on: dcs-00\n    when: patroni >= 3\n    run: 'true'\n"),
            "w.yaml:3:11: steps[0].when: unknown subject \"patroni\" (valid: etcd)");
  EXPECT_EQ(error("steps:\n  - on: dcs-00\n    when: {etcd: 3.5}\n    run: 'true'\n"),
            "w.yaml:3:11: steps[0].when: expected a guard like \"etcd >= 3.5\", found a mapping");
  const Scenario sc = parse("steps:\n  - on: dcs-00\n    when: etcd != 3.4.23\n    run: 'true'\n");
  ASSERT_TRUE(sc.steps[0].when);
  EXPECT_EQ(sc.steps[0].when->op, VersionOp::Ne);
  EXPECT_EQ(sc.steps[0].when->text, "etcd != 3.4.23");
  EXPECT_FALSE(parse("steps:\n  - {on: dcs-00, run: 'true'}\n").steps[0].when);
}

}  // namespace
}  // namespace dcslab
