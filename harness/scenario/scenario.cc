#include "scenario/scenario.h"
#include "base/paths.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "lab/consistent_snapshot.h"
#include "base/error.h"

namespace fs = std::filesystem;

namespace dcslab {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  static const std::regex part(R"((\d{1,7})(ms|s|m|h))");
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  auto it = std::sregex_iterator(text.begin(), text.end(), part);
  std::size_t consumed = 0;
  for (; it != std::sregex_iterator(); ++it) {
    if (static_cast<std::size_t>(it->position()) != consumed) return std::nullopt;
    consumed += it->length();
    const long long n = std::stoll((*it)[1]);
    const std::string unit = (*it)[2];
    if (unit == "ms") total += std::chrono::milliseconds(n);
    else if (unit == "s") total += std::chrono::seconds(n);
    else if (unit == "m") total += std::chrono::minutes(n);
    else total += std::chrono::hours(n);
  }
  if (consumed != text.size()) return std::nullopt;
  return total;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3600000 == 0 && ms) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Run: return "run";
    case Action::Put: return "put";
    case Action::Get: return "get";
    case Action::WaitForPort: return "wait_for_port";
    case Action::WaitForUnit: return "wait_for_unit";
    case Action::Reboot: return "reboot";
    case Action::Relogin: return "relogin";
    case Action::PkiIssue: return "pki_issue";
    case Action::ExpectTls: return "expect_tls";
    case Action::Writer: return "writer";
    case Action::CheckWrites: return "check_writes";
    case Action::Fault: return "fault";
    case Action::Copy: return "copy";
  }
  return "?";
}

namespace {

const std::vector<std::string> kActions = {"run",           "put",           "get",
                                           "copy",          "wait_for_port", "wait_for_unit",
                                           "reboot",        "relogin",       "pki_issue",
                                           "expect_tls",    "writer",        "check_writes",
                                           "fault"};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Null: return "nothing";
    default: return "an undefined value";
  }
}

std::string join_key(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "." + b;
}

// Reads a scenario document; every error names file:line:column and the key path.
// Positions of templates inside a scalar are exact for single-line and literal (|)
// scalars, which is where commands live.
class Reader {
 public:
  Reader(fs::path file, const std::string& text) : file_(std::move(file)) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines_.push_back(line);
  }

  const fs::path& file() const { return file_; }

  std::string where(const YAML::Node& at, std::size_t offset = std::string::npos) const {
    const auto m = at.Mark();
    std::ostringstream s;
    s << file_.string();
    if (m.line < 0) return s.str();
    int line = m.line, col = m.column;
    if (offset != std::string::npos && at.IsScalar()) refine(at, offset, &line, &col);
    s << ':' << line + 1 << ':' << col + 1;
    return s.str();
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what,
                         std::size_t offset = std::string::npos) const {
    throw BadInput(where(at, offset) + ": " + key + ": " + what);
  }

  void expect_map(const YAML::Node& map, const std::string& key,
                  const std::vector<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, key, "expected a mapping, found " + kind(map));
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, key, "keys must be strings");
      const auto k = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        fail(kv.first, join_key(key, k), "unknown key (valid: " + join(allowed) + ")");
    }
  }

  std::string scalar(const YAML::Node& v, const std::string& key,
                     const std::string& expected = "a string") const {
    if (!v.IsScalar()) fail(v, key, "expected " + expected + ", found " + kind(v));
    return v.Scalar();
  }

  std::vector<YAML::Node> scalar_or_list(const YAML::Node& v, const std::string& key) const {
    std::vector<YAML::Node> items;
    if (v.IsScalar()) {
      items.push_back(v);
    } else if (v.IsSequence()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].IsScalar())
          fail(v[i], key + "[" + std::to_string(i) + "]",
               "expected a string, found " + kind(v[i]));
        items.push_back(v[i]);
      }
    } else {
      fail(v, key, "expected a string or a list of strings, found " + kind(v));
    }
    return items;
  }

  int integer(const YAML::Node& v, const std::string& key, int min, int max) const {
    const std::string s = scalar(v, key, "an integer");
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      fail(v, key, "expected an integer, found \"" + s + "\"");
    const int n = std::stoi(s);
    if (n < min || n > max)
      fail(v, key, std::to_string(n) + " is out of range " + std::to_string(min) + ".." +
                       std::to_string(max));
    return n;
  }

  bool boolean(const YAML::Node& v, const std::string& key) const {
    const std::string s = scalar(v, key, "true or false");
    if (s == "true" || s == "yes") return true;
    if (s == "false" || s == "no") return false;
    fail(v, key, "expected true or false, found \"" + s + "\"");
  }

  std::chrono::milliseconds duration(const YAML::Node& v, const std::string& key) const {
    const std::string s = scalar(v, key, "a duration");
    auto d = parse_duration(s);
    if (!d || d->count() == 0)
      fail(v, key, "\"" + s + "\" is not a duration (valid: e.g. 500ms, 30s, 2m, 1h, 1m30s)");
    return *d;
  }

  // A string whose templates must all be known in `scope`.
  std::string tmpl(const YAML::Node& v, const std::string& key, const TemplateScope& scope) const {
    const std::string s = scalar(v, key);
    std::size_t offset = 0;
    if (auto err = check_templates(s, scope, &offset)) fail(v, key, *err, offset);
    return s;
  }

 private:
  // Moves (line, col) from the scalar's start to `offset` inside it.
  void refine(const YAML::Node& at, std::size_t offset, int* line, int* col) const {
    const std::string& value = at.Scalar();
    if (*line >= static_cast<int>(lines_.size())) return;
    const std::string& src = lines_[*line];
    const char first = *col < static_cast<int>(src.size()) ? src[*col] : '\0';
    const std::string before = value.substr(0, std::min(offset, value.size()));
    const auto newlines = std::count(before.begin(), before.end(), '\n');
    if (first == '|') {
      // Literal block: content lines are source lines minus the block's indentation.
      int l = *line + 1;
      while (l < static_cast<int>(lines_.size()) &&
             lines_[l].find_first_not_of(' ') == std::string::npos)
        ++l;
      if (l >= static_cast<int>(lines_.size())) return;
      const auto indent = static_cast<int>(lines_[l].find_first_not_of(' '));
      const auto last_nl = before.rfind('\n');
      *line = *line + 1 + static_cast<int>(newlines);
      *col = indent + static_cast<int>(last_nl == std::string::npos ? offset
                                                                    : offset - last_nl - 1);
      return;
    }
    if (newlines != 0 || first == '>') return;  // folded: the start is the best we know
    const int quote = (first == '"' || first == '\'') ? 1 : 0;
    *col += quote + static_cast<int>(offset);
  }

  fs::path file_;
  std::vector<std::string> lines_;
};

bool valid_identifier(const std::string& s) {
  static const std::regex re(R"([A-Za-z_][A-Za-z0-9_-]*)");
  return std::regex_match(s, re);
}

bool valid_user(const std::string& s) {
  static const std::regex re(R"([a-z_][a-z0-9_-]{0,31})");
  return std::regex_match(s, re);
}

class Parser {
 public:
  Parser(const Reader& r, Scenario& sc) : r_(r), sc_(sc) {}

  void top(const YAML::Node& root, const LabResolver& resolve_lab) {
    if (!root.IsMap()) r_.fail(root, "(top level)", "expected a mapping with name and steps");
    r_.expect_map(root, "", {"name", "description", "lab", "requires", "from", "tags", "vars",
                             "secrets", "steps"});
    sc_.name = sc_.file.stem().string();
    if (const YAML::Node n = root["name"]) {
      sc_.name = r_.scalar(n, "name");
      static const std::regex re(R"([A-Za-z0-9][A-Za-z0-9._-]{0,63})");
      if (!std::regex_match(sc_.name, re))
        r_.fail(n, "name", "\"" + sc_.name + "\" must be letters, digits, '.', '_' and '-'");
    }
    if (const YAML::Node d = root["description"]) sc_.description = r_.scalar(d, "description");

    std::string lab_value;
    const YAML::Node lab_node = root["lab"];
    if (lab_node) lab_value = r_.scalar(lab_node, "lab");
    try {
      auto [lab, path] = resolve_lab(lab_value);
      sc_.lab = std::move(lab);
      sc_.lab_file = std::move(path);
    } catch (const BadInput& e) {
      if (!lab_node) throw;
      r_.fail(lab_node, "lab", e.what());
    }

    if (const YAML::Node req = root["requires"]) {
      const auto items = r_.scalar_or_list(req, "requires");
      for (std::size_t i = 0; i < items.size(); ++i) {
        std::string v = items[i].Scalar();
        const std::string key = "requires[" + std::to_string(i) + "]";
        const bool is_file = v.find('/') != std::string::npos || v.ends_with(".yaml") ||
                             v.ends_with(".yml");
        if (is_file) {
          fs::path p = v;
          if (p.is_relative()) p = sc_.file.parent_path() / p;
          if (!fs::exists(p)) r_.fail(items[i], key, "no such scenario file " + p.string());
          v = fs::absolute(p).lexically_normal().string();
        }
        sc_.requires_.push_back(v);
        sc_.requires_at.push_back(r_.where(items[i]) + ": " + key);
      }
    }
    if (const YAML::Node f = root["from"]) {
      sc_.from = r_.scalar(f, "from");
      if (!valid_snapshot_name(sc_.from))
        r_.fail(f, "from", "\"" + sc_.from +
                               "\" is not a lab state name (letters, digits, '.', '_' and '-', "
                               "at most 64, not starting with '-' or '.')");
    }
    if (const YAML::Node t = root["tags"])
      for (const auto& item : r_.scalar_or_list(t, "tags")) sc_.tags.push_back(item.Scalar());

    // Names first: templates anywhere may refer to any var or secret.
    if (const YAML::Node s = root["secrets"]) secrets(s);
    if (const YAML::Node v = root["vars"]) {
      if (!v.IsMap()) r_.fail(v, "vars", "expected a mapping of name: value, found " + kind(v));
      for (const auto& kv : v) {
        const std::string name = r_.scalar(kv.first, "vars");
        if (!valid_identifier(name))
          r_.fail(kv.first, "vars." + name, "not a valid name (letters, digits, '_', '-')");
        scope_.vars.push_back(name);
      }
    }
    scope_.lab = &sc_.lab;
    if (const YAML::Node v = root["vars"]) {
      TemplateScope inner = scope_;
      inner.allow_vars = false;
      for (const auto& kv : v) {
        const std::string name = kv.first.Scalar();
        sc_.vars[name] = r_.tmpl(kv.second, "vars." + name, inner);
      }
    }

    const YAML::Node steps = root["steps"];
    if (!steps) r_.fail(root, "steps", "missing (required)");
    if (!steps.IsSequence() || steps.size() == 0)
      r_.fail(steps, "steps", "expected a non-empty list of steps, found " + kind(steps));
    for (std::size_t i = 0; i < steps.size(); ++i)
      sc_.steps.push_back(step(steps[i], "steps[" + std::to_string(i) + "]"));
  }

 private:
  void secrets(const YAML::Node& s) {
    if (!s.IsMap()) r_.fail(s, "secrets", "expected a mapping of name: {generate: N} | {env: VAR}");
    for (const auto& kv : s) {
      const std::string name = r_.scalar(kv.first, "secrets");
      const std::string key = "secrets." + name;
      if (!valid_identifier(name))
        r_.fail(kv.first, key, "not a valid name (letters, digits, '_', '-')");
      r_.expect_map(kv.second, key, {"generate", "env"});
      SecretSpec spec;
      spec.name = name;
      if (kv.second["generate"] && kv.second["env"])
        r_.fail(kv.second, key, "give one of generate, env (not both)");
      if (const YAML::Node g = kv.second["generate"])
        spec.generate = r_.integer(g, key + ".generate", 8, 4096);
      else if (const YAML::Node e = kv.second["env"])
        spec.env = r_.scalar(e, key + ".env");
      else
        r_.fail(kv.second, key, "give one of generate, env (valid: generate, env)");
      sc_.secrets.push_back(spec);
      scope_.secrets.push_back(name);
    }
  }

  std::vector<std::string> on(const YAML::Node& v, const std::string& key) {
    std::vector<std::string> valid = {"all"};
    for (const auto& n : sc_.lab.node_names()) valid.push_back(n);
    if (v.IsScalar() && v.Scalar() == "all") return sc_.lab.node_names();
    std::vector<std::string> nodes;
    const auto items = r_.scalar_or_list(v, key);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string name = items[i].Scalar();
      const std::string k = v.IsSequence() ? key + "[" + std::to_string(i) + "]" : key;
      if (!sc_.lab.find_node(name))
        r_.fail(items[i], k, "unknown node \"" + name + "\" (valid: " + join(valid) + ")");
      if (std::find(nodes.begin(), nodes.end(), name) != nodes.end())
        r_.fail(items[i], k, "node \"" + name + "\" is listed twice");
      nodes.push_back(name);
    }
    if (nodes.empty()) r_.fail(v, key, "no nodes (valid: " + join(valid) + ")");
    return nodes;
  }

  void matchers(const YAML::Node& m, const std::string& key, std::vector<TextMatcher>* out,
                const std::vector<std::string>& extra_keys = {}) {
    if (!m.IsMap()) r_.fail(m, key, "expected a mapping of matchers, found " + kind(m));
    for (const auto& kv : m) {
      const std::string k = r_.scalar(kv.first, key);
      if (std::find(extra_keys.begin(), extra_keys.end(), k) != extra_keys.end()) continue;
      const std::string mk = join_key(key, k);
      TextMatcher proto;
      if (!parse_matcher_key(k, &proto.kind, &proto.negate)) {
        auto valid = extra_keys;
        for (const auto& x : matcher_keys()) valid.push_back(x);
        r_.fail(kv.first, mk, "unknown key (valid: " + join(valid) + ")");
      }
      const YAML::Node& v = kv.second;
      switch (proto.kind) {
        case TextMatcher::Kind::Lines: {
          if (!v.IsSequence()) r_.fail(v, mk, "expected a list of lines, found " + kind(v));
          TextMatcher t = proto;
          for (std::size_t i = 0; i < v.size(); ++i)
            t.lines.push_back(r_.tmpl(v[i], mk + "[" + std::to_string(i) + "]", scope_));
          out->push_back(std::move(t));
          break;
        }
        case TextMatcher::Kind::Json: {
          if (!v.IsMap()) r_.fail(v, mk, "expected a mapping of path: value, found " + kind(v));
          TextMatcher t = proto;
          for (const auto& pv : v) {
            const std::string path = r_.scalar(pv.first, mk);
            t.json.emplace_back(path, r_.tmpl(pv.second, mk + "." + path, scope_));
          }
          out->push_back(std::move(t));
          break;
        }
        default: {
          const auto items = r_.scalar_or_list(v, mk);
          for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string ik = v.IsSequence() ? mk + "[" + std::to_string(i) + "]" : mk;
            TextMatcher t = proto;
            t.text = r_.tmpl(items[i], ik, scope_);
            if (t.kind == TextMatcher::Kind::Matches) check_regex(items[i], ik, t.text);
            out->push_back(std::move(t));
          }
        }
      }
    }
  }

  // Compiled now, with every template blanked to a literal, so a broken regex is an
  // error at load; at run time the expanded values are regex-escaped.
  void check_regex(const YAML::Node& at, const std::string& key, const std::string& text) {
    std::string blanked;
    std::size_t pos = 0;
    for (const auto& ref : find_templates(text, nullptr, nullptr)) {
      blanked += text.substr(pos, ref.offset - pos) + "x";
      pos = ref.offset + ref.length;
    }
    blanked += text.substr(pos);
    try {
      std::regex re(blanked, std::regex::ECMAScript | std::regex::multiline);
    } catch (const std::regex_error& e) {
      r_.fail(at, key, "invalid regular expression /" + text + "/: " + e.what());
    }
  }

  void expectation(const YAML::Node& e, const std::string& key, Expectation* out) {
    r_.expect_map(e, key, {"exit", "stdout", "stderr"});
    if (const YAML::Node x = e["exit"]) {
      const std::string s = r_.scalar(x, key + ".exit", "an exit status");
      if (s == "nonzero") out->exit.kind = ExitExpect::Kind::Nonzero;
      else if (s == "any") out->exit.kind = ExitExpect::Kind::Any;
      else if (!s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string::npos &&
               std::stoi(s) <= 255)
        out->exit.code = std::stoi(s);
      else
        r_.fail(x, key + ".exit", "\"" + s + "\" is not an exit status (valid: 0..255, nonzero, any)");
    }
    if (const YAML::Node o = e["stdout"]) matchers(o, key + ".stdout", &out->out);
    if (const YAML::Node o = e["stderr"]) matchers(o, key + ".stderr", &out->err);
  }

  Step step(const YAML::Node& s, const std::string& key) {
    r_.expect_map(s, key, {"name", "on", "as", "run", "put", "get", "copy", "wait_for_port",
                           "wait_for_unit", "reboot", "relogin", "pki_issue", "expect_tls",
                           "writer", "check_writes", "fault", "capture", "when",
                           "env", "stdin", "prompts", "pty", "timeout", "until", "expect"});
    Step st;
    st.line = s.Mark().line + 1;
    // Exactly one action, so a reader knows what a step does at a glance.
    std::vector<std::pair<std::string, YAML::Node>> actions;
    for (const auto& kv : s) {
      const std::string k = kv.first.Scalar();
      if (std::find(kActions.begin(), kActions.end(), k) != kActions.end())
        actions.emplace_back(k, kv.first);
    }
    if (actions.empty())
      r_.fail(s, key, "no action; a step has exactly one of: " + join(kActions));
    if (actions.size() > 1)
      r_.fail(actions[1].second, key + "." + actions[1].first,
              "a second action (the step already has " + actions[0].first +
                  "); a step has exactly one of: " + join(kActions));
    const std::string act = actions[0].first;

    if (const YAML::Node n = s["name"]) st.name = r_.tmpl(n, key + ".name", scope_);
    const YAML::Node on_node = s["on"];
    // The writer talks to etcd from dcslab: `on` only names the node its files are read
    // from (the first node by default).
    // A fault on a named node needs no `on`.
    const bool fault_on_node = act == "fault" && s["fault"].IsMap() && s["fault"]["node"];
    if (!on_node && (act == "writer" || act == "check_writes"))
      st.on = {sc_.lab.node_names().front()};
    else if (!on_node && fault_on_node)
      st.on = sc_.lab.node_names();
    else if (!on_node && act == "copy")
      ;  // the source's node, once the copy is read (below)
    else if (!on_node)
      r_.fail(s, key + ".on", "missing (required: a node, a list of nodes, or all)");
    else if (on_node.IsScalar() && on_node.Scalar().find("{{") != std::string::npos)
      st.on_template = on_template(on_node, key + ".on", &st.on);
    else if (on_node.IsMap())
      on_except(on_node, key + ".on", &st);
    else
      st.on = on(on_node, key + ".on");
    if ((act == "writer" || act == "check_writes") && st.on.size() != 1)
      r_.fail(on_node, key + ".on", act + " runs once: give one node (whose files it reads)");
    if (const YAML::Node u = s["as"]) {
      st.user = r_.scalar(u, key + ".as");
      if (!valid_user(st.user)) r_.fail(u, key + ".as", "\"" + st.user + "\" is not a user name");
    }

    const YAML::Node a = s[act];
    const std::string ak = key + "." + act;
    if (act == "run") {
      st.action = Action::Run;
      st.run = r_.tmpl(a, ak, scope_);
      if (st.name.empty()) st.name = first_line(st.run);
    } else if (act == "put") {
      st.action = Action::Put;
      r_.expect_map(a, ak, {"path", "content", "from", "owner", "group", "mode"});
      if (!a["path"]) r_.fail(a, ak + ".path", "missing (required)");
      st.put.path = r_.tmpl(a["path"], ak + ".path", scope_);
      if (a["content"] && a["from"]) r_.fail(a["from"], ak + ".from", "give content or from, not both");
      if (const YAML::Node c = a["content"]) {
        st.put.content = r_.tmpl(c, ak + ".content", scope_);
      } else if (const YAML::Node f = a["from"]) {
        fs::path p = r_.scalar(f, ak + ".from");
        if (p.is_relative()) p = r_.file().parent_path() / p;
        std::ifstream in(p, std::ios::binary);
        if (!in) r_.fail(f, ak + ".from", "cannot read " + p.string());
        std::stringstream buf;
        buf << in.rdbuf();
        st.put.content = buf.str();
        st.put.content_is_template = false;
      } else {
        r_.fail(a, ak, "give content or from");
      }
      if (const YAML::Node o = a["owner"]) st.put.owner = r_.tmpl(o, ak + ".owner", scope_);
      if (const YAML::Node g = a["group"]) st.put.group = r_.tmpl(g, ak + ".group", scope_);
      if (const YAML::Node m = a["mode"]) {
        const std::string ms = r_.scalar(m, ak + ".mode", "an octal mode");
        static const std::regex re("0?[0-7]{3,4}");
        if (!std::regex_match(ms, re) || std::stoi(ms, nullptr, 8) > 07777)
          r_.fail(m, ak + ".mode", "\"" + ms + "\" is not an octal mode like 0640");
        st.put.mode = std::stoi(ms, nullptr, 8);
      }
      if (st.name.empty()) st.name = "put " + st.put.path;
    } else if (act == "get") {
      st.action = Action::Get;
      if (a.IsScalar()) {
        st.get_path = r_.tmpl(a, ak, scope_);
      } else {
        if (!a.IsMap()) r_.fail(a, ak, "expected a path or {path, <matchers>}, found " + kind(a));
        if (!a["path"]) r_.fail(a, ak + ".path", "missing (required)");
        st.get_path = r_.tmpl(a["path"], ak + ".path", scope_);
        matchers(a, ak, &st.expect.out, {"path"});
      }
      if (st.name.empty()) st.name = "get " + st.get_path;
    } else if (act == "wait_for_port") {
      st.action = Action::WaitForPort;
      if (a.IsScalar()) {
        st.wait.port = r_.integer(a, ak, 1, 65535);
      } else {
        r_.expect_map(a, ak, {"port", "host", "timeout"});
        if (!a["port"]) r_.fail(a, ak + ".port", "missing (required)");
        st.wait.port = r_.integer(a["port"], ak + ".port", 1, 65535);
        if (const YAML::Node h = a["host"]) st.wait.host = r_.tmpl(h, ak + ".host", scope_);
        if (const YAML::Node t = a["timeout"]) st.wait.timeout = r_.duration(t, ak + ".timeout");
      }
      if (st.name.empty()) st.name = "wait for port " + std::to_string(st.wait.port);
    } else if (act == "wait_for_unit") {
      st.action = Action::WaitForUnit;
      if (a.IsScalar()) {
        st.wait.unit = r_.tmpl(a, ak, scope_);
      } else {
        r_.expect_map(a, ak, {"unit", "timeout"});
        if (!a["unit"]) r_.fail(a, ak + ".unit", "missing (required)");
        st.wait.unit = r_.tmpl(a["unit"], ak + ".unit", scope_);
        if (const YAML::Node t = a["timeout"]) st.wait.timeout = r_.duration(t, ak + ".timeout");
      }
      if (st.name.empty()) st.name = "wait for unit " + st.wait.unit;
    } else if (act == "pki_issue") {
      st.action = Action::PkiIssue;
      pki_issue(a, ak, &st.pki);
      if (st.name.empty()) st.name = "pki_issue to " + st.pki.path;
    } else if (act == "expect_tls") {
      st.action = Action::ExpectTls;
      expect_tls(a, ak, &st.tls);
      if (st.name.empty())
        st.name = "expect_tls " + st.tls.host + ":" + std::to_string(st.tls.port) + " " +
                  (st.tls.handshake_ok ? "ok" : "fail");
    } else if (act == "writer" || act == "check_writes") {
      st.action = act == "writer" ? Action::Writer : Action::CheckWrites;
      if (act == "writer") writer(a, ak, &st.writer);
      else check_writes(a, ak, &st.writer);
      if (st.name.empty())
        st.name = (st.writer.op == WriterSpec::Op::Start  ? "writer " + st.writer.name + " starts"
                   : st.writer.op == WriterSpec::Op::Stop ? "writer " + st.writer.name + " stops"
                                                          : "check_writes " + st.writer.name);
    } else if (act == "copy") {
      st.action = Action::Copy;
      copy(a, ak, &st.copy);
      if (!on_node) copy_on(a, ak, &st);
      if (st.name.empty()) {
        const auto& c = st.copy;
        st.name = "copy " + c.from[0].node + ":" + c.from[0].path +
                  (c.from.size() > 1 ? " and " + std::to_string(c.from.size() - 1) + " more" : "") +
                  " to " + c.to.node + ":" + c.to.path;
      }
    } else if (act == "fault") {
      st.action = Action::Fault;
      fault(a, ak, st, &st.fault);
      if (st.name.empty())
        st.name = std::string(fault_name(st.fault.kind)) +
                  (st.fault.kind == FaultKind::Kill ? " " + st.fault.unit : "") +
                  (!st.fault.node.empty() ? " " + st.fault.node
                   : st.fault.pick_random ? " (random pick)"
                                          : "");
    } else {
      st.action = act == "reboot" ? Action::Reboot : Action::Relogin;
      if (!a.IsNull() && !(a.IsScalar() && (a.Scalar() == "true" || a.Scalar() == "yes")))
        r_.fail(a, ak, "expected true (or nothing), found " + kind(a));
      if (st.name.empty()) st.name = act;
    }

    if (const YAML::Node e = s["env"]) {
      if (!e.IsMap()) r_.fail(e, key + ".env", "expected a mapping of NAME: value, found " + kind(e));
      for (const auto& kv : e) {
        const std::string name = r_.scalar(kv.first, key + ".env");
        static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
        if (!std::regex_match(name, re))
          r_.fail(kv.first, key + ".env." + name, "not a valid environment variable name");
        st.env.emplace_back(name, r_.tmpl(kv.second, key + ".env." + name, scope_));
      }
    }
    if (const YAML::Node in = s["stdin"]) st.stdin_data = r_.tmpl(in, key + ".stdin", scope_);
    if (const YAML::Node p = s["prompts"]) {
      if (!p.IsSequence())
        r_.fail(p, key + ".prompts", "expected a list of {expect, answer}, found " + kind(p));
      for (std::size_t i = 0; i < p.size(); ++i) {
        const std::string pk = key + ".prompts[" + std::to_string(i) + "]";
        if (!p[i].IsMap())
          r_.fail(p[i], pk, "expected {expect: PROMPT, answer: TEXT}, found " + kind(p[i]));
        r_.expect_map(p[i], pk, {"expect", "answer"});
        if (!p[i]["expect"]) r_.fail(p[i], pk + ".expect", "missing (required)");
        if (!p[i]["answer"]) r_.fail(p[i], pk + ".answer", "missing (required)");
        Prompt pr;
        pr.expect = r_.tmpl(p[i]["expect"], pk + ".expect", scope_);
        pr.answer = r_.tmpl(p[i]["answer"], pk + ".answer", scope_);
        if (pr.expect.empty()) r_.fail(p[i]["expect"], pk + ".expect", "must not be empty");
        st.prompts.push_back(pr);
      }
    }
    if (const YAML::Node w = s["when"]) {
      const std::string text = r_.scalar(w, key + ".when", "a guard like \"etcd >= 3.5\"");
      VersionGuardError error;
      st.when = parse_version_guard(text, &error);
      if (!st.when) r_.fail(w, key + ".when", error.message, error.offset);
    }
    if (const YAML::Node p = s["pty"]) st.pty = r_.boolean(p, key + ".pty");
    if (const YAML::Node t = s["timeout"]) st.timeout = r_.duration(t, key + ".timeout");
    if (const YAML::Node u = s["until"]) {
      r_.expect_map(u, key + ".until", {"interval", "timeout"});
      Until until;
      if (const YAML::Node i = u["interval"]) until.interval = r_.duration(i, key + ".until.interval");
      if (const YAML::Node t = u["timeout"]) until.timeout = r_.duration(t, key + ".until.timeout");
      if (st.action != Action::Run && st.action != Action::Get && st.action != Action::ExpectTls)
        r_.fail(u, key + ".until",
                "only run and get steps repeat, and expect_tls (" + act + " waits by itself)");
      st.until = until;
    }
    if (const YAML::Node e = s["expect"]) {
      if (st.action == Action::Reboot || st.action == Action::Relogin ||
          st.action == Action::PkiIssue || st.action == Action::Writer ||
          st.action == Action::Fault || st.action == Action::Copy)
        r_.fail(e, key + ".expect", act + " has no output to expect anything of");
      if (st.action == Action::CheckWrites)
        r_.fail(e, key + ".expect", "check_writes judges the history itself (no lost, stale, unexplained or diverged writes)");
      if (st.action == Action::ExpectTls)
        r_.fail(e, key + ".expect", "expect_tls takes its expectation inside it (expect_tls.expect)");
      expectation(e, key + ".expect", &st.expect);
    }
    if (const YAML::Node c = s["capture"]) {
      if (st.action != Action::Run && st.action != Action::Fault)
        r_.fail(c, key + ".capture",
                "only run and fault steps capture (a run step's stdout, a fault step's nodes)");
      const std::string name = r_.scalar(c, key + ".capture", "a name");
      if (!valid_identifier(name))
        r_.fail(c, key + ".capture", "\"" + name + "\" is not a valid name (letters, digits, '_', '-')");
      if (sc_.vars.count(name))
        r_.fail(c, key + ".capture", "\"" + name + "\" is a var of this scenario (vars." + name +
                                         "); a capture takes a name of its own");
      st.capture = name;
      // Later steps may use it (this one may not: it has no value yet).
      if (std::find(scope_.vars.begin(), scope_.vars.end(), name) == scope_.vars.end())
        scope_.vars.push_back(name);
    }
    return st;
  }

  // `on:` as a template: only vars (captures, as a rule) may be in it, since no node is
  // known yet. The step's candidates are every node of the lab.
  std::string on_template(const YAML::Node& v, const std::string& key, std::vector<std::string>* on) {
    const std::string text = r_.tmpl(v, key, scope_);
    for (const auto& ref : find_templates(text, nullptr, nullptr))
      if (ref.name.rfind("vars.", 0) != 0)
        r_.fail(v, key,
                "only vars.* templates in on (the node is not known yet), found \"" + ref.name + "\"",
                ref.offset);
    *on = sc_.lab.node_names();
    return text;
  }

  // on: {except: NODE | [NODE...] | "{{ vars.x }}"}: every node of the lab but those.
  void on_except(const YAML::Node& v, const std::string& key, Step* st) {
    r_.expect_map(v, key, {"except"});
    const YAML::Node x = v["except"];
    if (!x) r_.fail(v, key + ".except", "missing (on: {except: NODE} is every node but NODE)");
    if (x.IsScalar() && x.Scalar().find("{{") != std::string::npos) {
      st->on_template = on_template(x, key + ".except", &st->on);
      st->on_except = true;
      return;
    }
    const auto but = on(x, key + ".except");
    for (const auto& n : sc_.lab.node_names())
      if (std::find(but.begin(), but.end(), n) == but.end()) st->on.push_back(n);
    if (st->on.empty()) r_.fail(x, key + ".except", "leaves no node");
  }

  // fault: KIND | {do: KIND, node: NODE | pick: random, count: N, unit: UNIT}
  void fault(const YAML::Node& a, const std::string& ak, const Step& st, FaultSpec* f) {
    const std::string valid = join(fault_names());
    if (!a.IsMap() && !a.IsScalar())
      r_.fail(a, ak, "expected a fault (" + valid + ") or {do: FAULT, ...}, found " + kind(a));
    if (a.IsMap()) {
      r_.expect_map(a, ak, {"do", "node", "pick", "count", "unit"});
      if (!a["do"]) r_.fail(a, ak + ".do", "missing (required: " + valid + ")");
    }
    const YAML::Node k = a.IsMap() ? a["do"] : a;
    const std::string kk = a.IsMap() ? ak + ".do" : ak;
    const std::string name = r_.scalar(k, kk, "a fault");
    const auto parsed = parse_fault_kind(name);
    if (!parsed) r_.fail(k, kk, "unknown fault \"" + name + "\" (valid: " + valid + ")");
    f->kind = *parsed;
    if (!a.IsMap()) {
      if (f->kind == FaultKind::Kill)
        r_.fail(a, ak, "kill needs the unit whose main process it kills: {do: kill, unit: etcd}");
      return;
    }
    if (const YAML::Node u = a["unit"]) {
      if (f->kind != FaultKind::Kill)
        r_.fail(u, ak + ".unit", "only kill takes a unit (this fault is " + name + ")");
      f->unit = r_.tmpl(u, ak + ".unit", scope_);
      if (f->unit.empty()) r_.fail(u, ak + ".unit", "must not be empty");
    } else if (f->kind == FaultKind::Kill) {
      r_.fail(a, ak + ".unit", "missing (required for kill: the systemd unit, e.g. etcd)");
    }
    if (a["node"] && a["pick"])
      r_.fail(a["pick"], ak + ".pick", "give node (that node) or pick (from the step's on), not both");
    if (const YAML::Node n = a["node"]) {
      f->node = r_.tmpl(n, ak + ".node", scope_);
      if (f->node.find("{{") == std::string::npos && !sc_.lab.find_node(f->node))
        r_.fail(n, ak + ".node", "unknown node \"" + f->node + "\" (valid: " +
                                     join(sc_.lab.node_names()) + ")");
    }
    if (const YAML::Node p = a["pick"]) {
      const std::string v = r_.scalar(p, ak + ".pick");
      if (v != "random") r_.fail(p, ak + ".pick", "unknown pick \"" + v + "\" (valid: random)");
      f->pick_random = true;
    }
    if (const YAML::Node c = a["count"]) {
      if (!f->pick_random) r_.fail(c, ak + ".count", "only with pick: random (how many nodes it picks)");
      f->count = r_.integer(c, ak + ".count", 1, 64);
      if (st.on_template.empty() && f->count > static_cast<int>(st.on.size()))
        r_.fail(c, ak + ".count", "picks " + std::to_string(f->count) + " distinct nodes from " +
                                      std::to_string(st.on.size()) + " (" + join(st.on) + ")");
    }
  }

  // copy: {from: NODE:PATH | [NODE:PATH, ...], to: NODE:PATH, mode, owner, group}
  void copy(const YAML::Node& a, const std::string& ak, CopySpec* c) {
    if (!a.IsMap())
      r_.fail(a, ak, "expected {from: NODE:PATH, to: NODE:PATH, ...}, found " + kind(a));
    r_.expect_map(a, ak, {"from", "to", "mode", "owner", "group"});
    const YAML::Node f = a["from"];
    if (!f) r_.fail(a, ak + ".from", "missing (required: NODE:PATH, or a list of them)");
    if (!a["to"]) r_.fail(a, ak + ".to", "missing (required: NODE:PATH, a folder if it ends in /)");
    if (f.IsSequence() && f.size() == 0) r_.fail(f, ak + ".from", "no files (give NODE:PATH or a list of them)");
    const auto items = r_.scalar_or_list(f, ak + ".from");
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < items.size(); ++i) {
      keys.push_back(f.IsSequence() ? ak + ".from[" + std::to_string(i) + "]" : ak + ".from");
      auto loc = location(items[i], keys.back());
      if (loc.path.back() == '/')
        r_.fail(items[i], keys.back(), "\"" + loc.path + "\" is a folder: copy takes files (name each one)");
      c->from.push_back(std::move(loc));
    }
    c->to = location(a["to"], ak + ".to");
    const bool folder = c->to.path.back() == '/';
    if (c->from.size() > 1 && !folder)
      r_.fail(a["to"], ak + ".to", "several files go to a folder: end the path with / (\"" +
                                       c->to.node + ":" + c->to.path + "/\")");
    if (folder) {
      // Two files of one name into one folder: the second would replace the first.
      std::set<std::string> names;
      for (std::size_t i = 0; i < c->from.size(); ++i) {
        const std::string& p = c->from[i].path;
        const std::string base = p.substr(p.rfind('/') + 1);
        if (base.find("{{") == std::string::npos && !names.insert(base).second)
          r_.fail(items[i], keys[i], "a second file named " + base + " for " + c->to.node + ":" +
                                         c->to.path + " (it would replace the first)");
      }
    }
    if (const YAML::Node m = a["mode"]) c->mode = octal_mode(m, ak + ".mode");
    if (const YAML::Node g = a["group"]) c->group = r_.tmpl(g, ak + ".group", scope_);
    if (const YAML::Node o = a["owner"]) {
      c->owner = r_.tmpl(o, ak + ".owner", scope_);
      // owner: USER:GROUP, as chown takes it.
      if (const auto colon = c->owner.find(':'); colon != std::string::npos) {
        if (a["group"])
          r_.fail(o, ak + ".owner", "give owner: USER:GROUP or owner and group, not both");
        c->group = c->owner.substr(colon + 1);
        c->owner.resize(colon);
      }
      if (c->owner.empty()) r_.fail(o, ak + ".owner", "no user (owner: USER or USER:GROUP)");
    }
  }

  // NODE:PATH; NODE a node's name (or a template), PATH absolute. The node ends at the
  // first ':' outside a template.
  CopySpec::Location location(const YAML::Node& v, const std::string& key) {
    const std::string s = r_.tmpl(v, key, scope_);
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
      r_.fail(v, key, "expected NODE:/path (e.g. dcs-01:/etc/dcs/cert/dcs-01.csr), found \"" + s + "\"");
    CopySpec::Location loc{s.substr(0, colon), s.substr(colon + 1)};
    if (loc.node.find("{{") == std::string::npos && !sc_.lab.find_node(loc.node))
      r_.fail(v, key, "unknown node \"" + loc.node + "\" (valid: " + join(sc_.lab.node_names()) + ")");
    if (loc.path.empty() || (loc.path[0] != '/' && loc.path.rfind("{{", 0) != 0))
      r_.fail(v, key, "\"" + loc.path + "\" is not an absolute path on " + loc.node, colon + 1);
    return loc;
  }

  // A copy without `on` runs on its (first) source's node: a node's name, or vars.*
  // templates resolved when the step runs (node.* would have no node to refer to).
  void copy_on(const YAML::Node& a, const std::string& ak, Step* st) {
    const std::string& node = st->copy.from[0].node;
    if (node.find("{{") == std::string::npos) {
      st->on = {node};
      return;
    }
    const YAML::Node f = a["from"];
    const YAML::Node at = f.IsSequence() ? f[0] : f;
    for (const auto& ref : find_templates(node, nullptr, nullptr))
      if (ref.name.rfind("vars.", 0) != 0)
        r_.fail(at, ak + ".from" + (f.IsSequence() ? "[0]" : ""),
                "without on, the source's node is the step's node: a node's name or vars.* "
                "templates, found \"" + ref.name + "\" (or give on)",
                ref.offset);
    st->on_template = node;
    st->on = sc_.lab.node_names();
  }

  // A map of options, or true / nothing for the defaults.
  bool defaults_only(const YAML::Node& a, const std::string& ak) {
    if (a.IsNull() || (a.IsScalar() && (a.Scalar() == "true" || a.Scalar() == "yes"))) return true;
    if (!a.IsMap()) r_.fail(a, ak, "expected a mapping of options (or true), found " + kind(a));
    return false;
  }

  int octal_mode(const YAML::Node& m, const std::string& key) {
    const std::string ms = r_.scalar(m, key, "an octal mode");
    static const std::regex re("0?[0-7]{3,4}");
    if (!std::regex_match(ms, re) || std::stoi(ms, nullptr, 8) > 07777)
      r_.fail(m, key, "\"" + ms + "\" is not an octal mode like 0640");
    return std::stoi(ms, nullptr, 8);
  }

  CertVariant variant(const YAML::Node& v, const std::string& key) {
    const std::string s = r_.scalar(v, key);
    auto var = parse_cert_variant(s);
    if (!var) r_.fail(v, key, "unknown certificate variant \"" + s + "\" (valid: valid, other-ca, expired)");
    return *var;
  }

  void pki_issue(const YAML::Node& a, const std::string& ak, PkiIssueSpec* p) {
    if (defaults_only(a, ak)) return;
    r_.expect_map(a, ak, {"path", "owner", "group", "dir_mode", "push_ca_key", "key", "days",
                          "variant", "force"});
    if (const YAML::Node x = a["path"]) {
      p->path = r_.tmpl(x, ak + ".path", scope_);
      if (p->path.empty() || p->path[0] != '/')
        r_.fail(x, ak + ".path", "\"" + p->path + "\" is not an absolute path on the node");
    }
    if (const YAML::Node x = a["owner"]) p->owner = r_.tmpl(x, ak + ".owner", scope_);
    if (const YAML::Node x = a["group"]) p->group = r_.tmpl(x, ak + ".group", scope_);
    if (const YAML::Node x = a["dir_mode"]) p->dir_mode = octal_mode(x, ak + ".dir_mode");
    if (const YAML::Node x = a["push_ca_key"]) p->push_ca_key = r_.boolean(x, ak + ".push_ca_key");
    if (const YAML::Node x = a["force"]) p->force = r_.boolean(x, ak + ".force");
    if (const YAML::Node x = a["key"]) {
      const std::string k = r_.scalar(x, ak + ".key");
      auto spec = KeySpec::parse(k);
      if (!spec || (spec->type == KeySpec::Type::Rsa && spec->bits < 2048))
        r_.fail(x, ak + ".key", "\"" + k + "\" is not a key type (valid: rsa:4096, rsa:3072, rsa:2048, ec:p256)");
      p->key = *spec;
    }
    if (const YAML::Node x = a["days"]) p->days = r_.integer(x, ak + ".days", 1, 36500);
    if (const YAML::Node x = a["variant"]) p->variant = variant(x, ak + ".variant");
  }

  // writer: {start: NAME, <options>} | {stop: NAME}
  void writer(const YAML::Node& a, const std::string& ak, WriterSpec* w) {
    if (!a.IsMap())
      r_.fail(a, ak, "expected {start: NAME, ...} or {stop: NAME}, found " + kind(a));
    if (a["stop"] && a["start"])
      r_.fail(a["stop"], ak + ".stop", "give start: NAME or stop: NAME, not both");
    if (a["stop"]) {
      r_.expect_map(a, ak, {"stop"});
      w->op = WriterSpec::Op::Stop;
      w->name = writer_name(a["stop"], ak + ".stop", false);
      return;
    }
    r_.expect_map(a, ak, {"start", "endpoints", "port", "interval", "keys", "reads", "prefix",
                          "user", "password", "timeout", "tls"});
    if (!a["start"]) r_.fail(a, ak + ".start", "missing (give start: NAME or stop: NAME)");
    w->op = WriterSpec::Op::Start;
    w->name = writer_name(a["start"], ak + ".start", true);
    if (const YAML::Node e = a["endpoints"]) w->endpoints = on(e, ak + ".endpoints");
    else w->endpoints = sc_.lab.node_names();
    if (const YAML::Node x = a["port"]) w->port = r_.integer(x, ak + ".port", 1, 65535);
    if (const YAML::Node x = a["interval"]) {
      w->interval = r_.duration(x, ak + ".interval");
      if (w->interval < std::chrono::milliseconds(10))
        r_.fail(x, ak + ".interval", "at least 10ms");
    }
    if (const YAML::Node x = a["keys"]) w->keys = r_.integer(x, ak + ".keys", 1, 10000);
    if (const YAML::Node x = a["reads"]) w->reads = r_.boolean(x, ak + ".reads");
    if (const YAML::Node x = a["prefix"]) {
      w->prefix = r_.tmpl(x, ak + ".prefix", scope_);
      if (w->prefix.empty()) r_.fail(x, ak + ".prefix", "must not be empty");
    }
    if (const YAML::Node x = a["user"]) w->user = r_.tmpl(x, ak + ".user", scope_);
    if (const YAML::Node x = a["password"]) w->password = r_.tmpl(x, ak + ".password", scope_);
    if (a["user"] && !a["password"]) r_.fail(a, ak + ".password", "missing (required with user)");
    if (a["password"] && !a["user"]) r_.fail(a, ak + ".user", "missing (required with password)");
    if (const YAML::Node x = a["timeout"]) w->request_timeout = r_.duration(x, ak + ".timeout");
    if (const YAML::Node t = a["tls"]) {
      const std::string tk = ak + ".tls";
      r_.expect_map(t, tk, {"ca", "cert", "key", "sign_with"});
      if (const YAML::Node x = t["ca"]) w->ca = r_.tmpl(x, tk + ".ca", scope_);
      if (t["cert"] || t["key"]) {
        if (!t["cert"]) r_.fail(t, tk + ".cert", "missing (required with key)");
        if (!t["key"]) r_.fail(t, tk + ".key", "missing (required with cert)");
        if (t["sign_with"])
          r_.fail(t["sign_with"], tk + ".sign_with",
                  "give cert/key (a client certificate) or sign_with (a CA key to make one), not both");
        w->cert = r_.tmpl(t["cert"], tk + ".cert", scope_);
        w->key = r_.tmpl(t["key"], tk + ".key", scope_);
        w->sign_with.clear();
      }
      if (const YAML::Node x = t["sign_with"]) w->sign_with = r_.tmpl(x, tk + ".sign_with", scope_);
    }
  }

  // check_writes: NAME | {name: NAME, timeout: 1m}
  void check_writes(const YAML::Node& a, const std::string& ak, WriterSpec* w) {
    w->op = WriterSpec::Op::Check;
    if (a.IsScalar()) {
      w->name = writer_name(a, ak, false);
      return;
    }
    if (!a.IsMap()) r_.fail(a, ak, "expected a writer's name or {name, timeout}, found " + kind(a));
    r_.expect_map(a, ak, {"name", "timeout"});
    if (!a["name"]) r_.fail(a, ak + ".name", "missing (required)");
    w->name = writer_name(a["name"], ak + ".name", false);
    if (const YAML::Node x = a["timeout"]) w->check_timeout = r_.duration(x, ak + ".timeout");
  }

  // A writer's name: new for start, one started earlier in the file otherwise.
  std::string writer_name(const YAML::Node& v, const std::string& key, bool starting) {
    const std::string name = r_.scalar(v, key, "a writer's name");
    if (!valid_identifier(name))
      r_.fail(v, key, "\"" + name + "\" is not a valid name (letters, digits, '_', '-')");
    const bool known = std::find(writers_.begin(), writers_.end(), name) != writers_.end();
    if (starting && known)
      r_.fail(v, key, "writer \"" + name + "\" is already started in this scenario (one history per name)");
    if (!starting && !known)
      r_.fail(v, key, "no writer \"" + name + "\" started before this step (valid: " +
                          (writers_.empty() ? std::string("none yet") : join(writers_)) + ")");
    if (starting) writers_.push_back(name);
    return name;
  }

  void expect_tls(const YAML::Node& a, const std::string& ak, TlsSpec* t) {
    if (defaults_only(a, ak)) return;
    r_.expect_map(a, ak, {"host", "port", "client_cert", "ca", "verify_name", "timeout", "expect"});
    if (const YAML::Node x = a["host"]) t->host = r_.tmpl(x, ak + ".host", scope_);
    if (const YAML::Node x = a["port"]) t->port = r_.integer(x, ak + ".port", 1, 65535);
    if (const YAML::Node x = a["ca"]) t->ca = r_.tmpl(x, ak + ".ca", scope_);
    if (const YAML::Node x = a["verify_name"]) t->verify_name = r_.tmpl(x, ak + ".verify_name", scope_);
    if (const YAML::Node x = a["timeout"]) t->timeout = r_.duration(x, ak + ".timeout");
    if (const YAML::Node c = a["client_cert"]) {
      const std::string ck = ak + ".client_cert";
      if (c.IsScalar()) {
        const std::string v = c.Scalar();
        if (v == "false" || v == "no") t->client = TlsSpec::Client::None;
        else if (v == "true" || v == "yes") t->client = TlsSpec::Client::Lab;
        else if (parse_cert_variant(v)) {
          t->client = TlsSpec::Client::Lab;
          t->client_variant = *parse_cert_variant(v);
        } else {
          r_.fail(c, ck, "expected true, false, valid, other-ca, expired, {node, variant} or {cert, key}, found \"" + v + "\"");
        }
      } else {
        r_.expect_map(c, ck, {"node", "variant", "cert", "key"});
        const bool files = c["cert"] || c["key"];
        if (files && (c["node"] || c["variant"]))
          r_.fail(c, ck, "give node/variant (the lab PKI's) or cert/key (files), not both");
        if (files) {
          if (!c["cert"]) r_.fail(c, ck + ".cert", "missing (required with key)");
          if (!c["key"]) r_.fail(c, ck + ".key", "missing (required with cert)");
          t->client = TlsSpec::Client::Files;
          t->cert = r_.tmpl(c["cert"], ck + ".cert", scope_);
          t->key = r_.tmpl(c["key"], ck + ".key", scope_);
        } else {
          t->client = TlsSpec::Client::Lab;
          if (const YAML::Node n = c["node"]) {
            t->client_node = r_.scalar(n, ck + ".node");
            if (!sc_.lab.find_node(t->client_node))
              r_.fail(n, ck + ".node", "unknown node \"" + t->client_node + "\" (valid: " +
                                           join(sc_.lab.node_names()) + ")");
          }
          if (const YAML::Node v = c["variant"]) t->client_variant = variant(v, ck + ".variant");
        }
      }
    }
    if (const YAML::Node e = a["expect"]) {
      const std::string ek = ak + ".expect";
      r_.expect_map(e, ek, {"handshake", "sans", "san_contains", "issuer", "subject", "protocol"});
      if (const YAML::Node h = e["handshake"]) {
        const std::string v = r_.scalar(h, ek + ".handshake");
        if (v != "ok" && v != "fail")
          r_.fail(h, ek + ".handshake", "expected ok or fail, found \"" + v + "\"");
        t->handshake_ok = v == "ok";
      }
      if (const YAML::Node x = e["sans"]) {
        if (!x.IsSequence()) r_.fail(x, ek + ".sans", "expected the list of SANs, found " + kind(x));
        for (std::size_t i = 0; i < x.size(); ++i)
          t->sans.push_back(san(x[i], ek + ".sans[" + std::to_string(i) + "]"));
      }
      if (const YAML::Node x = e["san_contains"]) {
        const auto items = r_.scalar_or_list(x, ek + ".san_contains");
        for (std::size_t i = 0; i < items.size(); ++i)
          t->san_contains.push_back(san(items[i], ek + ".san_contains" +
                                                      (x.IsSequence() ? "[" + std::to_string(i) + "]" : "")));
      }
      if (const YAML::Node x = e["issuer"]) t->issuer = r_.tmpl(x, ek + ".issuer", scope_);
      if (const YAML::Node x = e["subject"]) t->subject = r_.tmpl(x, ek + ".subject", scope_);
      if (const YAML::Node x = e["protocol"]) {
        t->protocol = r_.scalar(x, ek + ".protocol");
        if (t->protocol != "TLSv1.2" && t->protocol != "TLSv1.3")
          r_.fail(x, ek + ".protocol", "\"" + t->protocol + "\" is not a protocol (valid: TLSv1.2, TLSv1.3)");
      }
    }
  }

  // "IP:..." or "DNS:...", as `dcslab pki show` prints them.
  std::string san(const YAML::Node& v, const std::string& key) {
    const std::string s = r_.tmpl(v, key, scope_);
    if (s.rfind("IP:", 0) != 0 && s.rfind("DNS:", 0) != 0)
      r_.fail(v, key, "\"" + s + "\" is not a SAN (valid: IP:<address>, DNS:<name>)");
    return s;
  }

  static std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl) + " ...";
  }

  const Reader& r_;
  Scenario& sc_;
  TemplateScope scope_;
  std::vector<std::string> writers_;  // started so far, in file order
};

fs::path first_existing(const std::vector<fs::path>& candidates) {
  for (const auto& c : candidates)
    if (fs::exists(c)) return c;
  return candidates.front();
}

}  // namespace

LabResolver default_lab_resolver(const fs::path& scenario_file,
                                 const std::optional<fs::path>& lab_override) {
  return [scenario_file, lab_override](const std::string& value) {
    fs::path p;
    if (lab_override) {
      p = *lab_override;
    } else {
      const fs::path rel = value.empty() ? fs::path("fixtures/labs/dcs.yaml") : fs::path(value);
      if (rel.is_absolute()) p = rel;
      else
        p = first_existing({rel, scenario_file.parent_path() / rel,
                            data_dir() / rel});
    }
    Lab lab = load_lab(p);
    return std::make_pair(std::move(lab), p);
  };
}

Scenario parse_scenario(const std::string& text, const fs::path& file,
                        const LabResolver& resolve_lab) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream s;
    s << file.string() << ':' << e.mark.line + 1 << ':' << e.mark.column + 1
      << ": not valid YAML: " << e.msg;
    throw BadInput(s.str());
  }
  Scenario sc;
  sc.file = file;
  Reader reader(file, text);
  Parser(reader, sc).top(root, resolve_lab);
  return sc;
}

Scenario load_scenario(const fs::path& file, const std::optional<fs::path>& lab_override) {
  std::ifstream in(file);
  if (!in || fs::is_directory(file)) throw BadInput(file.string() + ": cannot read scenario file");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_scenario(buf.str(), file, default_lab_resolver(file, lab_override));
}

}  // namespace dcslab
