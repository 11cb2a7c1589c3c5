#include "lab/yaml_reader.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "base/error.h"
#include "base/text.h"

namespace fs = std::filesystem;

namespace dcslab {

std::string yaml_kind(const YAML::Node& n) {
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

YAML::Node load_yaml(const std::string& text, const fs::path& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream s;
    s << file.string() << ':' << e.mark.line + 1 << ':' << e.mark.column + 1
      << ": not valid YAML: " << e.msg;
    throw BadInput(s.str());
  }
}

YamlReader::YamlReader(fs::path file, const std::string& text) : file_(std::move(file)) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines_.push_back(line);
}

std::string YamlReader::where(const YAML::Node& at, std::size_t offset) const {
  const auto m = at.Mark();
  std::ostringstream s;
  s << file_.string();
  if (m.line < 0) return s.str();
  int line = m.line, col = m.column;
  if (offset != std::string::npos && at.IsScalar()) refine(at, offset, &line, &col);
  s << ':' << line + 1 << ':' << col + 1;
  return s.str();
}

void YamlReader::fail(const YAML::Node& at, const std::string& key, const std::string& what,
                  std::size_t offset) const {
  throw BadInput(where(at, offset) + ": " + key + ": " + what);
}

void YamlReader::expect_map(const YAML::Node& map, const std::string& key,
                        const std::vector<std::string>& allowed) const {
  if (!map.IsMap()) fail(map, key, "expected a mapping, found " + yaml_kind(map));
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) fail(kv.first, key, "keys must be strings");
    const auto k = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      fail(kv.first, join_key(key, k), "unknown key (valid: " + join(allowed, ", ") + ")");
  }
}

std::string YamlReader::scalar(const YAML::Node& v, const std::string& key,
                           const std::string& expected) const {
  if (!v.IsScalar()) fail(v, key, "expected " + expected + ", found " + yaml_kind(v));
  return v.Scalar();
}

std::vector<YAML::Node> YamlReader::scalar_or_list(const YAML::Node& v,
                                                   const std::string& key) const {
  std::vector<YAML::Node> items;
  if (v.IsScalar()) {
    items.push_back(v);
  } else if (v.IsSequence()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar())
        fail(v[i], key + "[" + std::to_string(i) + "]",
             "expected a string, found " + yaml_kind(v[i]));
      items.push_back(v[i]);
    }
  } else {
    fail(v, key, "expected a string or a list of strings, found " + yaml_kind(v));
  }
  return items;
}

int YamlReader::integer(const YAML::Node& v, const std::string& key, int min, int max) const {
  const std::string s = scalar(v, key, "an integer");
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    fail(v, key, "expected an integer, found \"" + s + "\"");
  const int n = std::stoi(s);
  if (n < min || n > max)
    fail(v, key, std::to_string(n) + " is out of range " + std::to_string(min) + ".." +
                     std::to_string(max));
  return n;
}

bool YamlReader::boolean(const YAML::Node& v, const std::string& key) const {
  const std::string s = scalar(v, key, "true or false");
  if (s == "true" || s == "yes") return true;
  if (s == "false" || s == "no") return false;
  fail(v, key, "expected true or false, found \"" + s + "\"");
}

int YamlReader::octal_mode(const YAML::Node& v, const std::string& key) const {
  const std::string ms = scalar(v, key, "an octal mode");
  static const std::regex re("0?[0-7]{3,4}");
  if (!std::regex_match(ms, re) || std::stoi(ms, nullptr, 8) > 07777)
    fail(v, key, "\"" + ms + "\" is not an octal mode like 0640");
  return std::stoi(ms, nullptr, 8);
}

// Moves (line, col) from the scalar's start to `offset` inside it.
void YamlReader::refine(const YAML::Node& at, std::size_t offset, int* line, int* col) const {
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

}  // namespace dcslab
