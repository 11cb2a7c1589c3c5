#include "scenario/actions/pg.h"

#include <algorithm>
#include <regex>

#include "base/text.h"
#include "scenario/step_parser.h"

namespace dcslab {

namespace {

// A PostgreSQL writer's name: new for start, one started earlier in the file otherwise.
std::string pg_writer_name(StepParser& p, const YAML::Node& v, const std::string& key, bool starting) {
  const Reader& r = p.reader();
  auto& writers = p.pg_writers();
  const std::string name = r.scalar(v, key, "a PostgreSQL writer's name");
  if (!valid_identifier(name))
    r.fail(v, key, "\"" + name + "\" is not a valid name (letters, digits, '_', '-')");
  const bool known = std::find(writers.begin(), writers.end(), name) != writers.end();
  if (starting && known)
    r.fail(v, key, "pg_writer \"" + name + "\" is already started in this scenario (one history per name)");
  if (!starting && !known)
    r.fail(v, key, "no pg_writer \"" + name + "\" started before this step (valid: " +
                       (writers.empty() ? std::string("none yet") : join(writers, ", ")) + ")");
  if (starting) writers.push_back(name);
  return name;
}

}  // namespace

PgWriterSpec PgWriterSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step&) {
  const Reader& r = p.reader();
  PgWriterSpec w;
  if (!a.IsMap())
    r.fail(a, ak, "expected {start: NAME, hosts: ...} or {stop: NAME}, found " + yaml_kind(a));
  if (a["stop"] && a["start"])
    r.fail(a["stop"], ak + ".stop", "give start: NAME or stop: NAME, not both");
  if (a["stop"]) {
    r.expect_map(a, ak, {"stop"});
    w.op = Op::Stop;
    w.name = pg_writer_name(p, a["stop"], ak + ".stop", false);
    return w;
  }
  r.expect_map(a, ak, {"start", "hosts", "port", "database", "user", "password", "table",
                       "interval", "timeout", "synchronous", "roles", "patroni_port",
                       "role_interval"});
  if (!a["start"]) r.fail(a, ak + ".start", "missing (give start: NAME or stop: NAME)");
  w.op = Op::Start;
  w.name = pg_writer_name(p, a["start"], ak + ".start", true);
  if (!a["hosts"]) r.fail(a, ak + ".hosts", "missing (required: the PostgreSQL nodes, e.g. pg)");
  w.hosts = p.nodes(a["hosts"], ak + ".hosts");
  if (const YAML::Node x = a["port"]) w.port = r.integer(x, ak + ".port", 1, 65535);
  if (const YAML::Node x = a["database"]) w.database = p.tmpl(x, ak + ".database");
  if (const YAML::Node x = a["user"]) w.user = p.tmpl(x, ak + ".user");
  if (const YAML::Node x = a["password"]) w.password = p.tmpl(x, ak + ".password");
  if (const YAML::Node x = a["table"]) {
    w.table = r.scalar(x, ak + ".table", "a table name");
    // As PgWriter::valid_table_name (pg/ is not this layer's to include): the name goes
    // into the writer's SQL unquoted.
    static const std::regex plain("[a-z_][a-z0-9_]*");
    if (!std::regex_match(w.table, plain))
      r.fail(x, ak + ".table", "\"" + w.table + "\" is not a plain lower-case identifier ([a-z_][a-z0-9_]*)");
  }
  if (const YAML::Node x = a["interval"]) {
    w.interval = r.duration(x, ak + ".interval");
    if (w.interval < std::chrono::milliseconds(10)) r.fail(x, ak + ".interval", "at least 10ms");
  }
  if (const YAML::Node x = a["timeout"]) {
    w.timeout = r.duration(x, ak + ".timeout");
    if (w.timeout < std::chrono::milliseconds(100)) r.fail(x, ak + ".timeout", "at least 100ms");
  }
  if (const YAML::Node x = a["synchronous"]) w.synchronous = r.boolean(x, ak + ".synchronous");
  if (const YAML::Node x = a["roles"]) w.roles = r.boolean(x, ak + ".roles");
  if (const YAML::Node x = a["patroni_port"]) w.patroni_port = r.integer(x, ak + ".patroni_port", 1, 65535);
  if (const YAML::Node x = a["role_interval"]) {
    w.role_interval = r.duration(x, ak + ".role_interval");
    if (w.role_interval < std::chrono::milliseconds(50)) r.fail(x, ak + ".role_interval", "at least 50ms");
  }
  return w;
}
std::string PgWriterSpec::default_name() const {
  return "pg_writer " + name + (op == Op::Start ? " starts" : " stops");
}

CheckPgWritesSpec CheckPgWritesSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak,
                                           Step&) {
  const Reader& r = p.reader();
  CheckPgWritesSpec c;
  if (a.IsScalar()) {
    c.name = pg_writer_name(p, a, ak, false);
    return c;
  }
  if (!a.IsMap())
    r.fail(a, ak, "expected a pg_writer's name or {name, timeout, max_unavailable, max_lost}, found " + yaml_kind(a));
  r.expect_map(a, ak, {"name", "timeout", "max_unavailable", "max_lost"});
  if (!a["name"]) r.fail(a, ak + ".name", "missing (required)");
  c.name = pg_writer_name(p, a["name"], ak + ".name", false);
  if (const YAML::Node x = a["timeout"]) c.timeout = r.duration(x, ak + ".timeout");
  if (const YAML::Node x = a["max_unavailable"]) c.max_unavailable = r.duration(x, ak + ".max_unavailable");
  if (const YAML::Node x = a["max_lost"]) c.max_lost = r.integer(x, ak + ".max_lost", 0, 1000000);
  return c;
}
std::string CheckPgWritesSpec::default_name() const { return "check_pg_writes " + name; }

}  // namespace dcslab
