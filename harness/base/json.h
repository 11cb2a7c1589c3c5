// JSON text in, a value or why not out: the one place dcslab turns text into
// nlohmann::json, so every reader says where the text broke the same way.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace dcslab {

// Why text is not JSON: the 1-based line where the parser stopped, and its reason
// without nlohmann's exception tag ("syntax error while parsing value - ...").
struct JsonError {
  int line = 1;
  std::string reason;
  // "not JSON: line 3: syntax error ..." — for a message that names no file.
  std::string message() const;
};

Expected<nlohmann::json, JsonError> parse_json(std::string_view text);

// The 1-based line of byte offset `byte` in text (clamped to its end).
int line_of_byte(std::string_view text, std::size_t byte);

}  // namespace dcslab
