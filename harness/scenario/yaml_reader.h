// The scenario's reader: the shared YAML reader (lab/yaml_reader.h) plus what only a
// scenario has: durations, byte sizes and templates.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "lab/yaml_reader.h"
#include "scenario/template.h"

namespace dcslab {

// Letters, digits, '_' and '-', not starting with a digit or '-'.
bool valid_identifier(const std::string& s);
// The first line of s, " ..." after it when there are more.
std::string first_line(const std::string& s);

class Reader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  // A decimal number from 0 to 1 ("0.25", "1", "0").
  double fraction(const YAML::Node& v, const std::string& key) const;
  std::chrono::milliseconds duration(const YAML::Node& v, const std::string& key) const;
  // "16MiB", "512KiB", "4096" (parse_byte_size), between `min` and `max` bytes.
  std::uint64_t byte_size(const YAML::Node& v, const std::string& key, std::uint64_t min,
                          std::uint64_t max) const;
  // A string whose templates must all be known in `scope`.
  std::string tmpl(const YAML::Node& v, const std::string& key, const TemplateScope& scope) const;
};

}  // namespace dcslab
