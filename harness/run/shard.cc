#include "run/shard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/digest.h"
#include "base/error.h"
#include "base/text.h"
#include "report/report_files.h"
#include "run/matrix.h"

namespace dcslab {

namespace {

constexpr int kMaxShards = 256;

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const std::string k = slash == std::string::npos ? "" : text.substr(0, slash);
  const std::string n = slash == std::string::npos ? "" : text.substr(slash + 1);
  if (!all_digits(k) || !all_digits(n))
    throw BadInput("run: --shard: \"" + text + "\" is not K/N (shard K of N, e.g. 2/4)");
  ShardSpec s{std::stoi(k), std::stoi(n)};
  if (s.count < 1 || s.count > kMaxShards)
    throw BadInput("run: --shard: " + text + ": N must be from 1 to " + std::to_string(kMaxShards));
  if (s.index < 1 || s.index > s.count)
    throw BadInput("run: --shard: " + text + ": K must be from 1 to N (" + std::to_string(s.count) +
                   "); CI indexes from 0 are K+1");
  return s;
}

std::vector<std::vector<std::string>> shard_scenarios(const std::vector<std::string>& selected,
                                                      const RequiresOf& requires_of,
                                                      const std::function<double(const std::string&)>& cost,
                                                      int count) {
  auto slices = partition_scenarios(selected, requires_of, cost, count);
  slices.resize(static_cast<std::size_t>(std::max(count, 1)));
  return slices;
}

std::vector<std::size_t> shard_cells(std::size_t cells, const ShardSpec& shard) {
  std::vector<std::size_t> mine;
  for (std::size_t i = static_cast<std::size_t>(shard.index - 1); i < cells;
       i += static_cast<std::size_t>(shard.count))
    mine.push_back(i);
  return mine;
}

std::string run_digest(const std::vector<std::string>& lines) {
  Sha256 h;
  for (const auto& l : lines) {
    h.update(l);
    h.update("\n");
  }
  return h.hex_digest();
}

std::uint64_t shard_seed(const std::string& digest) {
  return stable_hash("shard seed " + digest) & ((1ULL << 53) - 1);
}

namespace {

using nlohmann::json;

// One input, read and checked: what it is and which shard.
struct Shard {
  std::string file;
  json root;
  RunReport report;  // a plain run's; a matrix's: its shard and seed only
  bool matrix = false;
};

Shard read_shard(const ShardReportFile& in) {
  Shard s;
  s.file = in.file;
  const auto first = in.text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && in.text[first] == '<')
    throw BadInput(in.file + ": an XML file, not a dcslab JSON report: merge the shards' JSON "
                   "reports (run --json, or report.json in the artifacts); the merged JUnit is "
                   "made from them");
  try {
    s.root = json::parse(in.text);
  } catch (const json::exception& e) {
    throw BadInput(in.file + ": not a dcslab JSON report (" + e.what() + ")");
  }
  if (!s.root.is_object() || !(s.root.contains("scenarios") || s.root.contains("cells")))
    throw BadInput(in.file + ": not a dcslab JSON report (no \"scenarios\" or \"cells\")");
  s.matrix = s.root.contains("cells");
  auto r = report_from_json(in.text);
  if (!r) throw BadInput(in.file + ": " + r.error().message);
  s.report = std::move(*r);
  if (s.report.shard.count == 0)
    throw BadInput(in.file + ": not a shard's report (no \"shard\": it was not run with --shard K/N)");
  const ShardInfo& sh = s.report.shard;
  if (sh.index < 1 || sh.index > sh.count)
    throw BadInput(in.file + ": shard: index " + std::to_string(sh.index) + " is not from 1 to " +
                   std::to_string(sh.count));
  return s;
}

// The shards of one run, each once, all of them; in shard order.
std::vector<Shard> check_shards(std::vector<Shard> shards) {
  if (shards.empty()) throw BadInput("report merge: no reports given");
  const Shard& a = shards.front();
  const ShardInfo& ra = a.report.shard;
  std::map<int, const Shard*> by_index;
  for (const Shard& s : shards) {
    const ShardInfo& r = s.report.shard;
    const std::string other = " (" + a.file + " is shard " + std::to_string(ra.index) + "/" +
                              std::to_string(ra.count) + " of run " + ra.run.substr(0, 12) + ")";
    if (s.matrix != a.matrix)
      throw BadInput(s.file + ": a " + (s.matrix ? "matrix's" : "plain run's") + " shard, but " +
                     a.file + " is a " + (a.matrix ? "matrix's" : "plain run's"));
    if (r.run != ra.run || r.order != ra.order)
      throw BadInput(s.file + ": shard of another run: run " + r.run.substr(0, 12) +
                     " (other scenarios, files or cells)" + other);
    if (r.count != ra.count)
      throw BadInput(s.file + ": shard " + std::to_string(r.index) + "/" + std::to_string(r.count) +
                     ": another number of shards" + other);
    if (s.report.seed != a.report.seed)
      throw BadInput(s.file + ": seed " + s.report.seed + ", but " + a.file + " has seed " +
                     a.report.seed + " (the shards of one run share --seed)");
    if (auto [it, added] = by_index.emplace(r.index, &s); !added)
      throw BadInput(s.file + ": shard " + std::to_string(r.index) + "/" + std::to_string(r.count) +
                     " again (also " + it->second->file + ")");
  }
  std::vector<std::string> missing;
  for (int k = 1; k <= ra.count; ++k)
    if (!by_index.count(k)) missing.push_back(std::to_string(k) + "/" + std::to_string(ra.count));
  if (!missing.empty())
    throw BadInput("report merge: shard" + std::string(missing.size() > 1 ? "s " : " ") +
                   join(missing, ", ") + " missing (given: " + std::to_string(shards.size()) +
                   " of " + std::to_string(ra.count) + ")");
  // The slices cover the run once: a selected scenario (a cell) in two shards, or in
  // none, means the reports were not made by this dcslab's slicing of one run.
  std::map<std::string, std::string> owner;
  for (const Shard& s : shards)
    for (const auto& item : s.report.shard.slice)
      if (auto [it, added] = owner.emplace(item, s.file); !added)
        throw BadInput(s.file + ": shard: \"" + item + "\" is also in the slice of " + it->second);
  std::sort(shards.begin(), shards.end(),
            [](const Shard& x, const Shard& y) { return x.report.shard.index < y.report.shard.index; });
  return shards;
}

int run_exit_status(const RunReport& r) {
  if (r.infrastructure_failed()) return 3;
  return r.failed() ? 1 : 0;
}

MergedReports merge_runs(const std::vector<Shard>& shards) {
  const ShardInfo& info = shards.front().report.shard;
  RunReport merged;
  merged.lab = shards.front().report.lab;
  merged.seed = shards.front().report.seed;
  merged.started_at = shards.front().report.started_at;
  // Each scenario once, in the run's order. A requirement that was not selected ran in
  // every shard that needed it: one result of it, the first failed one if any failed (a
  // failure is never hidden), else the first.
  std::map<std::string, std::vector<const ScenarioResult*>> results;
  std::vector<const ScenarioResult*> unknown;  // not a scenario of the run: dcslab's own error
  const std::set<std::string> in_order(info.order.begin(), info.order.end());
  for (const Shard& s : shards) {
    if (!s.report.started_at.empty() && (merged.started_at.empty() || s.report.started_at < merged.started_at))
      merged.started_at = s.report.started_at;
    merged.seconds = std::max(merged.seconds, s.report.seconds);
    for (const auto& sc : s.report.scenarios) {
      if (in_order.count(sc.name)) results[sc.name].push_back(&sc);
      else unknown.push_back(&sc);
    }
  }
  for (const auto& name : info.order) {
    auto it = results.find(name);
    if (it == results.end()) continue;  // not run anywhere (a lab state provided it)
    const ScenarioResult* pick = it->second.front();
    for (const ScenarioResult* r : it->second)
      if (!r->passed) {
        pick = r;
        break;
      }
    merged.scenarios.push_back(*pick);
  }
  for (const ScenarioResult* r : unknown) merged.scenarios.push_back(*r);

  MergedReports out;
  out.items = static_cast<int>(merged.scenarios.size());
  out.failed = merged.failed();
  out.exit_status = run_exit_status(merged);
  out.json = json_report(merged);
  out.junit = junit_xml(merged);
  out.transcript = transcript_markdown(merged);
  return out;
}

MergedReports merge_matrices(const std::vector<Shard>& shards) {
  const ShardInfo& info = shards.front().report.shard;
  const json& first = shards.front().root;
  std::vector<MatrixDimension> dims;
  std::string name;
  try {
    name = first.value("name", "scenarios");
    for (const auto& d : first.at("matrix"))
      dims.push_back({d.at("key").get<std::string>(), d.at("values").get<std::vector<std::string>>()});
  } catch (const json::exception& e) {
    throw BadInput(shards.front().file + ": matrix: " + e.what());
  }
  std::map<std::string, MatrixCellResult> by_label;
  for (const Shard& s : shards) {
    try {
      for (const auto& c : s.root.at("cells")) {
        MatrixCellResult r;
        for (const auto& d : dims) r.cell.values.emplace_back(d.key, c.at("cell").at(d.key).get<std::string>());
        r.lab = c.value("lab", "");
        r.exit_status = c.value("exit", 3);
        r.error = c.value("error", "");
        if (c.contains("report")) {
          auto rep = report_from_json(c.at("report").dump());
          if (!rep) throw BadInput(s.file + ": cell " + r.cell.label() + ": " + rep.error().message);
          r.report = std::move(*rep);
        }
        const std::string label = r.cell.label();
        if (std::find(info.order.begin(), info.order.end(), label) == info.order.end())
          throw BadInput(s.file + ": cell " + label + " is not one of the run's cells");
        if (by_label.count(label)) throw BadInput(s.file + ": cell " + label + " is in two shards' reports");
        by_label.emplace(label, std::move(r));
      }
    } catch (const json::exception& e) {
      throw BadInput(s.file + ": cells: " + e.what());
    }
  }
  std::vector<MatrixCellResult> cells;
  for (const auto& label : info.order)
    if (auto it = by_label.find(label); it != by_label.end()) cells.push_back(std::move(it->second));
  MergedReports out;
  out.items = static_cast<int>(cells.size());
  for (const auto& c : cells) out.failed += c.exit_status == 0 ? 0 : 1;
  out.exit_status = matrix_exit_status(cells);
  out.json = matrix_json(dims, cells, name, {}, shards.front().report.seed);
  out.junit = matrix_junit_xml(name, cells);
  for (const auto& c : cells)
    if (c.error.empty()) out.transcript += transcript_markdown(c.report) + "\n";
  return out;
}

}  // namespace

MergedReports merge_shard_reports(const std::vector<ShardReportFile>& inputs) {
  std::vector<Shard> shards;
  for (const auto& in : inputs) shards.push_back(read_shard(in));
  shards = check_shards(std::move(shards));
  MergedReports out = shards.front().matrix ? merge_matrices(shards) : merge_runs(shards);
  out.matrix = shards.front().matrix;
  out.shards = static_cast<int>(shards.size());
  out.run = shards.front().report.shard.run;
  return out;
}

}  // namespace dcslab
