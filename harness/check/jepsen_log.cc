#include "check/jepsen_log.h"

#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "base/file.h"

namespace dcslab {

namespace {

struct Open {
  std::size_t op;   // index into the history
  std::string f;    // ":read", ":write", ":cas"
  int line;
};

std::optional<std::string> jepsen_value(const std::string& token) {
  if (token == "nil") return std::nullopt;
  return token;
}

}  // namespace

KvHistory read_jepsen_log(const std::string& text, const std::string& source) {
  KvHistory h;
  h.source = source;
  h.time_unit = "line";
  std::map<long, Open> open;  // process -> its op in flight
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  auto bad = [&](const std::string& what) -> BadInput {
    return BadInput(source + ":" + std::to_string(lineno) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    // Another logger's line (jepsen.core, a nemesis's output...): not an operation.
    std::size_t at = 0;
    while (at < tok.size() && tok[at] != "jepsen.util") ++at;
    if (at == tok.size() || at + 1 >= tok.size() || tok[at + 1] != "-") continue;
    const std::vector<std::string> f(tok.begin() + static_cast<long>(at) + 2, tok.end());
    if (f.empty()) throw bad("a jepsen.util line with no process");
    if (f[0].starts_with(":")) continue;  // :nemesis: a fault, not a client's op
    if (f.size() < 4)
      throw bad("expected \"<process> <type> <f> <value>\", got \"" + line.substr(line.find(" - ") + 3) + "\"");
    long process = 0;
    try {
      std::size_t used = 0;
      process = std::stol(f[0], &used);
      if (used != f[0].size()) throw std::invalid_argument(f[0]);
    } catch (const std::exception&) {
      throw bad("process \"" + f[0] + "\" is not a number");
    }
    const std::string& type = f[1];
    const std::string& fn = f[2];
    std::string value = f[3];
    for (std::size_t i = 4; i < f.size(); ++i) value += " " + f[i];
    if (fn != ":read" && fn != ":write" && fn != ":cas")
      throw bad("function \"" + fn + "\" (valid: :read, :write, :cas)");

    if (type == ":invoke") {
      if (auto it = open.find(process); it != open.end())
        throw bad("process " + std::to_string(process) + " invokes again while its op from line " +
                  std::to_string(it->second.line) + " is open");
      KvOp op;
      op.key = "register";
      op.client = "process " + std::to_string(process);
      op.name = "line " + std::to_string(lineno);
      op.call = lineno;
      op.outcome = KvOutcome::Info;  // until its completion says otherwise
      if (fn == ":read") {
        op.kind = KvKind::Read;
      } else if (fn == ":write") {
        op.kind = KvKind::Put;
        if (value == "nil") throw bad("a write of nil");
        op.value = value;
      } else {
        op.kind = KvKind::Cas;
        if (value.size() < 2 || value.front() != '[' || value.back() != ']')
          throw bad("a cas's value is \"[expected new]\", got \"" + value + "\"");
        std::istringstream vs(value.substr(1, value.size() - 2));
        std::string from, to, extra;
        if (!(vs >> from >> to) || (vs >> extra) || to == "nil")
          throw bad("a cas's value is \"[expected new]\", got \"" + value + "\"");
        op.expected = jepsen_value(from);
        op.value = to;
      }
      open[process] = {h.ops.size(), fn, lineno};
      h.ops.push_back(std::move(op));
      continue;
    }
    if (type != ":ok" && type != ":fail" && type != ":info")
      throw bad("type \"" + type + "\" (valid: :invoke, :ok, :fail, :info)");
    auto it = open.find(process);
    if (it == open.end())
      throw bad("process " + std::to_string(process) + " completes (" + type + ") an op it never invoked");
    if (it->second.f != fn)
      throw bad("process " + std::to_string(process) + " completes " + fn + ", but invoked " + it->second.f +
                " at line " + std::to_string(it->second.line));
    KvOp& op = h.ops[it->second.op];
    open.erase(it);
    op.ret = lineno;
    if (type == ":info") continue;  // no answer
    if (type == ":fail") {
      if (op.kind == KvKind::Cas) op.outcome = KvOutcome::Ok;     // found something else
      else if (op.kind == KvKind::Put) op.outcome = KvOutcome::Fail;
      continue;                                                    // a read: timed out, info
    }
    op.outcome = KvOutcome::Ok;
    if (op.kind == KvKind::Read) op.value = jepsen_value(value);
    if (op.kind == KvKind::Cas) op.swapped = true;
  }
  if (h.ops.empty())
    throw BadInput(source + ": no Jepsen operations (lines \"INFO jepsen.util - PROCESS :TYPE :F VALUE\")");
  return h;  // ops still open never returned: info, as they are
}

KvHistory read_jepsen_log_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) throw BadInput(text.error().message);
  return read_jepsen_log(*text, path.string());
}

}  // namespace dcslab
