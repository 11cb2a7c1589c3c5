// The writer / check_writes actions as the scenario loader reads them.
#include <gtest/gtest.h>

#include "base/error.h"
#include "scenario/scenario.h"
#include "scenario/scenario_test_util.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;

Scenario parse(const std::string& text) { return parse_against_dcs_lab(text); }
std::string error_of(const std::string& text) { return load_error_of(text); }

TEST(ScenarioWriter, DefaultsAreTheLabDocumentsLayout) {
  const Scenario sc = parse(
      "steps:\n"
      "  - writer: {start: w1}\n"
      "  - writer: {stop: w1}\n"
      "  - check_writes: w1\n");
  ASSERT_EQ(sc.steps.size(), 3u);
  const Step& s = sc.steps[0];
  ASSERT_TRUE(std::holds_alternative<WriterSpec>(s.action));
  EXPECT_EQ(s.on, std::vector<std::string>{"dcs-00"});  // `on` may be left out
  EXPECT_EQ(s.name, "writer w1 starts");
  const WriterSpec& w = std::get<WriterSpec>(s.action);
  EXPECT_EQ(w.op, WriterSpec::Op::Start);
  EXPECT_EQ(w.endpoints, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"}));
  EXPECT_EQ(w.interval, std::chrono::milliseconds(100));
  EXPECT_EQ(w.keys, 16);
  EXPECT_TRUE(w.reads);
  EXPECT_EQ(w.port, 2379);
  EXPECT_EQ(w.prefix, "/dcslab/writes/");
  EXPECT_EQ(w.user, "");
  EXPECT_EQ(w.ca, "node:/etc/dcs/cert/ca.crt");
  EXPECT_EQ(w.sign_with, "node:/etc/dcs/cert/ca.key");
  EXPECT_EQ(std::get<WriterSpec>(sc.steps[1].action).op, WriterSpec::Op::Stop);
  EXPECT_EQ(sc.steps[1].name, "writer w1 stops");
  ASSERT_TRUE(std::holds_alternative<CheckWritesSpec>(sc.steps[2].action));
  EXPECT_EQ(sc.steps[2].name, "check_writes w1");
  EXPECT_EQ(std::get<CheckWritesSpec>(sc.steps[2].action).name, "w1");
  EXPECT_EQ(std::get<CheckWritesSpec>(sc.steps[2].action).timeout, std::chrono::minutes(1));
  EXPECT_STREQ(action_name(sc.steps[0].action), "writer");
  EXPECT_STREQ(action_name(sc.steps[1].action), "writer");
  EXPECT_STREQ(action_name(sc.steps[2].action), "check_writes");
}

TEST(ScenarioWriter, EveryOption) {
  const Scenario sc = parse(
      "secrets: {root_password: {generate: 20}}\n"
      "steps:\n"
      "  - name: writes through two members\n"
      "    on: dcs-01\n"
      "    writer:\n"
      "      start: w-2\n"
      "      endpoints: [dcs-02, dcs-00]\n"
      "      port: 12379\n"
      "      interval: 250ms\n"
      "      keys: 3\n"
      "      reads: false\n"
      "      prefix: /{{ lab.name }}/w/\n"
      "      user: root\n"
      "      password: \"{{ secrets.root_password }}\"\n"
      "      timeout: 5s\n"
      "      tls: {ca: lab, cert: node:/etc/dcs/cert/w.crt, key: node:/etc/dcs/cert/w.key}\n"
      "  - check_writes: {name: w-2, timeout: 2m, model: linearizable, budget: 90s}\n");
  const WriterSpec& w = std::get<WriterSpec>(sc.steps[0].action);
  EXPECT_EQ(sc.steps[0].on, std::vector<std::string>{"dcs-01"});
  EXPECT_EQ(sc.steps[0].name, "writes through two members");
  EXPECT_EQ(w.name, "w-2");
  EXPECT_EQ(w.endpoints, (std::vector<std::string>{"dcs-02", "dcs-00"}));
  EXPECT_EQ(w.port, 12379);
  EXPECT_EQ(w.interval, std::chrono::milliseconds(250));
  EXPECT_EQ(w.keys, 3);
  EXPECT_FALSE(w.reads);
  EXPECT_EQ(w.prefix, "/{{ lab.name }}/w/");  // expanded at run time
  EXPECT_EQ(w.user, "root");
  EXPECT_EQ(w.password, "{{ secrets.root_password }}");
  EXPECT_EQ(w.request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(w.ca, "lab");
  EXPECT_EQ(w.cert, "node:/etc/dcs/cert/w.crt");
  EXPECT_EQ(w.key, "node:/etc/dcs/cert/w.key");
  EXPECT_EQ(w.sign_with, "");  // a given certificate: nothing to sign
  const CheckWritesSpec& c = std::get<CheckWritesSpec>(sc.steps[1].action);
  EXPECT_EQ(c.timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.model, CheckWritesSpec::Model::Linearizable);
  EXPECT_EQ(c.budget, std::chrono::seconds(90));
}

TEST(ScenarioWriter, CheckWritesModelDefaults) {
  const Scenario sc = parse(
      "steps:\n"
      "  - writer: {start: w1}\n"
      "  - check_writes: w1\n"
      "  - writer: {start: w2}\n"
      "  - check_writes: {name: w2, model: linearizable}\n");
  const CheckWritesSpec& plain = std::get<CheckWritesSpec>(sc.steps[1].action);
  EXPECT_EQ(plain.model, CheckWritesSpec::Model::None);
  const CheckWritesSpec& lin = std::get<CheckWritesSpec>(sc.steps[3].action);
  EXPECT_EQ(lin.model, CheckWritesSpec::Model::Linearizable);
  EXPECT_EQ(lin.budget, std::chrono::seconds(60));
}

TEST(ScenarioWriter, StrictErrors) {
  EXPECT_EQ(error_of("steps:\n  - writer: w1\n"),
            "s.yaml:2:13: steps[0].writer: expected {start: NAME, ...} or {stop: NAME}, found \"w1\"");
  EXPECT_EQ(error_of("steps:\n  - writer: {stop: w1}\n"),
            "s.yaml:2:20: steps[0].writer.stop: no writer \"w1\" started before this step (valid: none yet)");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1, stop: w1}\n"),
            "s.yaml:2:31: steps[0].writer.stop: give start: NAME or stop: NAME, not both");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1, keys: 0}\n"),
            "s.yaml:2:31: steps[0].writer.keys: 0 is out of range 1..10000");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1, user: root}\n"),
            "s.yaml:2:13: steps[0].writer.password: missing (required with user)");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1, password: \"{{ secrets.nope }}\", user: r}\n")
                .substr(0, 60),
            "s.yaml:2:36: steps[0].writer.password: unknown template name");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1, tls: {cert: a.crt}}\n"),
            "s.yaml:2:30: steps[0].writer.tls.key: missing (required with cert)");
  EXPECT_EQ(error_of("steps:\n  - {on: all, writer: {start: w1}}\n"),
            "s.yaml:2:10: steps[0].on: writer runs once: give one node (whose files it reads)");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1}\n  - check_writes: {name: w1, every: 1s}\n"),
            "s.yaml:3:30: steps[1].check_writes.every: unknown key (valid: name, timeout, model, budget)");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1}\n  - check_writes: {name: w1, model: serializable}\n"),
            "s.yaml:3:37: steps[1].check_writes.model: \"serializable\" (valid: linearizable)");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1}\n  - check_writes: {name: w1, budget: 10s}\n"),
            "s.yaml:3:38: steps[1].check_writes.budget: a budget is the linearizability checker's: "
            "give model: linearizable too");
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1}\n"
                     "  - check_writes: {name: w1, model: linearizable, budget: 0s}\n"),
            "s.yaml:3:59: steps[1].check_writes.budget: \"0s\" is not a duration (valid: e.g. 500ms, 30s, "
            "2m, 1h, 1m30s)");
  EXPECT_NE(error_of("steps:\n  - writer: {start: w1}\n  - {writer: {stop: w1}, expect: {exit: 0}}\n")
                .find("steps[1].expect: writer has no output to expect anything of"),
            std::string::npos);
  EXPECT_NE(error_of("steps:\n  - writer: {start: w1}\n  - {check_writes: w1, until: {timeout: 1m}}\n")
                .find("steps[1].until: only run and get steps repeat"),
            std::string::npos);
  EXPECT_NE(error_of("steps:\n  - writer: {start: \"bad name\"}\n").find("is not a valid name"),
            std::string::npos);
}

}  // namespace
}  // namespace dcslab
