// The pg_writer / check_pg_writes actions as the scenario loader reads them, against the
// Patroni lab (fixtures/labs/patroni.yaml: groups dcs and pg).
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/paths.h"
#include "lab/lab.h"
#include "scenario/scenario.h"

namespace dcslab {
namespace {

using namespace std::chrono_literals;

Scenario parse(const std::string& text) {
  return parse_scenario(text, "s.yaml", [](const std::string&) {
    const std::filesystem::path p = source_dir() / "fixtures/labs/patroni.yaml";
    return std::make_pair(load_lab(p), p);
  });
}
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ScenarioPg, DefaultsAndEveryOption) {
  const Scenario sc = parse(
      "secrets: {pw: {generate: 20}}\n"
      "steps:\n"
      "  - pg_writer: {start: p1, hosts: pg, password: \"{{ secrets.pw }}\"}\n"
      "  - pg_writer: {start: p2, hosts: [pg-02, pg-00], port: 5433, database: app, user: app,\n"
      "                table: t_1, interval: 50ms, timeout: 1s, synchronous: true, roles: false,\n"
      "                patroni_port: 8009, role_interval: 100ms}\n"
      "  - pg_writer: {stop: p2}\n"
      "  - check_pg_writes: p1\n"
      "  - check_pg_writes: {name: p2, timeout: 2m, max_unavailable: 30s, max_lost: 0}\n");
  ASSERT_EQ(sc.steps.size(), 5u);
  EXPECT_EQ(sc.steps[0].name, "pg_writer p1 starts");
  EXPECT_EQ(sc.steps[0].on, std::vector<std::string>{"dcs-00"});  // runs from dcslab
  const auto& a = std::get<PgWriterSpec>(sc.steps[0].action);
  EXPECT_EQ(a.hosts, (std::vector<std::string>{"pg-00", "pg-01", "pg-02"}));
  EXPECT_EQ(a.port, 5432);
  EXPECT_EQ(a.user, "postgres");
  EXPECT_EQ(a.database, "postgres");
  EXPECT_EQ(a.password, "{{ secrets.pw }}");
  EXPECT_EQ(a.table, "dcslab_writes");
  EXPECT_EQ(a.interval, 100ms);
  EXPECT_TRUE(a.roles);
  EXPECT_EQ(a.patroni_port, 8008);
  const auto& b = std::get<PgWriterSpec>(sc.steps[1].action);
  EXPECT_EQ(b.hosts, (std::vector<std::string>{"pg-02", "pg-00"}));
  EXPECT_EQ(b.port, 5433);
  EXPECT_EQ(b.database, "app");
  EXPECT_EQ(b.table, "t_1");
  EXPECT_EQ(b.interval, 50ms);
  EXPECT_EQ(b.timeout, 1s);
  EXPECT_TRUE(b.synchronous);
  EXPECT_FALSE(b.roles);
  EXPECT_EQ(b.patroni_port, 8009);
  EXPECT_EQ(b.role_interval, 100ms);
  EXPECT_EQ(std::get<PgWriterSpec>(sc.steps[2].action).op, PgWriterSpec::Op::Stop);
  const auto& c = std::get<CheckPgWritesSpec>(sc.steps[3].action);
  EXPECT_EQ(c.name, "p1");
  EXPECT_EQ(c.max_lost, -1);
  EXPECT_EQ(c.max_unavailable, 0ms);
  const auto& d = std::get<CheckPgWritesSpec>(sc.steps[4].action);
  EXPECT_EQ(d.timeout, 2min);
  EXPECT_EQ(d.max_unavailable, 30s);
  EXPECT_EQ(d.max_lost, 0);
  EXPECT_EQ(sc.steps[4].name, "check_pg_writes p2");
}

TEST(ScenarioPg, BadInputNamesFileLineAndKey) {
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1}\n"),
            "s.yaml:2:16: steps[0].pg_writer.hosts: missing (required: the PostgreSQL nodes, e.g. pg)");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pgs}\n").substr(0, 68),
            "s.yaml:2:35: steps[0].pg_writer.hosts: unknown node \"pgs\" (valid: al");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg, table: Bad}\n"),
            "s.yaml:2:46: steps[0].pg_writer.table: \"Bad\" is not a plain lower-case identifier "
            "([a-z_][a-z0-9_]*)");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg, interval: 1ms}\n"),
            "s.yaml:2:49: steps[0].pg_writer.interval: at least 10ms");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg, bogus: 1}\n").substr(0, 52),
            "s.yaml:2:39: steps[0].pg_writer.bogus: unknown key (");
  EXPECT_EQ(error_of("steps:\n  - check_pg_writes: p1\n"),
            "s.yaml:2:22: steps[0].check_pg_writes: no pg_writer \"p1\" started before this step "
            "(valid: none yet)");
  // An etcd writer's name is not a PostgreSQL writer's.
  EXPECT_EQ(error_of("steps:\n  - writer: {start: w1}\n  - check_pg_writes: w1\n"),
            "s.yaml:3:22: steps[1].check_pg_writes: no pg_writer \"w1\" started before this step "
            "(valid: none yet)");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg}\n  - pg_writer: {start: p1, hosts: pg}\n"),
            "s.yaml:3:24: steps[1].pg_writer.start: pg_writer \"p1\" is already started in this "
            "scenario (one history per name)");
  EXPECT_EQ(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg}\n"
                     "  - check_pg_writes: {name: p1, max_lost: -1}\n"),
            "s.yaml:3:43: steps[1].check_pg_writes.max_lost: expected an integer, found \"-1\"");
  EXPECT_NE(error_of("steps:\n  - pg_writer: {start: p1, hosts: pg}\n"
                     "  - {check_pg_writes: p1, expect: {exit: 0}}\n")
                .find("check_pg_writes judges the history itself"),
            std::string::npos);
}

}  // namespace
}  // namespace dcslab
