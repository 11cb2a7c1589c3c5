// Expectations on what a node printed: exit status and stdout/stderr matchers.
//
//   expect:
//     exit: 0 | N | nonzero | any
//     stdout: {contains: X, equals: X, matches: RE, lines: [..], json: {path: value}}
//     stderr: {not_contains: X, ...}
//
// Each matcher has a not_ form; contains/equals/matches may be a list (all must hold).
// matches: RE2 syntax, ^ and $ at line breaks (regex_error below).
// Matcher texts are templates, expanded per node before evaluation.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenario/template.h"
#include "ssh/transport.h"

namespace dcslab {

struct TextMatcher {
  enum class Kind { Contains, Equals, Matches, Lines, Json };
  Kind kind = Kind::Contains;
  bool negate = false;
  std::string text;                                       // contains / equals / matches
  std::vector<std::string> lines;                         // lines
  std::vector<std::pair<std::string, std::string>> json;  // json: path -> expected scalar
};

// "contains", "not_matches", ...
std::string matcher_key(const TextMatcher& m);
// The valid matcher keys, for "(valid: ...)" messages.
const std::vector<std::string>& matcher_keys();
// Parses a key like "not_lines"; false when unknown.
bool parse_matcher_key(const std::string& key, TextMatcher::Kind* kind, bool* negate);

struct ExitExpect {
  enum class Kind { Code, Nonzero, Any };
  Kind kind = Kind::Code;
  int code = 0;
};
std::string describe(const ExitExpect& e);

struct Expectation {
  ExitExpect exit;
  std::vector<TextMatcher> out;  // stdout (for `get`, the file's content)
  std::vector<TextMatcher> err;
};

// Expands every template of `m` with `values` (regex-escaping values inside `matches`).
TextMatcher expand(const TextMatcher& m, const TemplateValues& values);

// nullopt when `observed` satisfies `m`; otherwise what was expected, e.g.
// "to contain \"etcd\"" or "json header.revision = 5 (observed 4)".
std::optional<std::string> check(const TextMatcher& m, const std::string& observed);

// Every failed expectation, each labelled with its stream: "exit: expected 0, observed 1",
// "stdout: expected to contain \"x\"". Empty when all hold.
std::vector<std::string> evaluate(const Expectation& e, const CommandResult& r);

// Looks up a dotted path ("header.revision", "members[0].name", "members.0.name") in a
// JSON text. Sets *error when the text is not JSON or the path does not exist.
std::optional<std::string> json_value_at(const std::string& json_text, const std::string& path,
                                         std::string* error);

// `matches` is RE2 syntax (docs/SCENARIOS.md) with ^ and $ at line breaks: linear in
// the output's length, whatever the pattern, and without recursion.
//
// Why RE2 refuses `pattern` (a backreference, lookaround, a repetition over 1000...),
// and the offset in it of the part refused; nullopt when it compiles.
struct RegexError {
  std::string message;
  std::size_t offset = 0;
};
std::optional<RegexError> regex_error(const std::string& pattern);

// `s` as a pattern matching exactly `s` (RE2::QuoteMeta): template values inside
// `matches` are literal text.
std::string regex_escape(const std::string& s);

}  // namespace dcslab
