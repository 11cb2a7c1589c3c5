#include "run/parallel.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "report/report_files.h"

namespace dcslab {
namespace {

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

}  // namespace
}  // namespace dcslab
