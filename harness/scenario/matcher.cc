#include "scenario/matcher.h"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include <cctype>
#include <memory>

#include "base/error.h"
#include "base/text.h"

namespace dcslab {

namespace {

const char* kind_name(TextMatcher::Kind k) {
  switch (k) {
    case TextMatcher::Kind::Contains: return "contains";
    case TextMatcher::Kind::Equals: return "equals";
    case TextMatcher::Kind::Matches: return "matches";
    case TextMatcher::Kind::Lines: return "lines";
    case TextMatcher::Kind::Json: return "json";
  }
  return "?";
}

// "equals" ignores trailing newlines: `echo x` prints "x\n" and a reader writes "x".
std::string chomp(const std::string& s) { return rtrim(s, "\r\n"); }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  const std::string t = chomp(text);
  if (t.empty()) return lines;
  std::size_t start = 0;
  for (;;) {
    const auto nl = t.find('\n', start);
    std::string line = t.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (nl == std::string::npos) return lines;
    start = nl + 1;
  }
}

std::string quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '\n') q += "\\n";
    else if (c == '"') q += "\\\"";
    else if (c == '\\') q += "\\\\";
    else q += c;
  }
  return q + "\"";
}

std::string list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
  return s + "]";
}

}  // namespace

std::string matcher_key(const TextMatcher& m) {
  return std::string(m.negate ? "not_" : "") + kind_name(m.kind);
}

const std::vector<std::string>& matcher_keys() {
  static const std::vector<std::string> keys = {
      "contains", "not_contains", "equals", "not_equals", "matches",
      "not_matches", "lines", "not_lines", "json", "not_json"};
  return keys;
}

bool parse_matcher_key(const std::string& key, TextMatcher::Kind* kind, bool* negate) {
  std::string k = key;
  *negate = k.rfind("not_", 0) == 0;
  if (*negate) k = k.substr(4);
  for (auto c : {TextMatcher::Kind::Contains, TextMatcher::Kind::Equals, TextMatcher::Kind::Matches,
                 TextMatcher::Kind::Lines, TextMatcher::Kind::Json}) {
    if (k == kind_name(c)) {
      *kind = c;
      return true;
    }
  }
  return false;
}

std::string describe(const ExitExpect& e) {
  switch (e.kind) {
    case ExitExpect::Kind::Code: return std::to_string(e.code);
    case ExitExpect::Kind::Nonzero: return "nonzero";
    case ExitExpect::Kind::Any: return "any";
  }
  return "?";
}

std::string regex_escape(const std::string& s) { return RE2::QuoteMeta(s); }

namespace {

// RE2 (linear time, no recursion: a step's output cannot crash or hang the match) with
// ^ and $ at line breaks, as the scenarios were written for. Errors are returned, not
// logged: they are the scenario's, and reach the user as one line naming its place.
std::unique_ptr<RE2> compile(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  return std::make_unique<RE2>("(?m)" + pattern, options);
}

// What RE2 does not do, said in the scenario's terms rather than the parser's.
std::string explain(const RE2& re) {
  const std::string& arg = re.error_arg();
  if (re.error_code() == RE2::ErrorBadEscape && arg.size() == 2 && arg[0] == '\\' &&
      std::isdigit(static_cast<unsigned char>(arg[1])))
    return "backreferences (" + arg + ") are not supported (RE2 syntax, docs/SCENARIOS.md)";
  if (arg == "(?=" || arg == "(?!" || arg == "(?<")
    return "lookaround and named groups (" + arg +
           "...) are not supported (RE2 syntax, docs/SCENARIOS.md)";
  return re.error() + " (RE2 syntax, docs/SCENARIOS.md)";
}

// `text` with every "\r\n" as "\n": RE2's $ ends a line at "\n" only, and output from a
// terminal ends its lines with "\r\n" (`lines` and `equals` ignore the "\r" too).
std::string lf_lines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  return out;
}

}  // namespace

std::optional<RegexError> regex_error(const std::string& pattern) {
  const auto re = compile(pattern);
  if (re->ok()) return std::nullopt;
  const auto at = re->error_arg().empty() ? std::string::npos : pattern.find(re->error_arg());
  return RegexError{explain(*re), at == std::string::npos ? 0 : at};
}

TextMatcher expand(const TextMatcher& m, const TemplateValues& values) {
  TextMatcher x = m;
  if (m.kind == TextMatcher::Kind::Matches)
    x.text = expand_templates(m.text, values, regex_escape);
  else
    x.text = expand_templates(m.text, values);
  for (auto& l : x.lines) l = expand_templates(l, values);
  for (auto& [path, v] : x.json) v = expand_templates(v, values);
  return x;
}

std::optional<std::string> json_value_at(const std::string& json_text, const std::string& path,
                                         std::string* error) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception&) {
    if (error) *error = "output is not JSON";
    return std::nullopt;
  }
  // Split "a.b[0].c" into a, b, 0, c.
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  const nlohmann::json* at = &doc;
  std::string walked;
  for (const auto& p : parts) {
    walked += (walked.empty() ? "" : ".") + p;
    if (at->is_object() && at->contains(p)) {
      at = &(*at)[p];
    } else if (at->is_array() && !p.empty() &&
               p.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(p) < at->size()) {
      at = &(*at)[std::stoul(p)];
    } else {
      if (error) *error = "no " + walked + " in the JSON output";
      return std::nullopt;
    }
  }
  if (at->is_string()) return at->get<std::string>();
  return at->dump();
}

std::optional<std::string> check(const TextMatcher& m, const std::string& observed) {
  bool holds = false;
  std::string what;
  switch (m.kind) {
    case TextMatcher::Kind::Contains:
      holds = observed.find(m.text) != std::string::npos;
      what = "to contain " + quote(m.text);
      break;
    case TextMatcher::Kind::Equals:
      holds = chomp(observed) == chomp(m.text);
      what = "to equal " + quote(chomp(m.text));
      break;
    case TextMatcher::Kind::Matches: {
      // Compiled at load too (with templates blanked), so this only fails if an expanded
      // value broke it, which regex_escape prevents.
      const auto re = compile(m.text);
      if (!re->ok()) return "regex /" + m.text + "/ is invalid: " + explain(*re);
      holds = observed.find("\r\n") == std::string::npos
                  ? RE2::PartialMatch(observed, *re)
                  : RE2::PartialMatch(lf_lines(observed), *re);
      what = "to match /" + m.text + "/";
      break;
    }
    case TextMatcher::Kind::Lines:
      holds = split_lines(observed) == m.lines;
      what = "lines " + list(m.lines);
      break;
    case TextMatcher::Kind::Json: {
      // Negated: holds when no listed path has the listed value.
      std::string detail;
      bool all = true, any = false;
      for (const auto& [path, expected] : m.json) {
        std::string err;
        const auto v = json_value_at(observed, path, &err);
        const bool eq = v && *v == expected;
        all = all && eq;
        any = any || eq;
        if (!m.negate && !eq && detail.empty())
          detail = "json " + path + " = " + quote(expected) + " (observed " +
                   (v ? quote(*v) : err) + ")";
        if (m.negate && eq && detail.empty())
          detail = "json " + path + " not = " + quote(expected);
      }
      holds = m.negate ? !any : all;
      if (!holds) return "expected " + detail;
      return std::nullopt;
    }
  }
  if (m.negate) holds = !holds;
  if (holds) return std::nullopt;
  return std::string("expected ") + (m.negate ? "not " : "") + what;
}

std::vector<std::string> evaluate(const Expectation& e, const CommandResult& r) {
  std::vector<std::string> failures;
  bool exit_ok = true;
  switch (e.exit.kind) {
    case ExitExpect::Kind::Code: exit_ok = r.exit_status == e.exit.code; break;
    case ExitExpect::Kind::Nonzero: exit_ok = r.exit_status != 0; break;
    case ExitExpect::Kind::Any: break;
  }
  if (!exit_ok)
    failures.push_back("exit: expected " + describe(e.exit) + ", observed " +
                       std::to_string(r.exit_status));
  for (const auto& m : e.out)
    if (auto f = check(m, r.out)) failures.push_back("stdout: " + *f);
  for (const auto& m : e.err)
    if (auto f = check(m, r.err)) failures.push_back("stderr: " + *f);
  return failures;
}

}  // namespace dcslab
