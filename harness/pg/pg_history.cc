#include "base/json.h"
#include "pg/pg_history.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace dcslab {

const char* pg_outcome_name(PgOutcome o) {
  switch (o) {
    case PgOutcome::Acknowledged: return "acknowledged";
    case PgOutcome::Failed: return "failed";
    case PgOutcome::Indeterminate: return "indeterminate";
  }
  return "?";
}

namespace {

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

std::string describe(const PgWrite& w) {
  return "write #" + std::to_string(w.id) + " (seq " + std::to_string(w.seq) + ", " +
         pg_outcome_name(w.outcome) + (w.node.empty() ? "" : " on " + w.node) +
         (w.timeline ? ", timeline " + std::to_string(w.timeline) : "") + ", " + ms(w.start_ms) +
         " to " + ms(w.end_ms) + ")";
}

// The ack was told its commit is local only: it was not synchronous after all.
bool sync_cancelled(const PgWrite& w) {
  for (const auto& n : w.notices)
    if (n.find("synchronous replication") != std::string::npos) return true;
  return false;
}

// "#3, #4, #5 .. #40 (38)" for a finding's message, not all of a long list.
std::string id_list(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < 5; ++i) s += (i ? ", #" : "#") + std::to_string(ids[i]);
  if (ids.size() > 5) s += " .. #" + std::to_string(ids.back()) + " (" + std::to_string(ids.size()) + ")";
  return s;
}

}  // namespace

bool PgCheckResult::passed() const {
  for (const auto& f : findings)
    if (f.failure) return false;
  return true;
}

std::string PgCheckResult::summary() const {
  std::string prim;
  for (const auto& t : tenures) prim += (prim.empty() ? "" : " -> ") + t.str();
  std::string s = "writes " + std::to_string(writes) + ": acknowledged " + std::to_string(acknowledged) +
                  " (synchronous " + std::to_string(acknowledged_sync) + "), failed " +
                  std::to_string(failed) + ", indeterminate " + std::to_string(indeterminate) +
                  "; primaries " + (prim.empty() ? "none" : prim) + "; split brain " +
                  std::to_string(split_brain) + ", timeline forks " + std::to_string(timeline_forks) + "; ";
  if (final_read)
    s += "final read on " + final_node + ": lost " + std::to_string(lost) + " (failing " +
         std::to_string(lost_sync) + "), indeterminate applied " + std::to_string(indeterminate_applied) +
         ", unexplained " + std::to_string(unexplained);
  else
    s += "no final read" + std::string(unverified ? " (unverified)" : "");
  if (longest.after_write || longest.before_write || longest.open)
    s += "; longest without an acknowledged write " + ms(longest.ms()) +
         (longest.open ? " (open: none after it)" : "");
  return s;
}

PgCheckResult check_pg_history(const PgHistory& h, const PgCheckOptions& options) {
  PgCheckResult res;
  std::vector<const PgWrite*> acks;
  std::map<std::int64_t, const PgWrite*> by_seq;
  for (const auto& w : h.writes) {
    ++res.writes;
    by_seq[w.seq] = &w;
    switch (w.outcome) {
      case PgOutcome::Acknowledged:
        ++res.acknowledged;
        if (w.sync && !sync_cancelled(w)) ++res.acknowledged_sync;
        acks.push_back(&w);
        break;
      case PgOutcome::Failed: ++res.failed; break;
      case PgOutcome::Indeterminate: ++res.indeterminate; break;
    }
  }
  std::stable_sort(acks.begin(), acks.end(), [](const PgWrite* a, const PgWrite* b) {
    return a->end_ms != b->end_ms ? a->end_ms < b->end_ms : a->id < b->id;
  });

  // Tenures: (node, timeline), in order of their first ack. For the split-brain test each
  // keeps its latest-starting and earliest-ending ack.
  struct Span {
    PgTenure t;
    const PgWrite* latest_start = nullptr;
    const PgWrite* earliest_end = nullptr;
  };
  std::vector<Span> spans;
  std::map<std::pair<std::string, int>, std::size_t> index;
  std::map<std::int64_t, std::size_t> tenure_of;  // write id -> span
  for (const PgWrite* w : acks) {
    auto [it, added] = index.try_emplace({w->node, w->timeline}, spans.size());
    if (added) {
      Span s;
      s.t.node = w->node;
      s.t.timeline = w->timeline;
      s.t.first_write = w->id;
      s.t.first_start_ms = w->start_ms;
      s.t.first_end_ms = w->end_ms;
      s.latest_start = s.earliest_end = w;
      spans.push_back(s);
    }
    Span& s = spans[it->second];
    ++s.t.acknowledged;
    s.t.last_write = w->id;
    s.t.last_start_ms = w->start_ms;
    s.t.last_end_ms = w->end_ms;
    if (w->start_ms > s.latest_start->start_ms) s.latest_start = w;
    if (w->end_ms < s.earliest_end->end_ms) s.earliest_end = w;
    tenure_of[w->id] = it->second;
  }
  for (const auto& s : spans) res.tenures.push_back(s.t);

  for (std::size_t i = 0; i < spans.size(); ++i) {
    for (std::size_t j = i + 1; j < spans.size(); ++j) {
      const Span& x = spans[i];
      const Span& y = spans[j];
      if (x.t.node == y.t.node) {
        if (y.t.timeline < x.t.timeline) {
          ++res.timeline_forks;
          res.findings.push_back({"timeline_fork", {x.t.first_write, y.t.first_write},
                                  x.t.node + " acknowledged writes on timeline " + std::to_string(y.t.timeline) +
                                      " (from write #" + std::to_string(y.t.first_write) + ") after it had on timeline " +
                                      std::to_string(x.t.timeline) + " (from write #" +
                                      std::to_string(x.t.first_write) + "): timelines only rise"});
        }
        continue;
      }
      // No moment separates them: each has a write that started after the other had one
      // acknowledged.
      const bool x_after_y = x.latest_start->start_ms > y.earliest_end->end_ms;
      const bool y_after_x = y.latest_start->start_ms > x.earliest_end->end_ms;
      if (x_after_y && y_after_x) {
        ++res.split_brain;
        res.findings.push_back(
            {"split_brain",
             {x.latest_start->id, y.earliest_end->id, y.latest_start->id, x.earliest_end->id},
             x.t.str() + " and " + y.t.str() + " both acknowledged writes as primary at once: " +
                 describe(*x.latest_start) + " started after " + describe(*y.earliest_end) +
                 " was acknowledged, and " + describe(*y.latest_start) + " started after " +
                 describe(*x.earliest_end) + " was"});
      }
      // Promotions raise the timeline: a later primary elsewhere at the same or a lower
      // one is another lineage.
      if (y.t.timeline <= x.t.timeline) {
        ++res.timeline_forks;
        const std::string what =
            y.t.timeline == x.t.timeline
                ? "two nodes acknowledged writes on timeline " + std::to_string(x.t.timeline) + ": " +
                      x.t.node + " (from write #" + std::to_string(x.t.first_write) + ") and " + y.t.node +
                      " (from write #" + std::to_string(y.t.first_write) + ")"
                : y.t.str() + " acknowledged writes (from write #" + std::to_string(y.t.first_write) +
                      ") after " + x.t.str() + " had (from write #" + std::to_string(x.t.first_write) +
                      "), on a lower timeline";
        res.findings.push_back({"timeline_fork", {x.t.first_write, y.t.first_write},
                                what + ": two lineages of the data"});
      }
    }
  }

  // Loss: every acknowledged row must be on the primary left at the end.
  const PgFinalRead* final = nullptr;
  for (const auto& r : h.final_reads)
    if (r.ok) final = &r;
  if (final) {
    res.final_read = true;
    res.final_node = final->node + (final->timeline ? "/timeline " + std::to_string(final->timeline) : "");
    std::map<std::int64_t, const std::string*> rows;
    for (const auto& [seq, value] : final->rows) rows[seq] = &value;
    // Lost acks, grouped by tenure and by whether they fail the check.
    std::map<std::pair<std::size_t, bool>, std::vector<const PgWrite*>> lost;
    for (const PgWrite* w : acks) {
      auto it = rows.find(w->seq);
      if (it == rows.end()) {
        const bool failing = h.synchronous && w->sync && !sync_cancelled(*w);
        ++res.lost;
        if (failing) ++res.lost_sync;
        lost[{tenure_of[w->id], failing}].push_back(w);
      } else if (*it->second != w->value) {
        ++res.unexplained;
        res.findings.push_back({"unexplained", {w->id},
                                describe(*w) + " wrote \"" + w->value + "\" but the final read on " +
                                    res.final_node + " shows \"" + *it->second + "\""});
      }
    }
    for (const auto& [key, ws] : lost) {
      const Span& s = spans[key.first];
      std::vector<std::int64_t> ids;
      for (const PgWrite* w : ws) ids.push_back(w->id);
      std::sort(ids.begin(), ids.end());
      std::string why;
      if (key.second)
        why = "committed with synchronous replication";
      else if (!h.synchronous)
        why = "asynchronous replication: counted, not failed";
      else
        why = "not committed synchronously (no synchronous standby configured then, or the wait was "
              "cancelled): counted, not failed";
      res.findings.push_back({"lost", ids,
                              std::to_string(ws.size()) + " acknowledged write(s) of " + s.t.str() +
                                  " missing from the final read on " + res.final_node + ": " + id_list(ids) +
                                  ", acknowledged " + ms(ws.front()->end_ms) + " to " + ms(ws.back()->end_ms) +
                                  " (" + why + ")",
                              key.second});
    }
    for (const auto& [seq, value] : rows) {
      auto w = by_seq.find(seq);
      if (w == by_seq.end()) {
        ++res.unexplained;
        res.findings.push_back({"unexplained", {},
                                "the final read on " + res.final_node + " shows seq " + std::to_string(seq) +
                                    " (\"" + *value + "\"), which no write of this history inserted"});
      } else if (w->second->outcome == PgOutcome::Failed) {
        ++res.unexplained;
        res.findings.push_back({"unexplained", {w->second->id},
                                describe(*w->second) + " is in the final read on " + res.final_node +
                                    ", but the client was told it failed: " + w->second->error});
      } else if (w->second->outcome == PgOutcome::Indeterminate) {
        ++res.indeterminate_applied;
      }
    }
  } else if (!h.final_reads.empty() || h.synchronous) {
    ++res.unverified;
    std::string why = h.final_reads.empty() ? "no final read was taken"
                                            : "no final read answered (last: " + h.final_reads.back().error + ")";
    res.findings.push_back({"unverified", {}, why + ": lost writes could not be counted", h.synchronous});
  }

  // Availability: the gaps between acknowledgements.
  double first_start = 0, last_end = 0;
  for (std::size_t i = 0; i < h.writes.size(); ++i) {
    if (i == 0 || h.writes[i].start_ms < first_start) first_start = h.writes[i].start_ms;
    last_end = std::max(last_end, h.writes[i].end_ms);
  }
  std::vector<PgGap> gaps;
  if (!h.writes.empty()) {
    if (acks.empty()) {
      gaps.push_back({first_start, last_end, last_end - first_start, 0, 0, true});
    } else {
      res.leading = {first_start, acks.front()->end_ms, std::max(0.0, acks.front()->start_ms - first_start),
                     0, acks.front()->id, false};
      for (std::size_t i = 1; i < acks.size(); ++i)
        gaps.push_back({acks[i - 1]->end_ms, acks[i]->end_ms,
                        std::max(0.0, acks[i]->start_ms - acks[i - 1]->end_ms), acks[i - 1]->id, acks[i]->id,
                        false});
      const PgWrite* last = acks.back();
      bool tried_after = false;
      for (const auto& w : h.writes) tried_after |= w.outcome != PgOutcome::Acknowledged && w.start_ms > last->end_ms;
      if (tried_after) gaps.push_back({last->end_ms, last_end, last_end - last->end_ms, last->id, 0, true});
    }
  }
  for (const auto& g : gaps)
    if (g.ms() > res.longest.ms()) res.longest = g;
  if (options.max_unavailable_ms > 0 && res.longest.ms() > options.max_unavailable_ms) {
    res.unavailable = true;
    std::string where = res.longest.after_write ? "after write #" + std::to_string(res.longest.after_write)
                                                : "from the first write";
    where += res.longest.open ? " until the writer stopped (none after it)"
                              : " until write #" + std::to_string(res.longest.before_write);
    res.findings.push_back({"unavailable", {res.longest.after_write, res.longest.before_write},
                            "no write acknowledged for " + ms(res.longest.ms()) + " (" + ms(res.longest.from_ms) +
                                " to " + ms(res.longest.to_ms) + ", " + where + "), above the bound of " +
                                ms(options.max_unavailable_ms)});
  }

  // Per fault: the longest gap in its reach, the recovery, the primaries before and after.
  std::vector<PgGap> all_gaps = gaps;
  if (!acks.empty()) all_gaps.push_back(res.leading);
  std::map<std::int64_t, const PgWrite*> by_id;
  for (const PgWrite* w : acks) by_id[w->id] = w;
  for (const auto& f : h.faults) {
    PgFaultFigures ff;
    ff.name = f.name;
    ff.start_ms = f.start_ms;
    ff.end_ms = std::max(f.start_ms, f.end_ms);
    double limit = 1e300;  // the next fault's start
    for (const auto& g : h.faults)
      if (g.start_ms > f.start_ms) limit = std::min(limit, g.start_ms);
    for (const auto& g : all_gaps)
      if (g.to_ms >= ff.start_ms && g.from_ms < limit && g.ms() > ff.longest.ms()) ff.longest = g;
    const PgWrite* before = nullptr;
    for (const PgWrite* w : acks)
      if (w->end_ms <= ff.start_ms) before = w;
    if (before) ff.tenure_before = spans[tenure_of[before->id]].t.str();
    const PgWrite* after = nullptr;
    if (ff.longest.before_write) after = by_id[ff.longest.before_write];
    if (!after && !ff.longest.open)
      for (const PgWrite* w : acks)
        if (w->start_ms >= ff.end_ms) {
          after = w;
          break;
        }
    if (after) ff.tenure_after = spans[tenure_of[after->id]].t.str();
    if (ff.longest.before_write) ff.recovery_ms = ff.longest.to_ms - ff.start_ms;
    const double window_end = std::max(ff.end_ms, ff.longest.to_ms);
    for (const auto& w : h.writes) {
      if (w.start_ms < ff.start_ms || w.start_ms > window_end) continue;
      switch (w.outcome) {
        case PgOutcome::Acknowledged: ++ff.acknowledged; break;
        case PgOutcome::Failed: ++ff.failed; break;
        case PgOutcome::Indeterminate: ++ff.indeterminate; break;
      }
    }
    res.faults.push_back(std::move(ff));
  }
  return res;
}

namespace {

using nlohmann::json;

double round1(double v) { return static_cast<double>(static_cast<long long>(v * 10 + (v < 0 ? -0.5 : 0.5))) / 10; }

json gap_json(const PgGap& g) {
  return {{"from_ms", round1(g.from_ms)}, {"to_ms", round1(g.to_ms)},     {"ms", round1(g.ms())},
          {"lower_ms", round1(g.lower_ms)}, {"after_write", g.after_write}, {"before_write", g.before_write},
          {"open", g.open}};
}

}  // namespace

std::string pg_history_json(const PgHistory& h, const PgCheckResult* result) {
  json j;
  j["name"] = h.name;
  j["client"] = h.client;
  j["table"] = h.table;
  j["conninfo"] = h.conninfo;
  j["interval_ms"] = h.interval_ms;
  j["synchronous"] = h.synchronous;
  json writes = json::array();
  for (const auto& w : h.writes) {
    json o{{"id", w.id},           {"seq", w.seq},
           {"value", w.value},     {"start_ms", round1(w.start_ms)},
           {"end_ms", round1(w.end_ms)}, {"outcome", pg_outcome_name(w.outcome)}};
    if (!w.node.empty()) o["node"] = w.node;
    if (!w.endpoint.empty()) o["endpoint"] = w.endpoint;
    if (w.timeline) o["timeline"] = w.timeline;
    if (!w.lsn.empty()) o["lsn"] = w.lsn;
    if (w.outcome == PgOutcome::Acknowledged) o["sync"] = w.sync;
    if (w.connected) o["connected"] = true;
    if (!w.error.empty()) o["error"] = w.error;
    if (!w.sqlstate.empty()) o["sqlstate"] = w.sqlstate;
    if (!w.notices.empty()) o["notices"] = w.notices;
    writes.push_back(std::move(o));
  }
  j["writes"] = std::move(writes);
  json reads = json::array();
  for (const auto& r : h.final_reads) {
    json o{{"start_ms", round1(r.start_ms)}, {"end_ms", round1(r.end_ms)}, {"ok", r.ok}};
    if (!r.error.empty()) o["error"] = r.error;
    if (!r.node.empty()) o["node"] = r.node;
    if (!r.endpoint.empty()) o["endpoint"] = r.endpoint;
    if (r.timeline) o["timeline"] = r.timeline;
    json rows = json::array();
    for (const auto& [seq, value] : r.rows) rows.push_back(json::array({seq, value}));
    o["rows"] = std::move(rows);
    reads.push_back(std::move(o));
  }
  j["final_reads"] = std::move(reads);
  json faults = json::array();
  for (const auto& f : h.faults)
    faults.push_back({{"name", f.name}, {"start_ms", round1(f.start_ms)}, {"end_ms", round1(f.end_ms)}});
  j["faults"] = std::move(faults);
  if (result) {
    const PgCheckResult& r = *result;
    json c{{"passed", r.passed()},
           {"writes", r.writes},
           {"acknowledged", r.acknowledged},
           {"acknowledged_sync", r.acknowledged_sync},
           {"failed", r.failed},
           {"indeterminate", r.indeterminate},
           {"split_brain", r.split_brain},
           {"timeline_forks", r.timeline_forks},
           {"final_read", r.final_read},
           {"final_node", r.final_node},
           {"lost", r.lost},
           {"lost_sync", r.lost_sync},
           {"indeterminate_applied", r.indeterminate_applied},
           {"unexplained", r.unexplained},
           {"unverified", r.unverified},
           {"unavailable", r.unavailable},
           {"leading", gap_json(r.leading)},
           {"longest", gap_json(r.longest)}};
    json tenures = json::array();
    for (const auto& t : r.tenures)
      tenures.push_back({{"node", t.node},
                         {"timeline", t.timeline},
                         {"acknowledged", t.acknowledged},
                         {"first_write", t.first_write},
                         {"last_write", t.last_write},
                         {"first_ack_ms", round1(t.first_end_ms)},
                         {"last_ack_ms", round1(t.last_end_ms)}});
    c["tenures"] = std::move(tenures);
    json ff = json::array();
    for (const auto& f : r.faults) {
      json o{{"name", f.name},
             {"start_ms", round1(f.start_ms)},
             {"end_ms", round1(f.end_ms)},
             {"longest", gap_json(f.longest)},
             {"recovery_ms", round1(f.recovery_ms)},
             {"acknowledged", f.acknowledged},
             {"failed", f.failed},
             {"indeterminate", f.indeterminate}};
      if (!f.tenure_before.empty()) o["primary_before"] = f.tenure_before;
      if (!f.tenure_after.empty()) o["primary_after"] = f.tenure_after;
      ff.push_back(std::move(o));
    }
    c["faults"] = std::move(ff);
    json fs = json::array();
    for (const auto& f : r.findings)
      fs.push_back({{"kind", f.kind}, {"writes", f.writes}, {"message", f.message}, {"failure", f.failure}});
    c["findings"] = std::move(fs);
    c["summary"] = r.summary();
    j["check"] = std::move(c);
  }
  return j.dump(1) + "\n";
}

Expected<PgHistory> parse_pg_history(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error(parsed.error().message());
  const json& j = *parsed;
  if (!j.is_object()) return Failure::error("a PostgreSQL write history is a JSON object");
  std::string where = "the history";
  try {
    PgHistory h;
    h.name = j.value("name", "");
    h.client = j.value("client", "");
    h.table = j.value("table", "");
    h.conninfo = j.value("conninfo", "");
    h.interval_ms = j.value("interval_ms", 0.0);
    h.synchronous = j.value("synchronous", false);
    if (!j.contains("writes") || !j.at("writes").is_array()) return Failure::error("writes: missing (a list)");
    std::set<std::int64_t> ids, seqs;
    for (std::size_t i = 0; i < j.at("writes").size(); ++i) {
      const json& o = j.at("writes")[i];
      where = "writes[" + std::to_string(i) + "]";
      PgWrite w;
      w.id = o.at("id").get<std::int64_t>();
      if (!ids.insert(w.id).second) return Failure::error(where + ".id: " + std::to_string(w.id) + " twice");
      w.seq = o.at("seq").get<std::int64_t>();
      if (!seqs.insert(w.seq).second) return Failure::error(where + ".seq: " + std::to_string(w.seq) + " twice");
      w.value = o.value("value", "");
      w.start_ms = o.at("start_ms").get<double>();
      w.end_ms = o.at("end_ms").get<double>();
      if (w.end_ms < w.start_ms) return Failure::error(where + ": end_ms is before start_ms");
      const std::string outcome = o.at("outcome").get<std::string>();
      if (outcome == "acknowledged") w.outcome = PgOutcome::Acknowledged;
      else if (outcome == "failed") w.outcome = PgOutcome::Failed;
      else if (outcome == "indeterminate") w.outcome = PgOutcome::Indeterminate;
      else return Failure::error(where + ".outcome: \"" + outcome + "\" (valid: acknowledged, failed, indeterminate)");
      w.node = o.value("node", "");
      w.endpoint = o.value("endpoint", "");
      w.timeline = o.value("timeline", 0);
      w.lsn = o.value("lsn", "");
      w.sync = o.value("sync", false);
      w.connected = o.value("connected", false);
      w.error = o.value("error", "");
      w.sqlstate = o.value("sqlstate", "");
      if (o.contains("notices")) w.notices = o.at("notices").get<std::vector<std::string>>();
      if (w.outcome == PgOutcome::Acknowledged && (w.node.empty() || w.timeline <= 0))
        return Failure::error(where + ": an acknowledged write needs its node and timeline");
      h.writes.push_back(std::move(w));
    }
    if (j.contains("final_reads"))
      for (std::size_t i = 0; i < j.at("final_reads").size(); ++i) {
        const json& o = j.at("final_reads")[i];
        where = "final_reads[" + std::to_string(i) + "]";
        PgFinalRead r;
        r.start_ms = o.at("start_ms").get<double>();
        r.end_ms = o.at("end_ms").get<double>();
        r.ok = o.at("ok").get<bool>();
        r.error = o.value("error", "");
        r.node = o.value("node", "");
        r.endpoint = o.value("endpoint", "");
        r.timeline = o.value("timeline", 0);
        if (o.contains("rows"))
          for (const auto& row : o.at("rows"))
            r.rows.emplace_back(row.at(0).get<std::int64_t>(), row.at(1).get<std::string>());
        h.final_reads.push_back(std::move(r));
      }
    if (j.contains("faults"))
      for (std::size_t i = 0; i < j.at("faults").size(); ++i) {
        const json& o = j.at("faults")[i];
        where = "faults[" + std::to_string(i) + "]";
        PgFaultMark f;
        f.name = o.value("name", "");
        f.start_ms = o.at("start_ms").get<double>();
        f.end_ms = o.value("end_ms", f.start_ms);
        h.faults.push_back(std::move(f));
      }
    return h;
  } catch (const json::exception& e) {
    return Failure::error(where + ": " + e.what());
  }
}

}  // namespace dcslab
