#include "scenario/step_parser.h"

#include <algorithm>
#include <regex>
#include <utility>
#include <variant>

#include "base/text.h"

namespace dcslab {

namespace {

// Each action of the Action variant: its info, and how its parse() becomes a step's action.
template <class V>
struct ActionTable;
template <class... Spec>
struct ActionTable<std::variant<Spec...>> {
  struct Entry {
    const ActionInfo* info;
    Action (*parse)(StepParser&, const YAML::Node&, const std::string&, Step&);
  };
  static const Entry* find(const std::string& key) {
    static const std::vector<Entry> entries{
        {&Spec::info,
         [](StepParser& p, const YAML::Node& a, const std::string& k, Step& st) -> Action {
           return Action(std::in_place_type<Spec>, Spec::parse(p, a, k, st));
         }}...};
    for (const auto& e : entries)
      if (key == e.info->key) return &e;
    return nullptr;
  }
};

const std::vector<std::string>& step_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"name", "on", "as"};
    for (const auto& a : action_keys()) k.push_back(a);
    for (const char* x : {"capture", "when", "env", "stdin", "prompts", "pty", "timeout",
                          "output_limit", "until", "expect"})
      k.push_back(x);
    return k;
  }();
  return keys;
}

}  // namespace

Step StepParser::step(const YAML::Node& s, const std::string& key) {
  r_.expect_map(s, key, step_keys());
  Step st;
  st.line = s.Mark().line + 1;
  st.user = lab_.login.user;
  const std::string act = the_action(s, key);
  const auto* action = ActionTable<Action>::find(act);
  if (const YAML::Node n = s["name"]) st.name = tmpl(n, key + ".name");
  step_on(s, key, act, *action->info, st);
  if (const YAML::Node u = s["as"]) {
    st.user = r_.scalar(u, key + ".as");
    if (!valid_user_name(st.user)) r_.fail(u, key + ".as", "\"" + st.user + "\" is not a user name");
  }
  st.action = action->parse(*this, s[act], key + "." + act, st);
  if (st.name.empty())
    st.name = std::visit([](const auto& spec) { return spec.default_name(); }, st.action);
  step_options(s, key, st);
  step_checks(s, key, act, *action->info, st);
  return st;
}

// Exactly one action, so a reader knows what a step does at a glance.
std::string StepParser::the_action(const YAML::Node& s, const std::string& key) const {
  const auto& keys = action_keys();
  std::vector<std::pair<std::string, YAML::Node>> actions;
  for (const auto& kv : s) {
    const std::string k = kv.first.Scalar();
    if (std::find(keys.begin(), keys.end(), k) != keys.end()) actions.emplace_back(k, kv.first);
  }
  if (actions.empty())
    r_.fail(s, key, "no action; a step has exactly one of: " + join(keys, ", "));
  if (actions.size() > 1)
    r_.fail(actions[1].second, key + "." + actions[1].first,
            "a second action (the step already has " + actions[0].first +
                "); a step has exactly one of: " + join(keys, ", "));
  return actions[0].first;
}

void StepParser::step_on(const YAML::Node& s, const std::string& key, const std::string& act,
                         const ActionInfo& info, Step& st) const {
  using On = ActionInfo::On;
  const YAML::Node on_node = s["on"];
  if (!on_node) {
    switch (info.on) {
      case On::OneNode:  // from dcslab: `on` only names the node whose files it reads
        st.on = {lab_.node_names().front()};
        break;
      case On::NamedNode:  // a fault on a named node needs no `on`
        if (const YAML::Node a = s[act]; a.IsMap() && a["node"]) {
          st.on = lab_.node_names();
          break;
        }
        [[fallthrough]];
      case On::Required:
        r_.fail(s, key + ".on", "missing (required: a node, a list of nodes, or all)");
      case On::Source:  // the source's node, once the action is read
        break;
    }
  } else if (on_node.IsScalar() && on_node.Scalar().find("{{") != std::string::npos) {
    st.on_template = on_template(on_node, key + ".on", &st.on);
  } else if (on_node.IsMap()) {
    on_except(on_node, key + ".on", &st);
  } else {
    st.on = nodes(on_node, key + ".on");
  }
  if (info.on == On::OneNode && st.on.size() != 1)
    r_.fail(on_node, key + ".on", act + " runs once: give one node (whose files it reads)");
}

std::vector<std::string> StepParser::nodes(const YAML::Node& v, const std::string& key) const {
  std::vector<std::string> valid = {"all"};
  for (const auto& g : lab_.groups) valid.push_back(g.name);
  for (const auto& n : lab_.node_names()) valid.push_back(n);
  if (v.IsScalar() && v.Scalar() == "all") return lab_.node_names();
  std::vector<std::string> nodes;
  const auto items = r_.scalar_or_list(v, key);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string name = items[i].Scalar();
    const std::string k = v.IsSequence() ? key + "[" + std::to_string(i) + "]" : key;
    // A group of the lab file stands for its nodes.
    std::vector<std::string> named;
    if (const NodeGroup* g = lab_.find_group(name)) named = g->nodes;
    else if (lab_.find_node(name)) named = {name};
    else
      r_.fail(items[i], k, "unknown node \"" + name + "\" (valid: " + join(valid, ", ") + ")");
    for (const auto& n : named) {
      if (std::find(nodes.begin(), nodes.end(), n) != nodes.end())
        r_.fail(items[i], k, "node \"" + n + "\" is listed twice" +
                                 (n == name ? std::string() : " (in group " + name + ")"));
      nodes.push_back(n);
    }
  }
  if (nodes.empty()) r_.fail(v, key, "no nodes (valid: " + join(valid, ", ") + ")");
  return nodes;
}

// `on:` as a template: only vars (captures, as a rule) may be in it, since no node is
// known yet. The step's candidates are every node of the lab.
std::string StepParser::on_template(const YAML::Node& v, const std::string& key,
                                    std::vector<std::string>* on) const {
  const std::string text = tmpl(v, key);
  for (const auto& ref : find_templates(text, nullptr, nullptr))
    if (ref.name.rfind("vars.", 0) != 0)
      r_.fail(v, key,
              "only vars.* templates in on (the node is not known yet), found \"" + ref.name + "\"",
              ref.offset);
  *on = lab_.node_names();
  return text;
}

// on: {except: NODE | [NODE...] | "{{ vars.x }}"}: every node of the lab but those.
void StepParser::on_except(const YAML::Node& v, const std::string& key, Step* st) const {
  r_.expect_map(v, key, {"except"});
  const YAML::Node x = v["except"];
  if (!x) r_.fail(v, key + ".except", "missing (on: {except: NODE} is every node but NODE)");
  if (x.IsScalar() && x.Scalar().find("{{") != std::string::npos) {
    st->on_template = on_template(x, key + ".except", &st->on);
    st->on_except = true;
    return;
  }
  const auto but = nodes(x, key + ".except");
  for (const auto& n : lab_.node_names())
    if (std::find(but.begin(), but.end(), n) == but.end()) st->on.push_back(n);
  if (st->on.empty()) r_.fail(x, key + ".except", "leaves no node");
}

// env, stdin, prompts, when, pty, timeout: how the action runs, whatever it is.
void StepParser::step_options(const YAML::Node& s, const std::string& key, Step& st) const {
  if (const YAML::Node e = s["env"]) {
    if (!e.IsMap())
      r_.fail(e, key + ".env", "expected a mapping of NAME: value, found " + yaml_kind(e));
    for (const auto& kv : e) {
      const std::string name = r_.scalar(kv.first, key + ".env");
      static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
      if (!std::regex_match(name, re))
        r_.fail(kv.first, key + ".env." + name, "not a valid environment variable name");
      st.env.emplace_back(name, tmpl(kv.second, key + ".env." + name));
    }
  }
  if (const YAML::Node in = s["stdin"]) st.stdin_data = tmpl(in, key + ".stdin");
  if (const YAML::Node p = s["prompts"]) prompts(p, key + ".prompts", st);
  if (const YAML::Node w = s["when"]) {
    const std::string text = r_.scalar(w, key + ".when", "a guard like \"etcd >= 3.5\"");
    VersionGuardError error;
    st.when = parse_version_guard(text, &error);
    if (!st.when) r_.fail(w, key + ".when", error.message, error.offset);
  }
  if (const YAML::Node p = s["pty"]) st.pty = r_.boolean(p, key + ".pty");
  if (const YAML::Node t = s["timeout"]) st.timeout = r_.duration(t, key + ".timeout");
  // At least 1 KiB: the transport's own marker (the remote shell's PID) comes first on
  // stderr. At most 1 GiB per stream: the cap exists to keep dcslab's memory bounded.
  if (const YAML::Node o = s["output_limit"])
    st.output_limit = r_.byte_size(o, key + ".output_limit", 1024, std::uint64_t{1} << 30);
}

void StepParser::prompts(const YAML::Node& p, const std::string& key, Step& st) const {
  if (!p.IsSequence())
    r_.fail(p, key, "expected a list of {expect, answer}, found " + yaml_kind(p));
  for (std::size_t i = 0; i < p.size(); ++i) {
    const std::string pk = key + "[" + std::to_string(i) + "]";
    if (!p[i].IsMap())
      r_.fail(p[i], pk, "expected {expect: PROMPT, answer: TEXT}, found " + yaml_kind(p[i]));
    r_.expect_map(p[i], pk, {"expect", "answer"});
    if (!p[i]["expect"]) r_.fail(p[i], pk + ".expect", "missing (required)");
    if (!p[i]["answer"]) r_.fail(p[i], pk + ".answer", "missing (required)");
    Prompt pr;
    pr.expect = tmpl(p[i]["expect"], pk + ".expect");
    pr.answer = tmpl(p[i]["answer"], pk + ".answer");
    if (pr.expect.empty()) r_.fail(p[i]["expect"], pk + ".expect", "must not be empty");
    st.prompts.push_back(pr);
  }
}

// until, expect, capture: what the action's info allows of the step around it.
void StepParser::step_checks(const YAML::Node& s, const std::string& key, const std::string& act,
                             const ActionInfo& info, Step& st) {
  if (const YAML::Node u = s["until"]) {
    r_.expect_map(u, key + ".until", {"interval", "timeout"});
    Until until;
    if (const YAML::Node i = u["interval"]) until.interval = r_.duration(i, key + ".until.interval");
    if (const YAML::Node t = u["timeout"]) until.timeout = r_.duration(t, key + ".until.timeout");
    if (!info.repeats)
      r_.fail(u, key + ".until",
              "only run and get steps repeat, and expect_tls (" + act + " waits by itself)");
    st.until = until;
  }
  if (const YAML::Node e = s["expect"]) {
    if (info.no_expect) r_.fail(e, key + ".expect", info.no_expect);
    expectation(e, key + ".expect", &st.expect);
  }
  if (const YAML::Node c = s["capture"]) {
    if (!info.captures)
      r_.fail(c, key + ".capture",
              "only run and fault steps capture (a run step's stdout, a fault step's nodes)");
    const std::string name = r_.scalar(c, key + ".capture", "a name");
    if (!valid_identifier(name))
      r_.fail(c, key + ".capture", "\"" + name + "\" is not a valid name (letters, digits, '_', '-')");
    if (vars_.count(name))
      r_.fail(c, key + ".capture", "\"" + name + "\" is a var of this scenario (vars." + name +
                                       "); a capture takes a name of its own");
    st.capture = name;
    // Later steps may use it (this one may not: it has no value yet).
    if (std::find(scope_.vars.begin(), scope_.vars.end(), name) == scope_.vars.end())
      scope_.vars.push_back(name);
  }
}

void StepParser::expectation(const YAML::Node& e, const std::string& key, Expectation* out) const {
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

void StepParser::matchers(const YAML::Node& m, const std::string& key,
                          std::vector<TextMatcher>* out,
                          const std::vector<std::string>& extra_keys) const {
  if (!m.IsMap()) r_.fail(m, key, "expected a mapping of matchers, found " + yaml_kind(m));
  for (const auto& kv : m) {
    const std::string k = r_.scalar(kv.first, key);
    if (std::find(extra_keys.begin(), extra_keys.end(), k) != extra_keys.end()) continue;
    const std::string mk = join_key(key, k);
    TextMatcher proto;
    if (!parse_matcher_key(k, &proto.kind, &proto.negate)) {
      auto valid = extra_keys;
      for (const auto& x : matcher_keys()) valid.push_back(x);
      r_.fail(kv.first, mk, "unknown key (valid: " + join(valid, ", ") + ")");
    }
    const YAML::Node& v = kv.second;
    switch (proto.kind) {
      case TextMatcher::Kind::Lines: {
        if (!v.IsSequence()) r_.fail(v, mk, "expected a list of lines, found " + yaml_kind(v));
        TextMatcher t = proto;
        for (std::size_t i = 0; i < v.size(); ++i)
          t.lines.push_back(tmpl(v[i], mk + "[" + std::to_string(i) + "]"));
        out->push_back(std::move(t));
        break;
      }
      case TextMatcher::Kind::Json: {
        if (!v.IsMap()) r_.fail(v, mk, "expected a mapping of path: value, found " + yaml_kind(v));
        TextMatcher t = proto;
        for (const auto& pv : v) {
          const std::string path = r_.scalar(pv.first, mk);
          t.json.emplace_back(path, tmpl(pv.second, mk + "." + path));
        }
        out->push_back(std::move(t));
        break;
      }
      default: {
        const auto items = r_.scalar_or_list(v, mk);
        for (std::size_t i = 0; i < items.size(); ++i) {
          const std::string ik = v.IsSequence() ? mk + "[" + std::to_string(i) + "]" : mk;
          TextMatcher t = proto;
          t.text = tmpl(items[i], ik);
          if (t.kind == TextMatcher::Kind::Matches) check_regex(items[i], ik, t.text);
          out->push_back(std::move(t));
        }
      }
    }
  }
}

// Compiled now, with every template blanked to a literal, so a pattern RE2 refuses
// (a backreference, lookaround) is an error at load, naming where in the pattern; at
// run time the expanded values are quoted (regex_escape).
void StepParser::check_regex(const YAML::Node& at, const std::string& key,
                             const std::string& text) const {
  std::string blanked;
  std::size_t pos = 0;
  std::vector<std::pair<std::size_t, std::size_t>> shifts;  // blanked offset -> text's
  for (const auto& ref : find_templates(text, nullptr, nullptr)) {
    blanked += text.substr(pos, ref.offset - pos) + "x";
    pos = ref.offset + ref.length;
    shifts.emplace_back(blanked.size(), pos - blanked.size());
  }
  blanked += text.substr(pos);
  const auto error = regex_error(blanked);
  if (!error) return;
  std::size_t offset = error->offset;
  for (const auto& [from, shift] : shifts)
    if (error->offset >= from) offset = error->offset + shift;
  r_.fail(at, key, "invalid regular expression /" + text + "/: " + error->message, offset);
}

}  // namespace dcslab
