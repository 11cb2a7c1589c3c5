#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "report/report_files.h"

namespace dcslab {
namespace {

RunReport sample() {
  RunReport r;
  r.lab = "dcs";
  r.started_at = "2026-02-12T11:50:49Z";
  ScenarioResult s;
  s.name = "auth";
  s.file = "scenarios/auth.yaml";
  s.started_at = r.started_at;
  StepResult ok;
  ok.index = 1;
  ok.name = "role add root";
  ok.action = "run";
  ok.passed = true;
  NodeResult n;
  n.node = "dcs-00";
  n.user = "tux";
  n.command = "etcdctl role add root";
  n.exit_status = 0;
  n.out = "Role root created\n";
  n.passed = true;
  n.attempts = 1;
  ok.nodes = {n};
  StepResult bad = ok;
  bad.index = 2;
  bad.name = "auth status <without --user> & \"quotes\"";
  bad.passed = false;
  bad.expected = "exit 0; stdout contains \"Authentication Status: true\"";
  bad.nodes[0].passed = false;
  bad.nodes[0].exit_status = 1;
  bad.nodes[0].out = "color \x1b[31mred\x1b[0m and bad utf-8 \xff\xfe end\n";
  bad.nodes[0].err = "Error: etcdserver: user name not found\n";
  bad.nodes[0].failures = {"exit: expected 0, observed 1",
                           "stdout: expected to contain \"Authentication Status: true\""};
  s.steps = {ok, bad};
  s.not_run = {"snapshot save"};
  r.scenarios = {s};
  ScenarioResult passed;
  passed.name = "smoke";
  passed.passed = true;
  passed.steps = {ok};
  r.scenarios.push_back(passed);
  return r;
}

TEST(Report, JunitParsesBackWithCountsAndFailure) {
  const std::string xml = junit_xml(sample());
  pugi::xml_document doc;
  const auto parsed = doc.load_string(xml.c_str());
  ASSERT_TRUE(parsed) << parsed.description() << "\n" << xml;
  const auto suites = doc.child("testsuites");
  EXPECT_EQ(suites.attribute("tests").as_int(), 4);
  EXPECT_EQ(suites.attribute("failures").as_int(), 1);
  EXPECT_EQ(suites.attribute("skipped").as_int(), 1);
  EXPECT_EQ(suites.attribute("errors").as_int(), 0);
  const auto suite = suites.child("testsuite");
  EXPECT_STREQ(suite.attribute("name").value(), "auth");
  EXPECT_EQ(suite.attribute("tests").as_int(), 3);
  EXPECT_EQ(suite.attribute("failures").as_int(), 1);
  int failures = 0, cases = 0;
  for (auto tc : suite.children("testcase")) {
    ++cases;
    EXPECT_STREQ(tc.attribute("classname").value(), "auth");
    if (auto f = tc.child("failure")) {
      ++failures;
      EXPECT_STREQ(tc.attribute("name").value(),
                   "2. auth status <without --user> & \"quotes\" (dcs-00)");
      EXPECT_EQ(std::string(f.attribute("message").value()),
                "exit: expected 0, observed 1; stdout: expected to contain \"Authentication Status: true\"");
      const std::string text = f.text().get();
      EXPECT_NE(text.find("observed stderr:\nError: etcdserver: user name not found"), std::string::npos);
      EXPECT_NE(text.find("\\x1b[31mred"), std::string::npos);   // escaped, not raw
      EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);     // U+FFFD for bad bytes
      EXPECT_STREQ(tc.child("system-err").text().get(), "Error: etcdserver: user name not found\n");
    }
  }
  EXPECT_EQ(cases, 3);
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(std::string(suites.child("testsuite").next_sibling("testsuite").attribute("failures").value()), "0");
}

TEST(Report, XmlSafeKeepsValidUtf8) {
  EXPECT_EQ(xml_safe("ação ✓ tab\tnl\n"), "ação ✓ tab\tnl\n");
  EXPECT_EQ(xml_safe("a\x01" "b"), "a\\x01b");
  EXPECT_EQ(xml_safe("\xC3"), "\xEF\xBF\xBD");          // truncated sequence
  EXPECT_EQ(xml_safe("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
}

TEST(Report, JsonHasEveryStepAndNode) {
  const auto j = nlohmann::json::parse(json_report(sample()));
  EXPECT_EQ(j["lab"], "dcs");
  EXPECT_FALSE(j["passed"].get<bool>());
  const auto& s = j["scenarios"][0];
  EXPECT_EQ(s["steps"].size(), 2u);
  EXPECT_EQ(s["steps"][1]["nodes"][0]["exit"], 1);
  EXPECT_EQ(s["steps"][1]["nodes"][0]["failures"].size(), 2u);
  EXPECT_EQ(s["not_run"][0], "snapshot save");
}

TEST(Report, TranscriptReadsLikeTheLabDocument) {
  const std::string md = transcript_markdown(sample());
  EXPECT_NE(md.find("[$] role add root (`dcs-00`, as tux):\n```bash\netcdctl role add root\n```\n"
                    "```\nRole root created\n```\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("> **Failed** (exit 1):\n> - exit: expected 0, observed 1"), std::string::npos);
  EXPECT_NE(md.find("[$] snapshot save — _not run_"), std::string::npos);
}

TEST(Report, SlugsAreFolderNames) {
  EXPECT_EQ(slug("hostname -f is the node's FQDN"), "hostname-f-is-the-node-s-fqdn");
  EXPECT_EQ(slug("///"), "step");
}

}  // namespace
}  // namespace dcslab
