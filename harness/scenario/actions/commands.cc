#include "scenario/actions/commands.h"

#include <sstream>

#include "base/file.h"
#include "scenario/step_parser.h"

namespace fs = std::filesystem;

namespace dcslab {

namespace {

// reboot: true, relogin: (nothing): no options.
void no_options(const Reader& r, const YAML::Node& a, const std::string& key) {
  if (!a.IsNull() && !(a.IsScalar() && (a.Scalar() == "true" || a.Scalar() == "yes")))
    r.fail(a, key, "expected true (or nothing), found " + yaml_kind(a));
}

}  // namespace

RunSpec RunSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key, Step&) {
  return RunSpec{p.tmpl(a, key)};
}
std::string RunSpec::default_name() const { return first_line(command); }

PutSpec PutSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key, Step&) {
  const Reader& r = p.reader();
  PutSpec put;
  r.expect_map(a, key, {"path", "content", "from", "owner", "group", "mode"});
  if (!a["path"]) r.fail(a, key + ".path", "missing (required)");
  put.path = p.tmpl(a["path"], key + ".path");
  if (a["content"] && a["from"]) r.fail(a["from"], key + ".from", "give content or from, not both");
  if (const YAML::Node c = a["content"]) {
    put.content = p.tmpl(c, key + ".content");
  } else if (const YAML::Node f = a["from"]) {
    fs::path file = r.scalar(f, key + ".from");
    if (file.is_relative()) file = r.file().parent_path() / file;
    auto content = read_file(file);
    if (!content) r.fail(f, key + ".from", "cannot read " + file.string());
    put.content = std::move(*content);
    put.content_is_template = false;
  } else {
    r.fail(a, key, "give content or from");
  }
  if (const YAML::Node o = a["owner"]) put.owner = p.tmpl(o, key + ".owner");
  if (const YAML::Node g = a["group"]) put.group = p.tmpl(g, key + ".group");
  if (const YAML::Node m = a["mode"]) put.mode = r.octal_mode(m, key + ".mode");
  return put;
}
std::string PutSpec::default_name() const { return "put " + path; }

// get: PATH | {path: PATH, <matchers of its content>}
GetSpec GetSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key, Step& st) {
  GetSpec get;
  if (a.IsScalar()) {
    get.path = p.tmpl(a, key);
  } else {
    const Reader& r = p.reader();
    if (!a.IsMap()) r.fail(a, key, "expected a path or {path, <matchers>}, found " + yaml_kind(a));
    if (!a["path"]) r.fail(a, key + ".path", "missing (required)");
    get.path = p.tmpl(a["path"], key + ".path");
    p.matchers(a, key, &st.expect.out, {"path"});
  }
  return get;
}
std::string GetSpec::default_name() const { return "get " + path; }

// wait_for_port: PORT | {port, host, timeout}
WaitForPortSpec WaitForPortSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key,
                                       Step&) {
  const Reader& r = p.reader();
  WaitForPortSpec w;
  if (a.IsScalar()) {
    w.port = r.integer(a, key, 1, 65535);
  } else {
    r.expect_map(a, key, {"port", "host", "timeout"});
    if (!a["port"]) r.fail(a, key + ".port", "missing (required)");
    w.port = r.integer(a["port"], key + ".port", 1, 65535);
    if (const YAML::Node h = a["host"]) w.host = p.tmpl(h, key + ".host");
    if (const YAML::Node t = a["timeout"]) w.timeout = r.duration(t, key + ".timeout");
  }
  return w;
}
std::string WaitForPortSpec::default_name() const { return "wait for port " + std::to_string(port); }

// wait_for_unit: UNIT | {unit, timeout}
WaitForUnitSpec WaitForUnitSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key,
                                       Step&) {
  const Reader& r = p.reader();
  WaitForUnitSpec w;
  if (a.IsScalar()) {
    w.unit = p.tmpl(a, key);
  } else {
    r.expect_map(a, key, {"unit", "timeout"});
    if (!a["unit"]) r.fail(a, key + ".unit", "missing (required)");
    w.unit = p.tmpl(a["unit"], key + ".unit");
    if (const YAML::Node t = a["timeout"]) w.timeout = r.duration(t, key + ".timeout");
  }
  return w;
}
std::string WaitForUnitSpec::default_name() const { return "wait for unit " + unit; }

RebootSpec RebootSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key, Step&) {
  no_options(p.reader(), a, key);
  return {};
}
std::string RebootSpec::default_name() const { return info.key; }

ReloginSpec ReloginSpec::parse(StepParser& p, const YAML::Node& a, const std::string& key, Step&) {
  no_options(p.reader(), a, key);
  return {};
}
std::string ReloginSpec::default_name() const { return info.key; }

}  // namespace dcslab
