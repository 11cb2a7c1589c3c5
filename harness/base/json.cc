#include "base/json.h"

#include <algorithm>

namespace dcslab {

std::string JsonError::message() const { return "not JSON: line " + std::to_string(line) + ": " + reason; }

int line_of_byte(std::string_view text, std::size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(byte), '\n'));
}

Expected<nlohmann::json, JsonError> parse_json(std::string_view text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's what() is "[json.exception.parse_error.101] parse error at line L, column
    // C: REASON"; the line is recomputed from the byte so that every caller agrees on it.
    std::string reason = e.what();
    if (const auto colon = reason.find(": "); reason.rfind("[json.exception.", 0) == 0 && colon != std::string::npos)
      reason.erase(0, colon + 2);
    return JsonError{line_of_byte(text, e.byte ? e.byte - 1 : 0), std::move(reason)};
  }
}

}  // namespace dcslab
