#include "scenario/template.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "base/text.h"

namespace dcslab {

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

bool node_field(const std::string& f) { return f == "name" || f == "ip" || f == "fqdn"; }

std::string node_value(const Lab& lab, const Node& n, const std::string& field) {
  if (field == "name") return n.name;
  if (field == "ip") return n.ip.str();
  if (n.fqdn.empty()) return n.name + "." + lab.network.domain;
  return n.fqdn;
}

std::string valid_names(const TemplateScope& scope) {
  std::string s = "node.name, node.ip, node.fqdn";
  if (scope.lab) s += ", nodes.<" + join(scope.lab->node_names(), "|") + ">.<name|ip|fqdn>";
  s += ", lab.name, lab.domain, lab.host";
  if (scope.allow_vars)
    s += scope.vars.empty() ? ", vars.* (none defined)" : ", vars.<" + join(scope.vars, "|") + ">";
  s += scope.secrets.empty() ? ", secrets.* (none defined)"
                             : ", secrets.<" + join(scope.secrets, "|") + ">";
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<TemplateRef> find_templates(const std::string& text, std::string* error,
                                        std::size_t* error_offset) {
  std::vector<TemplateRef> refs;
  std::size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string::npos) {
    const auto close = text.find("}}", pos + 2);
    if (close == std::string::npos) {
      if (error) *error = "\"{{\" without a closing \"}}\"";
      if (error_offset) *error_offset = pos;
      return refs;
    }
    std::string inner = text.substr(pos + 2, close - pos - 2);
    const auto b = inner.find_first_not_of(" \t");
    const auto e = inner.find_last_not_of(" \t");
    inner = b == std::string::npos ? "" : inner.substr(b, e - b + 1);
    if (inner.empty() || !std::all_of(inner.begin(), inner.end(), name_char)) {
      if (error) *error = "\"" + text.substr(pos, close + 2 - pos) + "\" is not a template name";
      if (error_offset) *error_offset = pos;
      return refs;
    }
    refs.push_back({pos, close + 2 - pos, inner});
    pos = close + 2;
  }
  return refs;
}

std::optional<std::string> check_templates(const std::string& text, const TemplateScope& scope,
                                           std::size_t* offset) {
  std::string error;
  std::size_t err_at = 0;
  const auto refs = find_templates(text, &error, &err_at);
  if (!error.empty()) {
    if (offset) *offset = err_at;
    return error;
  }
  for (const auto& r : refs) {
    const auto p = split_dots(r.name);
    bool ok = false;
    if (p.size() == 2 && p[0] == "node") ok = node_field(p[1]);
    else if (p.size() == 3 && p[0] == "nodes")
      ok = scope.lab && scope.lab->find_node(p[1]) && node_field(p[2]);
    else if (p.size() == 2 && p[0] == "lab") ok = p[1] == "name" || p[1] == "domain" || p[1] == "host";
    else if (p.size() == 2 && p[0] == "vars") ok = scope.allow_vars && contains(scope.vars, p[1]);
    else if (p.size() == 2 && p[0] == "secrets") ok = contains(scope.secrets, p[1]);
    if (!ok) {
      if (offset) *offset = r.offset;
      std::string why = "unknown template name \"" + r.name + "\"";
      if (p[0] == "vars" && !scope.allow_vars) why = "vars cannot refer to vars (\"" + r.name + "\")";
      return why + " (valid: " + valid_names(scope) + ")";
    }
  }
  return std::nullopt;
}

std::string expand_templates(const std::string& text, const TemplateValues& values,
                             const std::function<std::string(const std::string&)>& escape) {
  std::string error;
  const auto refs = find_templates(text, &error, nullptr);
  if (!error.empty()) throw BadInput(error);
  if (refs.empty()) return text;
  std::string out;
  std::size_t at = 0;
  for (const auto& r : refs) {
    out += text.substr(at, r.offset - at);
    at = r.offset + r.length;
    const auto p = split_dots(r.name);
    std::optional<std::string> v;
    const Lab* lab = values.lab;
    if (p.size() == 2 && p[0] == "node" && values.node && lab && node_field(p[1])) {
      v = node_value(*lab, *values.node, p[1]);
    } else if (p.size() == 3 && p[0] == "nodes" && lab && node_field(p[2])) {
      if (const Node* n = lab->find_node(p[1])) v = node_value(*lab, *n, p[2]);
    } else if (p.size() == 2 && p[0] == "lab" && lab) {
      if (p[1] == "name") v = lab->name;
      else if (p[1] == "domain") v = lab->network.domain;
      else if (p[1] == "host") v = lab->network.host.str();
    } else if (p.size() == 2 && p[0] == "vars" && values.vars) {
      if (auto it = values.vars->find(p[1]); it != values.vars->end()) {
        // A var may hold templates of its own (not vars: checked at load).
        TemplateValues inner = values;
        inner.vars = nullptr;
        v = expand_templates(it->second, inner);
      } else if (values.captured) {
        auto c = values.captured->find(p[1]);
        if (c == values.captured->end())
          throw BadInput("\"" + r.name + "\" has no value here: the step that captures it did " +
                         "not pass (or ran on other nodes)");
        v = c->second;
      }
    } else if (p.size() == 2 && p[0] == "secrets" && values.secrets) {
      if (auto it = values.secrets->find(p[1]); it != values.secrets->end()) v = it->second;
    }
    if (!v) throw BadInput("unknown template name \"" + r.name + "\"");
    out += escape ? escape(*v) : *v;
  }
  out += text.substr(at);
  return out;
}

}  // namespace dcslab
