// Reading a scenario document's YAML, for the scenario parser and each action's parser:
// every error is one BadInput "file:line:col: key.path: message" naming where it is.
// Positions of templates inside a scalar are exact for single-line and literal (|)
// scalars, which is where commands live.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "scenario/template.h"

namespace dcslab {

// "a mapping", "a list", "\"text\"", "nothing": what a value is, for messages.
std::string yaml_kind(const YAML::Node& n);
// "a.b", or b alone when a is empty.
std::string join_key(const std::string& a, const std::string& b);
// Letters, digits, '_' and '-', not starting with a digit or '-'.
bool valid_identifier(const std::string& s);
// The first line of s, " ..." after it when there are more.
std::string first_line(const std::string& s);

class Reader {
 public:
  Reader(std::filesystem::path file, const std::string& text);

  const std::filesystem::path& file() const { return file_; }

  std::string where(const YAML::Node& at, std::size_t offset = std::string::npos) const;
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what,
                         std::size_t offset = std::string::npos) const;

  void expect_map(const YAML::Node& map, const std::string& key,
                  const std::vector<std::string>& allowed) const;
  std::string scalar(const YAML::Node& v, const std::string& key,
                     const std::string& expected = "a string") const;
  std::vector<YAML::Node> scalar_or_list(const YAML::Node& v, const std::string& key) const;
  int integer(const YAML::Node& v, const std::string& key, int min, int max) const;
  bool boolean(const YAML::Node& v, const std::string& key) const;
  std::chrono::milliseconds duration(const YAML::Node& v, const std::string& key) const;
  // "16MiB", "512KiB", "4096" (parse_byte_size), between `min` and `max` bytes.
  std::uint64_t byte_size(const YAML::Node& v, const std::string& key, std::uint64_t min,
                          std::uint64_t max) const;
  // "0640" (or "640", "1777"): the mode's value.
  int octal_mode(const YAML::Node& v, const std::string& key) const;
  // A string whose templates must all be known in `scope`.
  std::string tmpl(const YAML::Node& v, const std::string& key, const TemplateScope& scope) const;

 private:
  void refine(const YAML::Node& at, std::size_t offset, int* line, int* col) const;

  std::filesystem::path file_;
  std::vector<std::string> lines_;
};

}  // namespace dcslab
