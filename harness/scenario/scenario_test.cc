#include "scenario/scenario.h"
#include "base/paths.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"

namespace dcslab {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = source_dir();

LabResolver test_lab() {
  return [](const std::string&) {
    const fs::path p = kSource / "fixtures/labs/dcs.yaml";
    return std::make_pair(load_lab(p), p);
  };
}

Scenario parse(const std::string& text) { return parse_scenario(text, "s.yaml", test_lab()); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Scenario, Durations) {
  EXPECT_EQ(parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
  for (const char* bad : {"", "30", "30 s", "s", "1d", "-1s", "1.5s", "30s "})
    EXPECT_FALSE(parse_duration(bad)) << bad;
  EXPECT_EQ(format_duration(std::chrono::seconds(90)), "90s");
  EXPECT_EQ(format_duration(std::chrono::minutes(2)), "2m");
}

TEST(Scenario, LoadsEveryFieldWithDefaults) {
  const Scenario sc = parse(R"(name: full
description: all of it
requires: [base]
tags: [a, b]
vars: {endpoint: "https://{{ node.ip }}:2379"}
secrets:
  root_password: {generate: 20}
  token: {env: CI_TOKEN}
steps:
  - on: dcs-00
    run: |
      etcdctl --endpoints={{ vars.endpoint }} \
        user add root
    env: {ETCDCTL_API: "3"}
    stdin: "x"
    prompts:
      - {expect: "Password of root: ", answer: "{{ secrets.root_password }}"}
    timeout: 30s
    until: {interval: 2s, timeout: 1m}
    expect:
      exit: 0
      stdout: {contains: [User root created, root], not_matches: "Error"}
      stderr: {json: {header.revision: 5}}
  - name: on all
    on: all
    as: root
    put: {path: /etc/x, content: "x", owner: etcd, group: etcd, mode: "0640"}
  - on: [dcs-02, dcs-01]
    get: {path: /etc/x, equals: x}
  - {on: dcs-00, wait_for_port: 2379}
  - {on: dcs-00, wait_for_unit: {unit: etcd, timeout: 2m}}
  - {on: dcs-00, reboot: true}
  - {on: dcs-00, relogin: }
  - {on: dcs-00, run: "false", expect: {exit: nonzero}}
)");
  EXPECT_EQ(sc.name, "full");
  EXPECT_EQ(sc.lab.name, "dcs");
  EXPECT_EQ(sc.requires_, std::vector<std::string>{"base"});
  EXPECT_EQ(sc.tags, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(sc.secrets.size(), 2u);
  EXPECT_EQ(sc.secrets[0].generate, 20);
  EXPECT_EQ(sc.secrets[1].env, "CI_TOKEN");
  ASSERT_EQ(sc.steps.size(), 8u);
  const Step& s0 = sc.steps[0];
  EXPECT_EQ(s0.line, 10);
  EXPECT_EQ(s0.on, std::vector<std::string>{"dcs-00"});
  EXPECT_EQ(s0.user, "tux");
  ASSERT_TRUE(std::holds_alternative<RunSpec>(s0.action));
  EXPECT_EQ(s0.name, "etcdctl --endpoints={{ vars.endpoint }} \\ ...");
  EXPECT_EQ(s0.timeout, std::chrono::seconds(30));
  ASSERT_TRUE(s0.until);
  EXPECT_EQ(s0.until->interval, std::chrono::seconds(2));
  EXPECT_EQ(s0.until->timeout, std::chrono::minutes(1));
  ASSERT_EQ(s0.prompts.size(), 1u);
  EXPECT_EQ(s0.prompts[0].answer, "{{ secrets.root_password }}");
  EXPECT_EQ(s0.expect.out.size(), 3u);
  EXPECT_EQ(s0.expect.err[0].json[0].first, "header.revision");
  const Step& s1 = sc.steps[1];
  EXPECT_EQ(s1.on, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"}));
  EXPECT_EQ(s1.user, "root");
  EXPECT_EQ(std::get<PutSpec>(s1.action).mode, 0640);
  EXPECT_EQ(std::get<PutSpec>(s1.action).owner, "etcd");
  EXPECT_EQ(sc.steps[2].on, (std::vector<std::string>{"dcs-02", "dcs-01"}));
  EXPECT_EQ(sc.steps[2].expect.out.size(), 1u);
  EXPECT_EQ(std::get<WaitForPortSpec>(sc.steps[3].action).port, 2379);
  EXPECT_EQ(std::get<WaitForUnitSpec>(sc.steps[4].action).unit, "etcd");
  EXPECT_EQ(std::get<WaitForUnitSpec>(sc.steps[4].action).timeout, std::chrono::minutes(2));
  EXPECT_TRUE(std::holds_alternative<RebootSpec>(sc.steps[5].action));
  EXPECT_TRUE(std::holds_alternative<ReloginSpec>(sc.steps[6].action));
  EXPECT_EQ(sc.steps[7].expect.exit.kind, ExitExpect::Kind::Nonzero);
}

// A step without `as:` logs in as the lab's login.user (tux unless the lab names another).
TEST(Scenario, AStepRunsAsTheLabsLoginUserUnlessAs) {
  const LabResolver ops_lab = [](const std::string&) {
    const fs::path p = kSource / "fixtures/labs/dcs.yaml";
    Lab lab = load_lab(p);
    lab.login.user = "ops";
    return std::make_pair(lab, p);
  };
  const Scenario sc = parse_scenario(R"(name: who
steps:
  - on: dcs-00
    run: id -un
  - on: dcs-00
    as: tux
    run: id -un
)",
                                     "s.yaml", ops_lab);
  ASSERT_EQ(sc.steps.size(), 2u);
  EXPECT_EQ(sc.steps[0].user, "ops");
  EXPECT_EQ(sc.steps[1].user, "tux");
}

TEST(Scenario, ErrorsHaveExactPositions) {
  EXPECT_EQ(error_of("name: x\nsteps:\n  - on: dcs-00\n    run: echo {{ node.addr }}\n"),
            "s.yaml:4:15: steps[0].run: unknown template name \"node.addr\" (valid: node.name, "
            "node.ip, node.fqdn, nodes.<dcs-00|dcs-01|dcs-02>.<name|ip|fqdn>, lab.name, "
            "lab.domain, lab.host, vars.* (none defined), secrets.* (none defined))");
  // Inside a quoted scalar, and on the third line of a literal block.
  EXPECT_EQ(error_of("steps:\n  - on: dcs-00\n    run: \"a {{ x }}\"\n").substr(0, 34),
            "s.yaml:3:13: steps[0].run: unknown");
  EXPECT_EQ(error_of("steps:\n  - on: dcs-00\n    run: |\n      a\n      b\n        c {{ vars.v }}\n")
                .substr(0, 34),
            "s.yaml:6:11: steps[0].run: unknown");
  EXPECT_EQ(error_of("steps: []\n"), "s.yaml:1:8: steps: expected a non-empty list of steps, found a list");
  EXPECT_EQ(error_of("name: x\n"), "s.yaml:1:1: steps: missing (required)");
  EXPECT_EQ(error_of("steps:\n  - run: x\n"),
            "s.yaml:2:5: steps[0].on: missing (required: a node, a list of nodes, or all)");
  EXPECT_EQ(error_of("steps:\n  - {on: dcs-00, run: x, until: {interval: 0s}}\n"),
            "s.yaml:2:44: steps[0].until.interval: \"0s\" is not a duration (valid: e.g. 500ms, "
            "30s, 2m, 1h, 1m30s)");
  EXPECT_NE(error_of("steps:\n  - {on: dcs-00, put: {path: /x, content: x}, until: {}}\n")
                .find("steps[0].until: only run and get steps repeat"),
            std::string::npos);
  EXPECT_NE(error_of("steps:\n  - {on: dcs-00, as: Root!, run: x}\n").find("is not a user name"),
            std::string::npos);
  EXPECT_NE(error_of("secrets: {pw: {generate: 2}}\nsteps:\n  - {on: dcs-00, run: x}\n")
                .find("s.yaml:1:26: secrets.pw.generate: 2 is out of range 8..4096"),
            std::string::npos);
  EXPECT_NE(error_of("steps:\n  - {on: dcs-00, run: x, expect: {stdout: {lines: x}}}\n")
                .find("steps[0].expect.stdout.lines: expected a list of lines"),
            std::string::npos);
  EXPECT_NE(error_of("steps: [\n").find("s.yaml:"), std::string::npos);
}

// `on:` takes the lab file's groups, alone, in a list, or in `except`.
TEST(Scenario, OnTakesTheLabsGroups) {
  const LabResolver patroni = [](const std::string&) {
    const fs::path p = kSource / "fixtures/labs/patroni.yaml";
    return std::make_pair(load_lab(p), p);
  };
  const Scenario sc = parse_scenario(
      "steps:\n  - {on: pg, run: x}\n  - {on: [dcs-01, pg], run: x}\n"
      "  - {on: {except: pg}, run: x}\n  - {on: all, run: x}\n  - {on: [pg-02, dcs], run: x}\n",
      "s.yaml", patroni);
  EXPECT_EQ(sc.steps[0].on, (std::vector<std::string>{"pg-00", "pg-01", "pg-02"}));
  EXPECT_EQ(sc.steps[1].on, (std::vector<std::string>{"dcs-01", "pg-00", "pg-01", "pg-02"}));
  EXPECT_EQ(sc.steps[2].on, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"}));
  EXPECT_EQ(sc.steps[3].on.size(), 6u);
  EXPECT_EQ(sc.steps[4].on, (std::vector<std::string>{"pg-02", "dcs-00", "dcs-01", "dcs-02"}));
  try {
    parse_scenario("steps:\n  - {on: [pg, pg-01], run: x}\n", "s.yaml", patroni);
    ADD_FAILURE() << "no error";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()), "s.yaml:2:15: steps[0].on[1]: node \"pg-01\" is listed twice");
  }
  try {
    parse_scenario("steps:\n  - {on: pgs, run: x}\n", "s.yaml", patroni);
    ADD_FAILURE() << "no error";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()),
              "s.yaml:2:10: steps[0].on: unknown node \"pgs\" (valid: all, dcs, pg, dcs-00, dcs-01, "
              "dcs-02, pg-00, pg-01, pg-02)");
  }
  // The seed's lab has the group dcs: the seed's scenarios say on: dcs.
  EXPECT_EQ(parse("steps:\n  - {on: dcs, run: x}\n").steps[0].on.size(), 3u);
}

// A scenario that names no lab runs on the lab of the scenario that requires it (the
// seed under scenarios/patroni/); one that names a lab keeps it.
TEST(Scenario, ANamelessLabIsTheRequirersLab) {
  const fs::path base = kSource / "fixtures/scenarios/base.yaml";
  const fs::path patroni = kSource / "fixtures/labs/patroni.yaml";
  EXPECT_EQ(default_lab_resolver(base, std::nullopt, patroni)("").first.name, "patroni");
  EXPECT_EQ(default_lab_resolver(base, std::nullopt, patroni)("fixtures/labs/dcs.yaml").first.name, "dcs");
  EXPECT_EQ(default_lab_resolver(base, std::nullopt)("").first.name, "dcs");
  EXPECT_EQ(load_scenario(base).lab.name, "dcs");
}

TEST(Scenario, LabErrorsPointAtTheLabKey) {
  try {
    load_scenario(kSource / "fixtures/scenarios/failing.yaml", fs::path("/nonexistent/lab.yaml"));
    FAIL() << "no error";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/lab.yaml: cannot read lab file"),
              std::string::npos);
  }
  const fs::path dir = fs::temp_directory_path() / "dcslab-scenario-test";
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << "lab: nope.yaml\nsteps:\n  - {on: dcs-00, run: x}\n";
  try {
    load_scenario(dir / "s.yaml");
    FAIL() << "no error";
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "s.yaml").string() + ":1:6: lab: ", 0), 0u) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Scenario, PutFromReadsTheLocalFileVerbatim) {
  const fs::path dir = fs::temp_directory_path() / "dcslab-scenario-from";
  fs::create_directories(dir);
  std::ofstream(dir / "etcd.conf") << "ETCD_NAME='{{ not a template }}'\n";
  std::ofstream(dir / "s.yaml") << "steps:\n  - {on: dcs-00, put: {path: /etc/dcs/etcd, from: etcd.conf}}\n";
  const Scenario sc = parse_scenario("steps:\n  - {on: dcs-00, put: {path: /etc/dcs/etcd, from: etcd.conf}}\n",
                                     dir / "s.yaml", test_lab());
  EXPECT_EQ(sc.name, "s");  // the file's stem
  EXPECT_EQ(std::get<PutSpec>(sc.steps[0].action).content, "ETCD_NAME='{{ not a template }}'\n");
  EXPECT_FALSE(std::get<PutSpec>(sc.steps[0].action).content_is_template);
  fs::remove_all(dir);
}

// Every fixtures/bad/scenario-*.yaml announces its error in its first line:
// "# expect-error: :LINE:COL: key: message-prefix".
TEST(Scenario, BadFixturesEachGiveTheirError) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "fixtures/bad")) {
    const auto name = entry.path().filename().string();
    if (name.rfind("scenario-", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    const std::string tag = "# expect-error: ";
    ASSERT_EQ(first.rfind(tag, 0), 0u) << name << " lacks an expect-error line";
    const std::string expected = entry.path().string() + first.substr(tag.size());
    try {
      load_scenario(entry.path());
      ADD_FAILURE() << name << " loaded without error";
    } catch (const BadInput& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u)
          << name << "\n  got:      " << e.what() << "\n  expected: " << expected << "...";
    }
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

// Every scenario in the tree, in subfolders too (scenarios/seed/...): a shipped scenario
// that stops loading (as a backreference did when `matches` became RE2) fails here.
TEST(Scenario, ShippedScenariosLoad) {
  int loaded = 0;
  for (const auto& dir : {kSource / "scenarios", kSource / "fixtures/scenarios",
                          kSource / "fixtures/e2e"})
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().extension() == ".yaml") {
        try {
          load_scenario(e.path());
        } catch (const std::exception& x) {
          ADD_FAILURE() << x.what();
        }
        ++loaded;
      }
  EXPECT_GE(loaded, 25);
  // The seed, faults and upgrades run on the etcd members, on any lab with a dcs group.
  const Scenario install = load_scenario(kSource / "scenarios/seed/10-install.yaml",
                                         kSource / "fixtures/labs/patroni.yaml");
  for (const auto& st : install.steps)
    EXPECT_EQ(st.on, (std::vector<std::string>{"dcs-00", "dcs-01", "dcs-02"})) << st.name;
}

}  // namespace
}  // namespace dcslab
