#include "scenario/actions/writer.h"

#include <algorithm>

#include "base/text.h"
#include "scenario/step_parser.h"

namespace dcslab {

namespace {

// A writer's name: new for start, one started earlier in the file otherwise.
std::string writer_name(StepParser& p, const YAML::Node& v, const std::string& key, bool starting) {
  const Reader& r = p.reader();
  auto& writers = p.writers();
  const std::string name = r.scalar(v, key, "a writer's name");
  if (!valid_identifier(name))
    r.fail(v, key, "\"" + name + "\" is not a valid name (letters, digits, '_', '-')");
  const bool known = std::find(writers.begin(), writers.end(), name) != writers.end();
  if (starting && known)
    r.fail(v, key, "writer \"" + name + "\" is already started in this scenario (one history per name)");
  if (!starting && !known)
    r.fail(v, key, "no writer \"" + name + "\" started before this step (valid: " +
                       (writers.empty() ? std::string("none yet") : join(writers, ", ")) + ")");
  if (starting) writers.push_back(name);
  return name;
}

// tls: {ca, cert, key, sign_with}
void writer_tls(const StepParser& p, const YAML::Node& t, const std::string& tk, WriterSpec* w) {
  const Reader& r = p.reader();
  r.expect_map(t, tk, {"ca", "cert", "key", "sign_with"});
  if (const YAML::Node x = t["ca"]) w->ca = p.tmpl(x, tk + ".ca");
  if (t["cert"] || t["key"]) {
    if (!t["cert"]) r.fail(t, tk + ".cert", "missing (required with key)");
    if (!t["key"]) r.fail(t, tk + ".key", "missing (required with cert)");
    if (t["sign_with"])
      r.fail(t["sign_with"], tk + ".sign_with",
             "give cert/key (a client certificate) or sign_with (a CA key to make one), not both");
    w->cert = p.tmpl(t["cert"], tk + ".cert");
    w->key = p.tmpl(t["key"], tk + ".key");
    w->sign_with.clear();
  }
  if (const YAML::Node x = t["sign_with"]) w->sign_with = p.tmpl(x, tk + ".sign_with");
}

}  // namespace

// writer: {start: NAME, <options>} | {stop: NAME}
WriterSpec WriterSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step&) {
  const Reader& r = p.reader();
  WriterSpec w;
  if (!a.IsMap())
    r.fail(a, ak, "expected {start: NAME, ...} or {stop: NAME}, found " + yaml_kind(a));
  if (a["stop"] && a["start"])
    r.fail(a["stop"], ak + ".stop", "give start: NAME or stop: NAME, not both");
  if (a["stop"]) {
    r.expect_map(a, ak, {"stop"});
    w.op = WriterSpec::Op::Stop;
    w.name = writer_name(p, a["stop"], ak + ".stop", false);
    return w;
  }
  r.expect_map(a, ak, {"start", "endpoints", "port", "interval", "keys", "reads", "cas", "prefix",
                       "user", "password", "timeout", "tls"});
  if (!a["start"]) r.fail(a, ak + ".start", "missing (give start: NAME or stop: NAME)");
  w.op = WriterSpec::Op::Start;
  w.name = writer_name(p, a["start"], ak + ".start", true);
  if (const YAML::Node e = a["endpoints"]) w.endpoints = p.nodes(e, ak + ".endpoints");
  else w.endpoints = p.lab().node_names();
  if (const YAML::Node x = a["port"]) w.port = r.integer(x, ak + ".port", 1, 65535);
  if (const YAML::Node x = a["interval"]) {
    w.interval = r.duration(x, ak + ".interval");
    if (w.interval < std::chrono::milliseconds(10)) r.fail(x, ak + ".interval", "at least 10ms");
  }
  if (const YAML::Node x = a["keys"]) w.keys = r.integer(x, ak + ".keys", 1, 10000);
  if (const YAML::Node x = a["reads"]) w.reads = r.boolean(x, ak + ".reads");
  if (const YAML::Node x = a["cas"]) w.cas = r.fraction(x, ak + ".cas");
  if (const YAML::Node x = a["prefix"]) {
    w.prefix = p.tmpl(x, ak + ".prefix");
    if (w.prefix.empty()) r.fail(x, ak + ".prefix", "must not be empty");
  }
  if (const YAML::Node x = a["user"]) w.user = p.tmpl(x, ak + ".user");
  if (const YAML::Node x = a["password"]) w.password = p.tmpl(x, ak + ".password");
  if (a["user"] && !a["password"]) r.fail(a, ak + ".password", "missing (required with user)");
  if (a["password"] && !a["user"]) r.fail(a, ak + ".user", "missing (required with password)");
  if (const YAML::Node x = a["timeout"]) w.request_timeout = r.duration(x, ak + ".timeout");
  if (const YAML::Node t = a["tls"]) writer_tls(p, t, ak + ".tls", &w);
  return w;
}
std::string WriterSpec::default_name() const {
  return "writer " + name + (op == Op::Start ? " starts" : " stops");
}

// watcher: {start: NAME, writer: W, endpoints, idle, timeout} | {stop: NAME}
WatcherSpec WatcherSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step&) {
  const Reader& r = p.reader();
  WatcherSpec w;
  if (!a.IsMap())
    r.fail(a, ak, "expected {start: NAME, writer: W, ...} or {stop: NAME}, found " + yaml_kind(a));
  if (a["stop"] && a["start"])
    r.fail(a["stop"], ak + ".stop", "give start: NAME or stop: NAME, not both");
  auto& watchers = p.watchers();
  if (a["stop"]) {
    r.expect_map(a, ak, {"stop"});
    w.op = WatcherSpec::Op::Stop;
    w.name = r.scalar(a["stop"], ak + ".stop", "a watcher's name");
    if (!watchers.count(w.name))
      r.fail(a["stop"], ak + ".stop", "no watcher \"" + w.name + "\" started before this step");
    return w;
  }
  r.expect_map(a, ak, {"start", "writer", "endpoints", "idle", "timeout"});
  if (!a["start"]) r.fail(a, ak + ".start", "missing (give start: NAME or stop: NAME)");
  w.name = r.scalar(a["start"], ak + ".start", "a watcher's name");
  if (!valid_identifier(w.name))
    r.fail(a["start"], ak + ".start", "\"" + w.name + "\" is not a valid name (letters, digits, '_', '-')");
  if (watchers.count(w.name))
    r.fail(a["start"], ak + ".start", "watcher \"" + w.name + "\" is already started in this scenario");
  if (!a["writer"]) r.fail(a, ak + ".writer", "missing (the writer whose keys it watches)");
  w.writer = writer_name(p, a["writer"], ak + ".writer", false);
  if (const YAML::Node e = a["endpoints"]) w.endpoints = p.nodes(e, ak + ".endpoints");
  else w.endpoints = p.lab().node_names();
  if (const YAML::Node x = a["idle"]) {
    w.idle = r.duration(x, ak + ".idle");
    if (w.idle < std::chrono::milliseconds(100)) r.fail(x, ak + ".idle", "at least 100ms");
  }
  if (const YAML::Node x = a["timeout"]) w.request_timeout = r.duration(x, ak + ".timeout");
  watchers[w.name] = w.writer;
  return w;
}
std::string WatcherSpec::default_name() const {
  return "watcher " + name + (op == Op::Start ? " starts" : " stops");
}

// check_writes: NAME | {name: NAME, timeout: 1m, model: linearizable, budget: 60s}
CheckWritesSpec CheckWritesSpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak,
                                       Step&) {
  const Reader& r = p.reader();
  CheckWritesSpec c;
  if (a.IsScalar()) {
    c.name = writer_name(p, a, ak, false);
    return c;
  }
  if (!a.IsMap())
    r.fail(a, ak, "expected a writer's name or {name, timeout, model, budget}, found " + yaml_kind(a));
  r.expect_map(a, ak, {"name", "timeout", "model", "budget"});
  if (!a["name"]) r.fail(a, ak + ".name", "missing (required)");
  c.name = writer_name(p, a["name"], ak + ".name", false);
  if (const YAML::Node x = a["timeout"]) c.timeout = r.duration(x, ak + ".timeout");
  if (const YAML::Node x = a["model"]) {
    const std::string m = r.scalar(x, ak + ".model", "a consistency model");
    if (m != "linearizable") r.fail(x, ak + ".model", "\"" + m + "\" (valid: linearizable)");
    c.model = CheckWritesSpec::Model::Linearizable;
  }
  if (const YAML::Node x = a["budget"]) {
    if (!a["model"]) r.fail(x, ak + ".budget", "a budget is the linearizability checker's: give model: linearizable too");
    // A duration is never 0 here ("no limit" for the CLI): a run must end.
    c.budget = r.duration(x, ak + ".budget");
  }
  return c;
}
std::string CheckWritesSpec::default_name() const { return "check_writes " + name; }

}  // namespace dcslab
