#include "scenario/yaml_reader.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "base/text.h"
#include "scenario/scenario.h"

namespace dcslab {

bool valid_identifier(const std::string& s) {
  static const std::regex re(R"([A-Za-z_][A-Za-z0-9_-]*)");
  return std::regex_match(s, re);
}

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl) + " ...";
}

double Reader::fraction(const YAML::Node& v, const std::string& key) const {
  const std::string s = scalar(v, key, "a number from 0 to 1");
  const bool digits = !s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789.") == std::string::npos &&
                      std::count(s.begin(), s.end(), '.') <= 1 && s != ".";
  const double x = digits ? std::strtod(s.c_str(), nullptr) : -1;
  if (!digits || x > 1) fail(v, key, "expected a number from 0 to 1 (e.g. 0.25), found \"" + s + "\"");
  return x;
}

std::chrono::milliseconds Reader::duration(const YAML::Node& v, const std::string& key) const {
  const std::string s = scalar(v, key, "a duration");
  auto d = parse_duration(s);
  if (!d || d->count() == 0)
    fail(v, key, "\"" + s + "\" is not a duration (valid: e.g. 500ms, 30s, 2m, 1h, 1m30s)");
  return *d;
}

std::uint64_t Reader::byte_size(const YAML::Node& v, const std::string& key, std::uint64_t min,
                                std::uint64_t max) const {
  const std::string s = scalar(v, key, "a size");
  const auto n = parse_byte_size(s);
  if (!n)
    fail(v, key, "\"" + s + "\" is not a size (valid: e.g. 4096, 512KiB, 64MiB, 1GiB)");
  if (*n < min || *n > max)
    fail(v, key, s + " is outside " + format_bytes(min) + " to " + format_bytes(max));
  return *n;
}

std::string Reader::tmpl(const YAML::Node& v, const std::string& key,
                         const TemplateScope& scope) const {
  const std::string s = scalar(v, key);
  std::size_t offset = 0;
  if (auto err = check_templates(s, scope, &offset)) fail(v, key, *err, offset);
  return s;
}

}  // namespace dcslab
