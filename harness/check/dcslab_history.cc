#include "check/dcslab_history.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "base/error.h"
#include "base/file.h"
#include "base/json.h"

namespace dcslab {

namespace {

using nlohmann::json;

// The line where each element of the top-level object's "ops" array begins, for
// messages: nlohmann's values do not keep their place. Runs on text that parsed.
std::vector<int> op_lines(const std::string& t) {
  std::vector<int> lines;
  int line = 1, depth = 0;
  bool in_ops = false, expect = false;
  std::string last_key;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (expect && c != ']') {
      lines.push_back(line);
      expect = false;
    }
    if (c == '"') {
      std::string s;
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\') ++i;
        else s += t[i];
      }
      if (depth == 1) {
        std::size_t j = i + 1;
        while (j < t.size() && std::isspace(static_cast<unsigned char>(t[j]))) ++j;
        if (j < t.size() && t[j] == ':') last_key = s;
      }
    } else if (c == '{' || c == '[') {
      ++depth;
      if (c == '[' && depth == 2 && last_key == "ops") in_ops = expect = true;
    } else if (c == '}' || c == ']') {
      --depth;
      if (depth < 2) in_ops = expect = false;
    } else if (c == ',' && in_ops && depth == 2) {
      expect = true;
    }
  }
  return lines;
}

}  // namespace

KvHistory read_dcslab_history(const std::string& text, const std::string& source) {
  auto parsed = parse_json(text);
  if (!parsed) throw BadInput(source + ":" + std::to_string(parsed.error().line) + ": not JSON: " + parsed.error().reason);
  const json& j = *parsed;
  if (!j.is_object()) throw BadInput(source + ":1: a history is a JSON object");
  if (!j.contains("ops") || !j.at("ops").is_array())
    throw BadInput(source + ":1: ops: missing (the list of operations)");
  const std::vector<int> lines = op_lines(text);
  std::string writer = "writer";
  if (j.contains("name") && j.at("name").is_string() && !j.at("name").get<std::string>().empty())
    writer = j.at("name").get<std::string>();

  KvHistory h;
  h.source = source;
  h.time_unit = "ms";
  std::set<std::int64_t> ids;
  const json& ops = j.at("ops");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const json& o = ops[i];
    const std::string at = source + ":" + std::to_string(i < lines.size() ? lines[i] : 1) + ": ops[" +
                           std::to_string(i) + "]";
    auto bad = [&](const std::string& field, const std::string& what) {
      return BadInput(at + (field.empty() ? "" : "." + field) + ": " + what);
    };
    if (!o.is_object()) throw bad("", "an operation is a JSON object");
    auto str = [&](const char* k, bool required) -> std::optional<std::string> {
      if (!o.contains(k)) {
        if (required) throw bad(k, "missing");
        return std::nullopt;
      }
      if (!o.at(k).is_string()) throw bad(k, "not a string: " + o.at(k).dump());
      return o.at(k).get<std::string>();
    };
    auto num = [&](const char* k, bool required) -> std::optional<double> {
      if (!o.contains(k)) {
        if (required) throw bad(k, "missing");
        return std::nullopt;
      }
      if (!o.at(k).is_number()) throw bad(k, "not a number: " + o.at(k).dump());
      return o.at(k).get<double>();
    };
    auto integer = [&](const char* k, bool required) -> std::optional<std::int64_t> {
      if (!o.contains(k)) {
        if (required) throw bad(k, "missing");
        return std::nullopt;
      }
      if (!o.at(k).is_number_integer()) throw bad(k, "not an integer: " + o.at(k).dump());
      return o.at(k).get<std::int64_t>();
    };
    auto boolean = [&](const char* k) -> bool {
      if (!o.contains(k)) return false;
      if (!o.at(k).is_boolean()) throw bad(k, "not true or false: " + o.at(k).dump());
      return o.at(k).get<bool>();
    };

    KvOp op;
    const std::int64_t id = *integer("id", true);
    if (!ids.insert(id).second) throw bad("id", std::to_string(id) + " twice");
    op.name = "#" + std::to_string(id);
    const std::string kind = *str("kind", true);
    if (kind == "put") op.kind = KvKind::Put;
    else if (kind == "get") op.kind = KvKind::Read;
    else if (kind == "cas") op.kind = KvKind::Cas;
    else throw bad("kind", "\"" + kind + "\" (valid: put, get, cas)");
    op.key = *str("key", true);
    const std::string status = *str("status", true);
    if (status == "ok") op.outcome = KvOutcome::Ok;
    else if (status == "failed") op.outcome = KvOutcome::Fail;
    else if (status == "indeterminate") op.outcome = KvOutcome::Info;
    else throw bad("status", "\"" + status + "\" (valid: ok, failed, indeterminate)");
    const bool found = boolean("found");
    if (op.kind != KvKind::Read) op.value = *str("value", true);
    else if (found) op.value = *str("value", true);
    if (op.kind == KvKind::Cas) {
      const bool by_value = o.contains("expect_value"), by_revision = o.contains("expect_revision");
      if (by_value == by_revision)
        throw bad("", "a cas compares either expect_value or expect_revision (one of them)");
      if (by_revision) {
        op.expected_revision = *integer("expect_revision", true);
        if (*op.expected_revision < 0) throw bad("expect_revision", "negative");
      } else if (!o.at("expect_value").is_null()) {
        op.expected = *str("expect_value", true);
      }
      if (op.outcome == KvOutcome::Ok && !o.contains("swapped"))
        throw bad("swapped", "missing (a cas that answered swapped or not)");
      op.swapped = op.outcome == KvOutcome::Ok && boolean("swapped");
    }
    op.revision = integer("revision", false).value_or(0);
    if (op.revision < 0) throw bad("revision", "negative");
    op.call = *num("start_ms", true);
    op.ret = *num("end_ms", true);
    if (op.ret < op.call) throw bad("end_ms", "before start_ms");
    op.endpoint = str("endpoint", false).value_or("");
    op.final = boolean("final");
    op.client = str("client", false).value_or(op.final ? "check" : writer);
    if (op.outcome == KvOutcome::Ok && op.kind == KvKind::Put && op.revision <= 0)
      throw bad("revision", "an acknowledged put needs its revision");
    if (op.outcome == KvOutcome::Ok && op.kind == KvKind::Cas && op.swapped && op.revision <= 0)
      throw bad("revision", "a swapped cas needs its revision");
    if (op.kind == KvKind::Cas && !op.swapped) op.revision = 0;
    if (op.outcome == KvOutcome::Ok && op.kind == KvKind::Read && found && op.revision <= 0)
      throw bad("revision", "a read that found the key needs its mod_revision");
    if (op.outcome != KvOutcome::Ok) op.revision = 0;
    h.ops.push_back(std::move(op));
  }
  return h;
}

KvHistory read_dcslab_history_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) throw BadInput(text.error().message);
  return read_dcslab_history(*text, path.string());
}

}  // namespace dcslab
