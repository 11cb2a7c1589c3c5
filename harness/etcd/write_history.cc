#include "base/json.h"
#include "etcd/write_history.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace dcslab {

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Put: return "put";
    case OpKind::Get: return "get";
    case OpKind::Cas: return "cas";
  }
  return "?";
}

const char* op_status_name(OpStatus s) {
  switch (s) {
    case OpStatus::Ok: return "ok";
    case OpStatus::Failed: return "failed";
    case OpStatus::Indeterminate: return "indeterminate";
  }
  return "?";
}

std::string CheckResult::summary() const {
  return "acknowledged " + std::to_string(acknowledged) + ", failed " + std::to_string(failed) +
         ", indeterminate " + std::to_string(indeterminate) + "; reads " + std::to_string(reads) +
         " (final " + std::to_string(final_reads) + "); lost " + std::to_string(lost) +
         ", stale " + std::to_string(stale) + ", unexplained " + std::to_string(unexplained) +
         ", diverged " + std::to_string(diverged) + ", unverified " + std::to_string(unverified) +
         (cas ? "; cas " + std::to_string(cas) + ": swapped " + std::to_string(cas_swapped) +
                    ", not swapped " + std::to_string(cas_not_swapped) + ", failed " +
                    std::to_string(cas_failed) + ", indeterminate " + std::to_string(cas_indeterminate)
              : "");
}

namespace {

std::string describe_put(const Op& w) {
  std::string status = op_status_name(w.status);
  if (w.kind == OpKind::Cas && w.status == OpStatus::Ok) status = w.swapped ? "swapped" : "did not swap";
  return std::string(op_kind_name(w.kind)) + " #" + std::to_string(w.id) + " (" + status +
         (w.revision ? ", revision " + std::to_string(w.revision) : "") + ", via " + w.endpoint + ")";
}

std::string describe_read(const Op& r) {
  std::string s = std::string(r.final ? "final read" : "read") + " #" + std::to_string(r.id) +
                  " via " + r.endpoint;
  s += r.found ? " saw \"" + r.value + "\" at revision " + std::to_string(r.revision)
               : " saw no key";
  return s;
}

}  // namespace

CheckResult check_history(const History& h) {
  CheckResult res;
  std::map<std::pair<std::string, std::string>, const Op*> by_value;  // (key, value) -> put
  std::map<std::string, std::vector<const Op*>> acked;                 // key -> ok puts
  std::set<std::string> keys;
  bool has_final = false;
  for (const auto& op : h.ops) {
    if (op.kind == OpKind::Cas) {
      // A swapped cas is an acknowledged write; one that did not swap wrote nothing, and
      // its value showing up is as unexplained as a failed put's.
      keys.insert(op.key);
      by_value[{op.key, op.value}] = &op;
      ++res.cas;
      switch (op.status) {
        case OpStatus::Ok:
          if (op.swapped) {
            ++res.cas_swapped;
            acked[op.key].push_back(&op);
          } else {
            ++res.cas_not_swapped;
          }
          break;
        case OpStatus::Failed: ++res.cas_failed; break;
        case OpStatus::Indeterminate: ++res.cas_indeterminate; break;
      }
    } else if (op.kind == OpKind::Put) {
      keys.insert(op.key);
      by_value[{op.key, op.value}] = &op;
      switch (op.status) {
        case OpStatus::Ok:
          ++res.acknowledged;
          acked[op.key].push_back(&op);
          break;
        case OpStatus::Failed: ++res.failed; break;
        case OpStatus::Indeterminate: ++res.indeterminate; break;
      }
    } else {
      if (op.final) has_final = true;
    }
  }
  res.keys = static_cast<int>(keys.size());

  std::set<std::string> lost_keys;
  std::map<std::string, int> final_ok;  // key -> final reads that answered
  for (const auto& r : h.ops) {
    if (r.kind != OpKind::Get) continue;
    if (r.final) ++res.final_reads;
    else ++res.reads;
    if (r.status != OpStatus::Ok) {
      // A read that got no answer shows nothing; a final one leaves the key unverified.
      if (r.final) {
        ++res.unverified;
        res.findings.push_back({"unverified", r.key, r.id,
                                "final read #" + std::to_string(r.id) + " via " + r.endpoint +
                                    " got no answer: " + r.error});
      }
      continue;
    }
    if (r.final) ++final_ok[r.key];

    // Where did the value come from?
    if (r.found) {
      auto it = by_value.find({r.key, r.value});
      std::string why;
      if (it == by_value.end()) why = "no put of this history wrote that value";
      else if (it->second->status == OpStatus::Failed)
        why = "the value of " + describe_put(*it->second) + ", which the client was told did not happen";
      else if (it->second->kind == OpKind::Cas && it->second->status == OpStatus::Ok && !it->second->swapped)
        why = "the value of " + describe_put(*it->second) + ", which found its compare false and wrote nothing";
      else if (it->second->start_ms > r.end_ms)
        why = "the value of " + describe_put(*it->second) + ", which started after the read ended";
      else if (it->second->status == OpStatus::Ok && it->second->revision != r.revision)
        why = "the value of " + describe_put(*it->second) + " at another revision";
      if (!why.empty()) {
        ++res.unexplained;
        res.findings.push_back({"unexplained", r.key, r.id, describe_read(r) + ": " + why});
      }
    }

    // Is it older than a write acknowledged before the read started?
    const Op* newest = nullptr;
    if (auto a = acked.find(r.key); a != acked.end())
      for (const Op* w : a->second)
        if (w->end_ms < r.start_ms && (!newest || w->revision > newest->revision)) newest = w;
    if (!newest || (r.found && r.revision >= newest->revision)) continue;
    const std::string msg = describe_read(r) + ", but " + describe_put(*newest) + " of \"" +
                            newest->value + "\" was acknowledged at " +
                            std::to_string(newest->end_ms) + " ms, before the read started at " +
                            std::to_string(r.start_ms) + " ms";
    if (r.final) {
      lost_keys.insert(r.key);
      res.findings.push_back({"lost", r.key, r.id, msg});
    } else {
      ++res.stale;
      res.findings.push_back({"stale", r.key, r.id, msg});
    }
  }
  res.lost = static_cast<int>(lost_keys.size());
  // With final reads taken, every acknowledged key must have been read back.
  if (has_final)
    for (const auto& [key, puts] : acked)
      if (!final_ok.count(key)) {
        ++res.unverified;
        res.findings.push_back({"unverified", key, 0, "no final read of " + key + " answered"});
      }

  // Members' hashes at the same revision agree; the odd ones out diverged.
  std::vector<const MemberHash*> hashes;
  for (const auto& m : h.hashes) {
    if (!m.error.empty()) {
      ++res.unverified;
      res.findings.push_back({"unverified", "", 0, "no hash of " + m.endpoint + ": " + m.error});
    } else {
      hashes.push_back(&m);
    }
  }
  if (!hashes.empty()) {
    const MemberHash& ref = *hashes.front();
    bool comparable = true;
    for (const auto* m : hashes)
      if (m->revision != ref.revision || m->method != ref.method) comparable = false;
    if (!comparable) {
      ++res.unverified;
      std::string at;
      for (const auto* m : hashes)
        at += (at.empty() ? "" : ", ") + m->endpoint + " " + m->method + "@" + std::to_string(m->revision);
      res.findings.push_back({"unverified", "", 0, "member hashes are not at one revision: " + at});
    } else {
      std::map<std::string, int> votes;
      for (const auto* m : hashes) ++votes[m->hash + "/" + std::to_string(m->compact_revision)];
      std::string majority;
      int best = 0;
      for (const auto& [hash, n] : votes)
        if (n > best) best = n, majority = hash;
      if (votes.size() > 1) {
        std::string all;
        for (const auto* m : hashes)
          all += (all.empty() ? "" : ", ") + m->endpoint + " " + m->hash;
        for (const auto* m : hashes)
          if (m->hash + "/" + std::to_string(m->compact_revision) != majority) {
            ++res.diverged;
            res.findings.push_back({"diverged", "", 0,
                                    m->endpoint + "'s " + m->method + " at revision " +
                                        std::to_string(m->revision) + " differs (" + all + ")"});
          }
      }
    }
  }
  return res;
}

KvHistory kv_history(const History& h) {
  KvHistory out;
  out.source = h.name.empty() ? "writer" : h.name;
  out.time_unit = "ms";
  const std::string writer = h.name.empty() ? "writer" : h.name;
  for (const auto& op : h.ops) {
    KvOp k;
    k.kind = op.kind == OpKind::Put ? KvKind::Put : op.kind == OpKind::Get ? KvKind::Read : KvKind::Cas;
    k.outcome = op.status == OpStatus::Ok       ? KvOutcome::Ok
                : op.status == OpStatus::Failed ? KvOutcome::Fail
                                                : KvOutcome::Info;
    k.key = op.key;
    if (op.kind != OpKind::Get || op.found) k.value = op.value;
    if (op.kind == OpKind::Cas) {
      if (op.expect_revision) k.expected_revision = *op.expect_revision;
      else k.expected = op.expect_value;
      k.swapped = op.status == OpStatus::Ok && op.swapped;
    }
    k.revision = op.status == OpStatus::Ok && (op.kind != OpKind::Cas || op.swapped) ? op.revision : 0;
    k.call = op.start_ms;
    k.ret = op.end_ms;
    k.final = op.final;
    k.client = op.final ? "check" : writer;
    k.name = "#" + std::to_string(op.id);
    k.endpoint = op.endpoint;
    out.ops.push_back(std::move(k));
  }
  return out;
}

namespace {

using nlohmann::json;

double round1(double ms) { return static_cast<double>(static_cast<long long>(ms * 10 + 0.5)) / 10; }

}  // namespace

std::string history_json(const History& h, const CheckResult* result,
                         const LinearizabilityResult* model) {
  json j;
  j["name"] = h.name;
  j["prefix"] = h.prefix;
  j["endpoints"] = h.endpoints;
  j["interval_ms"] = h.interval_ms;
  json ops = json::array();
  for (const auto& op : h.ops) {
    json o;
    o["id"] = op.id;
    o["kind"] = op_kind_name(op.kind);
    o["key"] = op.key;
    if (op.kind != OpKind::Get || op.found) o["value"] = op.value;
    if (op.kind == OpKind::Get) o["found"] = op.found;
    if (op.kind == OpKind::Cas) {
      if (op.expect_revision) o["expect_revision"] = *op.expect_revision;
      else o["expect_value"] = op.expect_value;
      if (op.status == OpStatus::Ok) o["swapped"] = op.swapped;
    }
    if (op.revision) o["revision"] = op.revision;
    o["endpoint"] = op.endpoint;
    o["start_ms"] = round1(op.start_ms);
    o["end_ms"] = round1(op.end_ms);
    o["status"] = op_status_name(op.status);
    if (!op.error.empty()) o["error"] = op.error;
    if (op.final) o["final"] = true;
    ops.push_back(std::move(o));
  }
  j["ops"] = std::move(ops);
  json hashes = json::array();
  for (const auto& m : h.hashes) {
    json o{{"endpoint", m.endpoint}, {"revision", m.revision}, {"method", m.method},
           {"hash", m.hash}, {"compact_revision", m.compact_revision}};
    if (!m.error.empty()) o["error"] = m.error;
    hashes.push_back(std::move(o));
  }
  j["hashes"] = std::move(hashes);
  if (result) {
    json r{{"passed", result->passed()},       {"acknowledged", result->acknowledged},
           {"failed", result->failed},         {"indeterminate", result->indeterminate},
           {"reads", result->reads},           {"final_reads", result->final_reads},
           {"keys", result->keys},             {"lost", result->lost},
           {"stale", result->stale},           {"unexplained", result->unexplained},
           {"diverged", result->diverged},     {"unverified", result->unverified}};
    json f = json::array();
    for (const auto& x : result->findings)
      f.push_back({{"kind", x.kind}, {"key", x.key}, {"op", x.op}, {"message", x.message}});
    r["findings"] = std::move(f);
    j["check"] = std::move(r);
  }
  if (model)
    j["linearizability"] = {{"verdict", verdict_name(model->verdict)},
                            {"summary", model->summary()},
                            {"ops", model->ops},
                            {"steps", model->steps},
                            {"seconds", model->seconds},
                            {"report", model->report()}};
  return j.dump(1) + "\n";
}

Expected<History> parse_history(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed) return Failure::error(parsed.error().message());
  const json& j = *parsed;
  try {
    History h;
    if (!j.is_object()) return Failure::error("a history is a JSON object");
    h.name = j.value("name", "");
    h.prefix = j.value("prefix", "");
    if (j.contains("endpoints")) h.endpoints = j.at("endpoints").get<std::vector<std::string>>();
    h.interval_ms = j.value("interval_ms", 0.0);
    if (!j.contains("ops") || !j.at("ops").is_array()) return Failure::error("ops: missing (a list)");
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < j.at("ops").size(); ++i) {
      const json& o = j.at("ops")[i];
      const std::string where = "ops[" + std::to_string(i) + "]";
      Op op;
      op.id = o.at("id").get<std::int64_t>();
      if (!ids.insert(op.id).second) return Failure::error(where + ".id: " + std::to_string(op.id) + " twice");
      const std::string kind = o.at("kind").get<std::string>();
      if (kind == "put") op.kind = OpKind::Put;
      else if (kind == "get") op.kind = OpKind::Get;
      else if (kind == "cas") op.kind = OpKind::Cas;
      else return Failure::error(where + ".kind: \"" + kind + "\" (valid: put, get, cas)");
      op.key = o.at("key").get<std::string>();
      op.value = o.value("value", "");
      op.found = o.value("found", op.kind == OpKind::Put);
      op.revision = o.value("revision", std::int64_t{0});
      op.endpoint = o.value("endpoint", "");
      op.start_ms = o.at("start_ms").get<double>();
      op.end_ms = o.at("end_ms").get<double>();
      const std::string status = o.at("status").get<std::string>();
      if (status == "ok") op.status = OpStatus::Ok;
      else if (status == "failed") op.status = OpStatus::Failed;
      else if (status == "indeterminate") op.status = OpStatus::Indeterminate;
      else return Failure::error(where + ".status: \"" + status + "\" (valid: ok, failed, indeterminate)");
      op.error = o.value("error", "");
      op.final = o.value("final", false);
      if (op.kind == OpKind::Cas) {
        op.found = false;
        if (o.contains("expect_revision")) op.expect_revision = o.at("expect_revision").get<std::int64_t>();
        else if (o.contains("expect_value")) op.expect_value = o.at("expect_value").get<std::string>();
        else return Failure::error(where + ": a cas needs expect_value or expect_revision");
        op.swapped = o.value("swapped", false);
        if (op.status == OpStatus::Ok && !o.contains("swapped"))
          return Failure::error(where + ".swapped: missing (a cas that answered swapped or not)");
        if (op.status == OpStatus::Ok && op.swapped && op.revision <= 0)
          return Failure::error(where + ".revision: a swapped cas needs its revision");
      }
      if (op.kind == OpKind::Put && op.status == OpStatus::Ok && op.revision <= 0)
        return Failure::error(where + ".revision: an acknowledged put needs its revision");
      if (op.kind == OpKind::Get && op.status == OpStatus::Ok && op.found && op.revision <= 0)
        return Failure::error(where + ".revision: a read that found the key needs its mod_revision");
      if (op.end_ms < op.start_ms) return Failure::error(where + ": end_ms is before start_ms");
      h.ops.push_back(std::move(op));
    }
    if (j.contains("hashes"))
      for (const auto& o : j.at("hashes")) {
        MemberHash m;
        m.endpoint = o.at("endpoint").get<std::string>();
        m.revision = o.value("revision", std::int64_t{0});
        m.method = o.value("method", "");
        m.hash = o.value("hash", "");
        m.compact_revision = o.value("compact_revision", std::int64_t{0});
        m.error = o.value("error", "");
        h.hashes.push_back(std::move(m));
      }
    return h;
  } catch (const json::exception& e) {
    return Failure::error(std::string("not a history: ") + e.what());
  }
}

}  // namespace dcslab
