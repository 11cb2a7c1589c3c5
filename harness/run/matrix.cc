#include "run/matrix.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

#include "base/error.h"
#include "base/text.h"
#include "report/report_files.h"

namespace dcslab {

namespace {


}  // namespace

std::string MatrixCell::label() const {
  std::vector<std::string> parts;
  for (const auto& [k, v] : values) parts.push_back(k + "=" + v);
  return join(parts, ",");
}

std::string MatrixCell::suffix() const {
  std::vector<std::string> parts;
  for (const auto& kv : values) parts.push_back(kv.second);
  return join(parts, "-");
}

std::vector<MatrixDimension> known_matrix_dimensions() {
  // The suites a lab file's image.suite accepts: each gives a different etcd
  // (bullseye 3.3, bookworm 3.4, trixie 3.5, forky 3.5 later).
  return {{"suite", {"bullseye", "bookworm", "trixie", "forky"}}};
}

std::vector<MatrixDimension> parse_matrix_args(const std::vector<std::string>& args) {
  const auto known = known_matrix_dimensions();
  std::vector<std::string> known_keys;
  for (const auto& d : known) known_keys.push_back(d.key);
  std::vector<MatrixDimension> dims;
  for (const auto& arg : args) {
    const std::string where = "run: --matrix " + arg + ": ";
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw BadInput(where + "expected KEY=VALUE[,VALUE...] (e.g. suite=bookworm,trixie)");
    MatrixDimension d;
    d.key = arg.substr(0, eq);
    const auto k = std::find_if(known.begin(), known.end(),
                                [&](const MatrixDimension& x) { return x.key == d.key; });
    if (k == known.end())
      throw BadInput(where + "unknown dimension \"" + d.key + "\" (valid: " + join(known_keys, ", ") + ")");
    for (const auto& other : dims)
      if (other.key == d.key)
        throw BadInput(where + "dimension \"" + d.key + "\" is given twice; list its values in one --matrix");
    // Values: split on ',' keeping empty ones, which are errors.
    const std::string list = arg.substr(eq + 1);
    std::size_t start = 0;
    while (true) {
      const auto comma = list.find(',', start);
      const std::string v = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (v.empty())
        throw BadInput(where + "an empty value (valid: " + join(k->values, ", ") + ")");
      if (std::find(k->values.begin(), k->values.end(), v) == k->values.end())
        throw BadInput(where + "unknown " + d.key + " \"" + v + "\" (valid: " + join(k->values, ", ") + ")");
      if (std::find(d.values.begin(), d.values.end(), v) != d.values.end())
        throw BadInput(where + d.key + " \"" + v + "\" is listed twice");
      d.values.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    dims.push_back(std::move(d));
  }
  return dims;
}

std::vector<MatrixCell> matrix_cells(const std::vector<MatrixDimension>& dimensions) {
  if (dimensions.empty()) return {};
  std::vector<MatrixCell> cells{MatrixCell{}};
  for (const auto& d : dimensions) {
    std::vector<MatrixCell> next;
    for (const auto& c : cells)
      for (const auto& v : d.values) {
        MatrixCell n = c;
        n.values.emplace_back(d.key, v);
        next.push_back(std::move(n));
      }
    cells = std::move(next);
  }
  return cells;
}

Lab apply_cell(const Lab& lab, const MatrixCell& cell) {
  Lab out = lab;
  for (const auto& [k, v] : cell.values) {
    if (k == "suite") out.image.suite = v;
    else throw BadInput("run: --matrix: dimension \"" + k + "\" cannot be applied to a lab");
  }
  out.name = lab.name + "-" + cell.suffix();
  static const std::regex re(R"([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)");
  if (!std::regex_match(out.name, re))
    throw BadInput("run: --matrix " + cell.label() + ": the cell's lab name \"" + out.name +
                   "\" is not a valid lab name (lower-case letters, digits and '-', at most 32); "
                   "give lab " + lab.name + " a shorter name");
  return out;
}

std::string scenario_outcome(const ScenarioResult& s) {
  if (s.steps.empty() && !s.error.empty()) return "not run";
  if (!s.passed) return "FAILED";
  const bool all_skipped =
      !s.steps.empty() &&
      std::all_of(s.steps.begin(), s.steps.end(), [](const StepResult& st) { return st.skipped(); });
  return all_skipped ? "skipped" : "passed";
}

std::string matrix_table(const std::vector<std::string>& scenarios,
                         const std::vector<MatrixCellResult>& cells) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"scenario"};
  for (const auto& c : cells) head.push_back(c.cell.label());
  rows.push_back(head);
  for (const auto& name : scenarios) {
    std::vector<std::string> row{name};
    for (const auto& c : cells) {
      std::string outcome = "not run";
      for (const auto& s : c.report.scenarios)
        if (s.name == name) outcome = scenario_outcome(s);
      row.push_back(outcome);
    }
    rows.push_back(row);
  }
  std::vector<std::string> tail{"(lab, time)"};
  for (const auto& c : cells) {
    std::ostringstream t;
    t << c.lab << ", " << std::fixed << std::setprecision(1) << c.report.seconds << "s";
    tail.push_back(c.error.empty() ? t.str() : c.lab + ", did not run");
  }
  rows.push_back(tail);
  std::vector<std::size_t> width(head.size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::ostringstream out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
  return out.str();
}

std::string matrix_junit_xml(const std::string& name, const std::vector<MatrixCellResult>& cells) {
  std::vector<JunitGroup> groups;
  for (const auto& c : cells) {
    JunitGroup g{name + "[" + c.cell.label() + "]", c.cell.values, c.report, c.error};
    g.properties.emplace_back("lab", c.lab);
    groups.push_back(std::move(g));
  }
  return junit_grouped_xml("dcslab matrix " + name, name, groups);
}

std::string matrix_json(const std::vector<MatrixDimension>& dimensions,
                        const std::vector<MatrixCellResult>& cells, const std::string& name,
                        const ShardInfo& shard, const std::string& seed) {
  using nlohmann::json;
  json root;
  if (!name.empty()) root["name"] = name;
  if (!seed.empty()) root["seed"] = seed;
  if (shard.count > 0) root["shard"] = json::parse(shard_json(shard));
  root["matrix"] = json::array();
  for (const auto& d : dimensions) root["matrix"].push_back({{"key", d.key}, {"values", d.values}});
  root["cells"] = json::array();
  for (const auto& c : cells) {
    json j;
    j["cell"] = json::object();
    for (const auto& [k, v] : c.cell.values) j["cell"][k] = v;
    j["label"] = c.cell.label();
    j["lab"] = c.lab;
    j["exit"] = c.exit_status;
    if (!c.error.empty()) j["error"] = c.error;
    else j["report"] = json::parse(json_report(c.report));
    root["cells"].push_back(std::move(j));
  }
  root["passed"] = matrix_exit_status(cells) == 0;
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

int matrix_exit_status(const std::vector<MatrixCellResult>& cells) {
  int status = 0;
  for (const auto& c : cells) status = std::max(status, c.exit_status);
  return status;
}

}  // namespace dcslab
