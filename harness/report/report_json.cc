#include <nlohmann/json.hpp>

#include "report/report_files.h"

namespace dcslab {

std::string shard_json(const ShardInfo& shard) {
  const nlohmann::json j = {{"index", shard.index}, {"count", shard.count}, {"run", shard.run},
                            {"order", shard.order}, {"slice", shard.slice}};
  return j.dump();
}

std::string json_report(const RunReport& report) {
  using nlohmann::json;
  json root;
  root["lab"] = report.lab;
  root["started_at"] = report.started_at;
  // A number when it fits a double exactly (dcslab's own seeds do), else its text.
  if (!report.seed.empty()) {
    const unsigned long long seed = std::stoull(report.seed);
    if (seed < (1ULL << 53)) root["seed"] = seed;
    else root["seed"] = report.seed;
    root["replay"] = "--seed " + report.seed;
  }
  root["seconds"] = report.seconds;
  if (report.shard.count > 0) root["shard"] = json::parse(shard_json(report.shard));
  root["passed"] = report.failed() == 0;
  root["scenarios"] = json::array();
  for (const auto& sc : report.scenarios) {
    json s;
    s["name"] = sc.name;
    s["description"] = sc.description;
    s["file"] = sc.file;
    s["lab"] = sc.lab;
    s["started_at"] = sc.started_at;
    s["seconds"] = sc.seconds;
    s["passed"] = sc.passed;
    s["infrastructure_failed"] = sc.infrastructure_failed;
    s["interrupted"] = sc.interrupted;
    if (!sc.error.empty()) s["error"] = sc.error;
    s["not_run"] = sc.not_run;
    s["steps"] = json::array();
    for (const auto& st : sc.steps) {
      json j;
      j["index"] = st.index;
      j["name"] = st.name;
      j["action"] = st.action;
      j["expected"] = st.expected;
      j["passed"] = st.passed;
      j["skipped"] = st.skipped();
      j["nodes"] = json::array();
      for (const auto& n : st.nodes) {
        json nj;
        nj["node"] = n.node;
        nj["user"] = n.user;
        nj["command"] = n.command;
        if (!n.input.empty()) nj["input"] = n.input;
        nj["exit"] = n.exit_status;
        nj["stdout"] = n.out;
        nj["stderr"] = n.err;
        // Bytes past the output limit, not in stdout/stderr above.
        nj["stdout_dropped"] = n.out_dropped;
        nj["stderr_dropped"] = n.err_dropped;
        nj["passed"] = n.passed;
        nj["skipped"] = n.skipped;
        if (n.skipped) nj["skip_reason"] = n.skip_reason;
        nj["attempts"] = n.attempts;
        nj["seconds"] = n.seconds;
        nj["failures"] = n.failures;
        if (!n.error.empty()) nj["error"] = n.error;
        j["nodes"].push_back(std::move(nj));
      }
      s["steps"].push_back(std::move(j));
    }
    root["scenarios"].push_back(std::move(s));
  }
  // Observed output may be any bytes; invalid UTF-8 becomes U+FFFD instead of throwing.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace dcslab
