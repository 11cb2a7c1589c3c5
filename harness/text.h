// Small string helpers shared by the parsers of command output and files.
#pragma once

#include <string>
#include <string_view>

namespace dcslab {

// `s` without its leading and trailing blanks (space, tab, CR, LF).
inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

}  // namespace dcslab
