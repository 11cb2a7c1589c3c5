#include "base/json.h"
#include "check/watch_history.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace dcslab {

std::string WatchCheckResult::summary() const {
  auto n = [](int x) { return std::to_string(x); };
  return "watches " + n(watches) + ", sessions " + n(sessions) + " (re-watches " + n(resumed) +
         "), events " + n(events) + "; reordered " + n(reordered) + ", duplicated " + n(duplicated) +
         ", split " + n(split) + ", missed " + n(missed) + ", resume-missed " + n(resume_missed) +
         ", resume-repeated " + n(resume_repeated) + ", unexplained " + n(unexplained) +
         ", diverged " + n(diverged) + ", unverified " + n(unverified);
}

namespace {

std::string describe(const WatchEvent& e) {
  return std::string(e.deleted ? "delete of " : "") + e.key +
         (e.deleted ? "" : " = \"" + e.value + "\"") + " at revision " + std::to_string(e.revision) +
         " (session " + std::to_string(e.session + 1) + ", response " + std::to_string(e.response) + ")";
}

// The writer's writes that may show up in a watch, found by revision and by value.
struct Writes {
  std::map<std::int64_t, std::vector<const KvOp*>> acknowledged;  // revision -> ok writes
  std::map<std::pair<std::string, std::string>, const KvOp*> by_value;

  explicit Writes(const KvHistory& h) {
    for (const auto& op : h.ops) {
      if (op.kind == KvKind::Read || !op.value) continue;
      by_value[{op.key, *op.value}] = &op;
      const bool wrote = op.kind == KvKind::Put || op.swapped;
      if (op.outcome == KvOutcome::Ok && wrote && op.revision > 0) acknowledged[op.revision].push_back(&op);
    }
  }

  // Why no write of the history explains the event ("" : one does).
  std::string unexplained(const KvHistory& h, const WatchEvent& e) const {
    if (e.deleted) return "a delete, and the writer never deletes";
    const auto it = by_value.find({e.key, e.value});
    if (it == by_value.end()) return "no write of the history wrote that value";
    const KvOp& w = *it->second;
    const std::string op = describe_op(h, w);
    if (w.outcome == KvOutcome::Fail) return "the value of " + op + ", which the client was told did not happen";
    if (w.kind == KvKind::Cas && w.outcome == KvOutcome::Ok && !w.swapped)
      return "the value of " + op + ", which found its compare false and wrote nothing";
    if (w.outcome == KvOutcome::Ok && w.revision != e.revision)
      return "the value of " + op + ", written at another revision";
    if (e.received_ms < w.call) return "the value of " + op + ", received before that write was sent";
    return "";
  }
};

class WatchChecker {
 public:
  WatchChecker(const WatchHistory& wh, const KvHistory& h, WatchCheckResult& res)
      : wh_(wh), h_(h), writes_(h), res_(res) {}

  void check(const Watch& w) {
    ++res_.watches;
    res_.sessions += static_cast<int>(w.sessions.size());
    res_.events += static_cast<int>(w.events.size());
    order(w);
    compacted(w);
    if (w.events.empty()) {
      add(w, "unverified", &res_.unverified, "delivered no event at all: nothing was proven");
      return;
    }
    gaps(w);
  }

 private:
  void add(const Watch& w, const std::string& kind, int* count, const std::string& message) {
    ++*count;
    res_.findings.push_back({kind, w.id, w.id + ": " + message});
  }

  // Ordered, unique, atomic, every event explained, resumed without repeats; what
  // reached each revision across watches.
  void order(const Watch& w) {
    if (w.sessions.size() > 1) res_.resumed += static_cast<int>(w.sessions.size()) - 1;
    std::set<std::pair<std::string, std::int64_t>> seen;
    std::map<std::int64_t, int> response_of;  // revision -> the response that brought it
    const WatchEvent* prev = nullptr;
    std::int64_t reached = 0;         // the highest revision delivered so far
    std::int64_t before_session = 0;  // the highest one before this event's session
    int session = 0;
    for (const auto& e : w.events) {
      if (e.session != session) {
        session = e.session;
        before_session = reached;
      }
      const bool repeated = seen.count({e.key, e.revision}) > 0;
      if (session > 0 && e.revision <= before_session) {
        const WatchSession& s = w.sessions.at(static_cast<std::size_t>(session));
        add(w, "resume-repeated", &res_.resume_repeated,
            "the re-watch through " + s.endpoint + " from revision " + std::to_string(s.start_revision) +
                " delivered " + describe(e) + ", at or below revision " + std::to_string(before_session) +
                " the watch had already reached");
        continue;
      }
      if (repeated) {
        add(w, "duplicated", &res_.duplicated, describe(e) + " was already delivered");
        continue;
      }
      seen.insert({e.key, e.revision});
      if (prev && e.revision < prev->revision)
        add(w, "reordered", &res_.reordered,
            describe(e) + " came after " + describe(*prev) + ", a later revision");
      auto [r, fresh] = response_of.emplace(e.revision, e.response);
      if (!fresh && r->second != e.response)
        add(w, "split", &res_.split,
            describe(e) + ": revision " + std::to_string(e.revision) + " began in response " +
                std::to_string(r->second) + " (its events must come together)");
      if (const std::string why = writes_.unexplained(h_, e); !why.empty())
        add(w, "unexplained", &res_.unexplained, describe(e) + ": " + why);
      if (auto [v, first] = values_.emplace(std::make_pair(e.key, e.revision), std::make_pair(e.value, w.id));
          !first && v->second.first != e.value)
        add(w, "diverged", &res_.diverged,
            describe(e) + ", but " + v->second.second + " saw \"" + v->second.first + "\" there");
      if (!prev || e.revision >= prev->revision) prev = &e;
      reached = std::max(reached, e.revision);
    }
  }

  void compacted(const Watch& w) {
    for (const auto& s : w.sessions)
      if (s.compact_revision > 0)
        add(w, "unverified", &res_.unverified,
            "the watch through " + s.endpoint + " from revision " + std::to_string(s.start_revision) +
                " was refused: compacted up to revision " + std::to_string(s.compact_revision) +
                " (what it would have delivered cannot be had)");
  }

  // Reliable and resumable: every acknowledged write from the watch's start revision to
  // its last event was delivered; one missed at a session boundary is the re-watch's.
  void gaps(const Watch& w) {
    // An acknowledged write counts as delivered only as itself: its key and value at its
    // revision (another value there is unexplained, and the write still missed).
    std::set<std::tuple<std::int64_t, std::string, std::string>> delivered;
    std::int64_t last = 0;
    for (const auto& e : w.events) {
      if (!e.deleted) delivered.insert({e.revision, e.key, e.value});
      last = std::max(last, e.revision);
    }
    std::int64_t first = w.events.front().revision;
    if (!w.sessions.empty() && w.sessions.front().start_revision > 0)
      first = std::min(first, w.sessions.front().start_revision);
    // Each re-watch's window: after the highest revision before its first event, up to
    // that event.
    std::vector<std::pair<std::int64_t, std::int64_t>> boundaries;  // (after, before)
    std::int64_t reached = 0;
    for (std::size_t i = 0; i < w.events.size(); ++i) {
      const auto& e = w.events[i];
      if (i > 0 && e.session != w.events[i - 1].session) boundaries.emplace_back(reached, e.revision);
      reached = std::max(reached, e.revision);
    }
    for (auto it = writes_.acknowledged.lower_bound(first);
         it != writes_.acknowledged.end() && it->first <= last; ++it) {
      for (const KvOp* op : it->second) {
        if (op->key.rfind(wh_.prefix, 0) != 0 || delivered.count({it->first, op->key, *op->value})) continue;
        const auto at = std::find_if(boundaries.begin(), boundaries.end(), [&](const auto& b) {
          return it->first > b.first && it->first < b.second;
        });
        const std::string what = describe_op(h_, *op);
        if (at != boundaries.end())
          add(w, "resume-missed", &res_.resume_missed,
              what + " was not delivered: the re-watch after revision " + std::to_string(at->first) +
                  " went on at revision " + std::to_string(at->second));
        else
          add(w, "missed", &res_.missed,
              what + " was not delivered, though the watch delivered revisions " + std::to_string(first) +
                  " to " + std::to_string(last));
      }
    }
  }

  const WatchHistory& wh_;
  const KvHistory& h_;
  Writes writes_;
  WatchCheckResult& res_;
  // (key, revision) -> (value, the watch that saw it first), across watches.
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::string, std::string>> values_;
};

}  // namespace

WatchCheckResult check_watches(const WatchHistory& w, const KvHistory& writes) {
  WatchCheckResult res;
  WatchChecker checker(w, writes, res);
  for (const auto& watch : w.watches) checker.check(watch);
  return res;
}

namespace {

using nlohmann::json;

double round1(double ms) { return static_cast<double>(static_cast<long long>(ms * 10 + 0.5)) / 10; }

}  // namespace

std::string watch_history_json(const WatchHistory& w, const WatchCheckResult* result) {
  json j{{"name", w.name}, {"writer", w.writer}, {"prefix", w.prefix}};
  json watches = json::array();
  for (const auto& watch : w.watches) {
    json sessions = json::array();
    for (const auto& s : watch.sessions) {
      json o{{"endpoint", s.endpoint},           {"start_revision", s.start_revision},
             {"start_ms", round1(s.start_ms)},   {"end_ms", round1(s.end_ms)},
             {"created_revision", s.created_revision}, {"end", s.end}};
      if (s.compact_revision) o["compact_revision"] = s.compact_revision;
      sessions.push_back(std::move(o));
    }
    json events = json::array();
    for (const auto& e : watch.events) {
      json o{{"revision", e.revision}, {"key", e.key}, {"session", e.session},
             {"response", e.response}, {"received_ms", round1(e.received_ms)}};
      if (e.deleted) o["deleted"] = true;
      else o["value"] = e.value;
      events.push_back(std::move(o));
    }
    watches.push_back({{"id", watch.id}, {"sessions", std::move(sessions)}, {"events", std::move(events)}});
  }
  j["watches"] = std::move(watches);
  if (result) {
    json f = json::array();
    for (const auto& x : result->findings)
      f.push_back({{"kind", x.kind}, {"watch", x.watch}, {"message", x.message}});
    j["check"] = {{"passed", result->passed()},
                  {"summary", result->summary()},
                  {"watches", result->watches},
                  {"sessions", result->sessions},
                  {"resumed", result->resumed},
                  {"events", result->events},
                  {"reordered", result->reordered},
                  {"duplicated", result->duplicated},
                  {"split", result->split},
                  {"missed", result->missed},
                  {"resume_missed", result->resume_missed},
                  {"resume_repeated", result->resume_repeated},
                  {"unexplained", result->unexplained},
                  {"diverged", result->diverged},
                  {"unverified", result->unverified},
                  {"findings", std::move(f)}};
  }
  return j.dump(1) + "\n";
}

Expected<WatchHistory> parse_watch_history(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error(parsed.error().message());
  const json& j = *parsed;
  try {
    if (!j.is_object()) return Failure::error("a watch history is a JSON object");
    WatchHistory w;
    w.name = j.value("name", "");
    w.writer = j.value("writer", "");
    w.prefix = j.value("prefix", "");
    if (!j.contains("watches") || !j.at("watches").is_array()) return Failure::error("watches: missing (a list)");
    for (std::size_t i = 0; i < j.at("watches").size(); ++i) {
      const json& o = j.at("watches")[i];
      const std::string where = "watches[" + std::to_string(i) + "]";
      Watch watch;
      watch.id = o.at("id").get<std::string>();
      for (const auto& s : o.value("sessions", json::array())) {
        WatchSession ws;
        ws.endpoint = s.value("endpoint", "");
        ws.start_revision = s.value("start_revision", std::int64_t{0});
        ws.start_ms = s.value("start_ms", 0.0);
        ws.end_ms = s.value("end_ms", 0.0);
        ws.created_revision = s.value("created_revision", std::int64_t{0});
        ws.compact_revision = s.value("compact_revision", std::int64_t{0});
        ws.end = s.value("end", "");
        watch.sessions.push_back(std::move(ws));
      }
      const json& events = o.value("events", json::array());
      for (std::size_t k = 0; k < events.size(); ++k) {
        const json& e = events[k];
        const std::string at = where + ".events[" + std::to_string(k) + "]";
        WatchEvent ev;
        ev.revision = e.at("revision").get<std::int64_t>();
        ev.key = e.at("key").get<std::string>();
        ev.deleted = e.value("deleted", false);
        ev.value = e.value("value", "");
        ev.session = e.value("session", 0);
        ev.response = e.value("response", 0);
        ev.received_ms = e.value("received_ms", 0.0);
        if (ev.revision <= 0) return Failure::error(at + ".revision: must be positive");
        if (ev.session < 0 || static_cast<std::size_t>(ev.session) >= std::max<std::size_t>(1, watch.sessions.size()))
          return Failure::error(at + ".session: " + std::to_string(ev.session) + " (the watch has " +
                                std::to_string(watch.sessions.size()) + " sessions)");
        watch.events.push_back(std::move(ev));
      }
      w.watches.push_back(std::move(watch));
    }
    return w;
  } catch (const json::exception& e) {
    return Failure::error(std::string("not a watch history: ") + e.what());
  }
}

}  // namespace dcslab
