#include "scenario/actions/copy.h"

#include <set>

#include "base/text.h"
#include "scenario/step_parser.h"

namespace dcslab {

namespace {

// NODE:PATH; NODE a node's name (or a template), PATH absolute. The node ends at the
// first ':' outside a template.
CopySpec::Location location(const StepParser& p, const YAML::Node& v, const std::string& key) {
  const Reader& r = p.reader();
  const std::string s = p.tmpl(v, key);
  std::size_t colon = std::string::npos;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "{{") == 0) {
      const auto end = s.find("}}", i);
      if (end == std::string::npos) break;
      i = end + 1;
    } else if (s[i] == ':') {
      colon = i;
      break;
    }
  }
  if (colon == std::string::npos || colon == 0)
    r.fail(v, key, "expected NODE:/path (e.g. dcs-01:/etc/dcs/cert/dcs-01.csr), found \"" + s + "\"");
  CopySpec::Location loc{s.substr(0, colon), s.substr(colon + 1)};
  if (loc.node.find("{{") == std::string::npos && !p.lab().find_node(loc.node))
    r.fail(v, key, "unknown node \"" + loc.node + "\" (valid: " + join(p.lab().node_names(), ", ") + ")");
  if (loc.path.empty() || (loc.path[0] != '/' && loc.path.rfind("{{", 0) != 0))
    r.fail(v, key, "\"" + loc.path + "\" is not an absolute path on " + loc.node, colon + 1);
  return loc;
}

// A copy without `on` runs on its (first) source's node: a node's name, or vars.*
// templates resolved when the step runs (node.* would have no node to refer to).
void copy_on(const StepParser& p, const YAML::Node& a, const std::string& ak, const CopySpec& c,
             Step& st) {
  const std::string& node = c.from[0].node;
  if (node.find("{{") == std::string::npos) {
    st.on = {node};
    return;
  }
  const YAML::Node f = a["from"];
  const YAML::Node at = f.IsSequence() ? f[0] : f;
  for (const auto& ref : find_templates(node, nullptr, nullptr))
    if (ref.name.rfind("vars.", 0) != 0)
      p.reader().fail(at, ak + ".from" + (f.IsSequence() ? "[0]" : ""),
                      "without on, the source's node is the step's node: a node's name or vars.* "
                      "templates, found \"" + ref.name + "\" (or give on)",
                      ref.offset);
  st.on_template = node;
  st.on = p.lab().node_names();
}

}  // namespace

// copy: {from: NODE:PATH | [NODE:PATH, ...], to: NODE:PATH, mode, owner, group}
CopySpec CopySpec::parse(StepParser& p, const YAML::Node& a, const std::string& ak, Step& st) {
  const Reader& r = p.reader();
  CopySpec c;
  if (!a.IsMap())
    r.fail(a, ak, "expected {from: NODE:PATH, to: NODE:PATH, ...}, found " + yaml_kind(a));
  r.expect_map(a, ak, {"from", "to", "mode", "owner", "group"});
  const YAML::Node f = a["from"];
  if (!f) r.fail(a, ak + ".from", "missing (required: NODE:PATH, or a list of them)");
  if (!a["to"]) r.fail(a, ak + ".to", "missing (required: NODE:PATH, a folder if it ends in /)");
  if (f.IsSequence() && f.size() == 0) r.fail(f, ak + ".from", "no files (give NODE:PATH or a list of them)");
  const auto items = r.scalar_or_list(f, ak + ".from");
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < items.size(); ++i) {
    keys.push_back(f.IsSequence() ? ak + ".from[" + std::to_string(i) + "]" : ak + ".from");
    auto loc = location(p, items[i], keys.back());
    if (loc.path.back() == '/')
      r.fail(items[i], keys.back(), "\"" + loc.path + "\" is a folder: copy takes files (name each one)");
    c.from.push_back(std::move(loc));
  }
  c.to = location(p, a["to"], ak + ".to");
  const bool folder = c.to.path.back() == '/';
  if (c.from.size() > 1 && !folder)
    r.fail(a["to"], ak + ".to", "several files go to a folder: end the path with / (\"" +
                                    c.to.node + ":" + c.to.path + "/\")");
  if (folder) {
    // Two files of one name into one folder: the second would replace the first.
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.from.size(); ++i) {
      const std::string& path = c.from[i].path;
      const std::string base = path.substr(path.rfind('/') + 1);
      if (base.find("{{") == std::string::npos && !names.insert(base).second)
        r.fail(items[i], keys[i], "a second file named " + base + " for " + c.to.node + ":" +
                                      c.to.path + " (it would replace the first)");
    }
  }
  if (const YAML::Node m = a["mode"]) c.mode = r.octal_mode(m, ak + ".mode");
  if (const YAML::Node g = a["group"]) c.group = p.tmpl(g, ak + ".group");
  if (const YAML::Node o = a["owner"]) {
    c.owner = p.tmpl(o, ak + ".owner");
    // owner: USER:GROUP, as chown takes it.
    if (const auto colon = c.owner.find(':'); colon != std::string::npos) {
      if (a["group"])
        r.fail(o, ak + ".owner", "give owner: USER:GROUP or owner and group, not both");
      c.group = c.owner.substr(colon + 1);
      c.owner.resize(colon);
    }
    if (c.owner.empty()) r.fail(o, ak + ".owner", "no user (owner: USER or USER:GROUP)");
  }
  // Without `on` (the step's nodes are still none), the source's node.
  if (st.on.empty()) copy_on(p, a, ak, c, st);
  return c;
}

std::string CopySpec::default_name() const {
  return "copy " + from[0].node + ":" + from[0].path +
         (from.size() > 1 ? " and " + std::to_string(from.size() - 1) + " more" : "") + " to " +
         to.node + ":" + to.path;
}

}  // namespace dcslab
