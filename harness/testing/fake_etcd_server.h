// Tests only: FakeEtcd, a handler for TestHttpsServer (https_server.h) that speaks the
// part of etcd's JSON gateway the writer and the watcher use (authenticate, put, range,
// txn, status, hashkv, watch) over an in-memory store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/text.h"
#include "etcd/etcd_client.h"
#include "testing/https_server.h"

namespace dcslab {

// An etcd that keeps its keys in memory and answers like the JSON gateway.
class FakeEtcd {
 public:
  struct Kv {
    std::string value;
    std::int64_t create = 0, mod = 0, version = 0;
  };
  std::string user = "root", password = "pw";
  bool hashkv_available = true;   // false: 404 like 3.4's gateway
  // The gateway's path prefix: "/v3/" (3.4, 3.5) or "/v3beta/" (3.3, whose gateway has no
  // /v3/); any other prefix gets a bare 404, as a real member's HTTP mux answers.
  std::string gateway = "/v3/";
  std::int64_t revision = 1;
  std::map<std::string, Kv> kvs;
  std::map<std::string, bool> tokens;
  int authentications = 0;
  // Scripted failures for the next puts: "timeout" (dropped connection), "unavailable"
  // (etcdserver: request timed out, applied anyway), "apply_then_drop".
  std::vector<std::string> put_faults;
  // The same for the next txns ("timeout": not applied; "unavailable", "apply_then_drop":
  // applied, no clear answer).
  std::vector<std::string> txn_faults;
  // Every txn's request as it came (decoded keys and values stay base64, as sent).
  std::vector<nlohmann::json> txns;
  // Every write in revision order, what a watch streams: (revision, key, value).
  struct Written {
    std::int64_t revision;
    std::string key, value;
  };
  std::vector<Written> log;
  // Watches: every create_request as it came; revisions up to `compacted` are gone (a
  // watch from them is canceled with compact_revision); a watch is cut (the connection
  // closes, no last chunk) after `watch_cut_after` event responses (0: never).
  std::vector<nlohmann::json> watches;
  std::int64_t compacted = 0;
  int watch_cut_after = 0;
  // Recorded streams (pieces, fixtures/watch/): when not empty, the next watch streams
  // the first of them as it is, held open after it.
  std::vector<std::vector<std::string>> scripted_watches;
  std::vector<std::string> paths;  // every request's path as it came
  std::mutex mu;

  TestResponse operator()(const TestRequest& asked) {
    using nlohmann::json;
    std::lock_guard lock(mu);
    paths.push_back(asked.path);
    if (asked.path.rfind(gateway, 0) != 0) return TestResponse{404, "404 page not found\n", "text/plain"};
    TestRequest req = asked;
    req.path = "/v3/" + asked.path.substr(gateway.size());
    const json body = json::parse(req.body.empty() ? "{}" : req.body);
    auto header = [&] {
      return json{{"cluster_id", "1"}, {"member_id", "2"}, {"revision", std::to_string(revision)}, {"raft_term", "2"}};
    };
    auto error = [](int http, int code, const std::string& msg) {
      return TestResponse{http, json{{"error", msg}, {"message", msg}, {"code", code}}.dump()};
    };
    if (req.path == "/v3/auth/authenticate") {
      ++authentications;
      if (body.value("name", "") != user || body.value("password", "") != password)
        return error(400, 3, "etcdserver: authentication failed, invalid user ID or password");
      const std::string t = "tok" + std::to_string(authentications) + ".7";
      tokens[t] = true;
      return {200, json{{"header", header()}, {"token", t}}.dump()};
    }
    if (!user.empty()) {
      auto it = req.headers.find("authorization");
      if (it == req.headers.end()) return error(400, 3, "etcdserver: user name is empty");
      if (!tokens.count(it->second)) return error(401, 16, "etcdserver: invalid auth token");
    }
    auto decode = [](const json& j, const char* k) {
      std::string out;
      base64_decode(j.value(k, ""), &out);
      return out;
    };
    if (req.path == "/v3/kv/put") {
      std::string fault;
      if (!put_faults.empty()) {
        fault = put_faults.front();
        put_faults.erase(put_faults.begin());
      }
      if (fault == "timeout") return TestResponse{.drop = true};
      Kv& kv = kvs[decode(body, "key")];
      kv.value = decode(body, "value");
      kv.mod = ++revision;
      if (!kv.version++) kv.create = revision;
      log.push_back({revision, decode(body, "key"), kv.value});
      if (fault == "unavailable") return error(503, 14, "etcdserver: request timed out");
      if (fault == "apply_then_drop") return TestResponse{.drop = true};
      return {200, json{{"header", header()}}.dump()};
    }
    if (req.path == "/v3/kv/txn") {
      txns.push_back(body);
      std::string fault;
      if (!txn_faults.empty()) {
        fault = txn_faults.front();
        txn_faults.erase(txn_faults.begin());
      }
      if (fault == "timeout") return TestResponse{.drop = true};
      // The writer's txns: one compare (EQUAL on VALUE or MOD), puts on success, ranges on
      // failure. Anything else is refused as etcd refuses what it does not understand.
      const json& cmps = body.value("compare", json::array());
      if (cmps.size() != 1 || cmps[0].value("result", "EQUAL") != "EQUAL")
        return error(400, 3, "fake etcd: one EQUAL compare only");
      const json& c = cmps[0];
      const auto it = kvs.find(decode(c, "key"));
      bool holds = false;
      const std::string target = c.value("target", "VERSION");
      if (target == "VALUE") holds = it != kvs.end() && it->second.value == decode(c, "value");
      else if (target == "MOD")
        holds = (it == kvs.end() ? 0 : it->second.mod) == std::stoll(c.value("mod_revision", "0"));
      else return error(400, 3, "fake etcd: compare target " + target + " not supported");
      json responses = json::array();
      for (const json& op : body.value(holds ? "success" : "failure", json::array())) {
        if (op.contains("request_put")) {
          Kv& kv = kvs[decode(op["request_put"], "key")];
          kv.value = decode(op["request_put"], "value");
          kv.mod = ++revision;
          if (!kv.version++) kv.create = revision;
          log.push_back({revision, decode(op["request_put"], "key"), kv.value});
          responses.push_back({{"response_put", {{"header", header()}}}});
        } else if (op.contains("request_range")) {
          json r{{"header", header()}};
          if (auto k = kvs.find(decode(op["request_range"], "key")); k != kvs.end())
            r["kvs"] = json::array({{{"key", base64_encode(k->first)}, {"value", base64_encode(k->second.value)},
                                     {"create_revision", std::to_string(k->second.create)},
                                     {"mod_revision", std::to_string(k->second.mod)},
                                     {"version", std::to_string(k->second.version)}}});
          responses.push_back({{"response_range", r}});
        }
      }
      if (fault == "unavailable") return error(503, 14, "etcdserver: request timed out");
      if (fault == "apply_then_drop") return TestResponse{.drop = true};
      json out{{"header", header()}, {"responses", responses}};
      if (holds) out["succeeded"] = true;  // the gateway leaves false out
      return {200, out.dump()};
    }
    if (req.path == "/v3/kv/range") {
      const std::string key = decode(body, "key"), end = decode(body, "range_end");
      json kv = json::array();
      for (const auto& [k, v] : kvs) {
        const bool in = end.empty() ? k == key : (end == std::string(1, '\0') ? k >= key : (k >= key && k < end));
        if (!in) continue;
        kv.push_back({{"key", base64_encode(k)}, {"value", base64_encode(v.value)},
                      {"create_revision", std::to_string(v.create)}, {"mod_revision", std::to_string(v.mod)},
                      {"version", std::to_string(v.version)}});
      }
      json out{{"header", header()}};
      if (!kv.empty()) out["kvs"] = kv, out["count"] = std::to_string(kv.size());
      return {200, out.dump(), "application/json", kv.size() > 3};
    }
    if (req.path == "/v3/watch") return watch(body.value("create_request", json::object()));
    if (req.path == "/v3/maintenance/status")
      return {200, json{{"header", header()}, {"version", "3.4.23"}, {"leader", "2"},
                        {"raftIndex", std::to_string(revision + 10)},
                        {"raftAppliedIndex", std::to_string(revision + 10)}}.dump()};
    if (req.path == "/v3/maintenance/hashkv" && hashkv_available)
      return {200, json{{"header", header()}, {"hash", 12345}, {"compact_revision", "-1"}}.dump()};
    return TestResponse{404, "Not Found\n", "text/plain"};
  }

 private:
  // A watch as the gateway streams it: created, then the log's writes in [key, range_end)
  // from the start revision, one response per revision, as they happen. Under mu.
  TestResponse watch(const nlohmann::json& create) {
    using nlohmann::json;
    watches.push_back(create);
    TestResponse r{200, ""};
    if (!scripted_watches.empty()) {
      r.stream = scripted_watches.front();
      scripted_watches.erase(scripted_watches.begin());
      return r;
    }
    std::string key, end;
    base64_decode(create.value("key", ""), &key);
    base64_decode(create.value("range_end", ""), &end);
    const std::int64_t start = std::stoll(create.value("start_revision", "0"));
    auto header = [](std::int64_t rev) {
      return json{{"cluster_id", "1"}, {"member_id", "2"}, {"revision", std::to_string(rev)}, {"raft_term", "2"}};
    };
    std::string first = json{{"result", {{"header", header(revision)}, {"created", true}}}}.dump() + "\n";
    if (start > 0 && start <= compacted) {
      first += json{{"result", {{"header", {{"cluster_id", "1"}, {"member_id", "2"}, {"raft_term", "2"}}},
                                {"canceled", true}, {"compact_revision", std::to_string(compacted)}}}}.dump() + "\n";
      r.stream = {first};
      return r;
    }
    r.stream = {first};
    r.stream_cut = watch_cut_after > 0;
    // The live part: the next log entry at or after `next`, once it exists.
    auto next = std::make_shared<std::int64_t>(start > 0 ? start : revision + 1);
    auto sent = std::make_shared<int>(0);
    const int cut = watch_cut_after;
    r.pull = [this, key, end, next, sent, cut, header]() -> std::optional<std::string> {
      std::lock_guard lock(mu);
      if (cut && *sent >= cut) return std::nullopt;
      for (const auto& w : log) {
        if (w.revision < *next) continue;
        *next = w.revision + 1;
        if (!(w.key >= key && (end.empty() ? w.key == key : w.key < end))) continue;
        ++*sent;
        const json kv{{"key", base64_encode(w.key)}, {"value", base64_encode(w.value)},
                      {"create_revision", std::to_string(w.revision)},
                      {"mod_revision", std::to_string(w.revision)}, {"version", "1"}};
        return json{{"result", {{"header", header(w.revision)}, {"events", json::array({{{"kv", kv}}})}}}}.dump() + "\n";
      }
      return std::string();
    };
    return r;
  }
};

}  // namespace dcslab
