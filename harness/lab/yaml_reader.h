// Reading a YAML document (the lab file, a scenario and each action's parser): every
// error is one BadInput "file:line:col: key.path: message" naming where it is, so a user
// fixes the right line at once. A position inside a scalar (an offset) is exact for
// single-line and literal (|) scalars, which is where commands live.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

namespace dcslab {

// "a mapping", "a list", "\"text\"", "nothing": what a value is, for messages.
std::string yaml_kind(const YAML::Node& n);
// "a.b", or b alone when a is empty.
std::string join_key(const std::string& a, const std::string& b);
// The document in `text`; a syntax error is BadInput "file:line:col: not valid YAML: ...".
YAML::Node load_yaml(const std::string& text, const std::filesystem::path& file);

class YamlReader {
 public:
  YamlReader(std::filesystem::path file, const std::string& text);

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
  // "0640" (or "640", "1777"): the mode's value.
  int octal_mode(const YAML::Node& v, const std::string& key) const;

 private:
  void refine(const YAML::Node& at, std::size_t offset, int* line, int* col) const;

  std::filesystem::path file_;
  std::vector<std::string> lines_;
};

}  // namespace dcslab
