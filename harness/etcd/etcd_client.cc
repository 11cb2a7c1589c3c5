#include "etcd/etcd_client.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/text.h"

namespace dcslab {

const char* etcd_error_kind_name(EtcdError::Kind k) {
  switch (k) {
    case EtcdError::Kind::NotSent: return "not sent";
    case EtcdError::Kind::Rejected: return "rejected";
    case EtcdError::Kind::Unknown: return "unknown";
  }
  return "?";
}

namespace {

using nlohmann::json;

EtcdError not_sent(std::string m) { return {EtcdError::Kind::NotSent, std::move(m), 0, -1}; }

// The transport knows whether any byte of the request left; etcd's own answers are
// judged by post_once. Neither transport failure is a refusal: Rejected needs an answer.
EtcdError from_http(const HttpError& e, const std::string& member) {
  EtcdError out{EtcdError::Kind::Unknown, member + ": " + e.message, 0, -1};
  switch (e.kind) {
    case HttpError::Kind::NotSent: out.kind = EtcdError::Kind::NotSent; break;
    case HttpError::Kind::Unknown: out.kind = EtcdError::Kind::Unknown; break;
  }
  return out;
}

// etcd's gateway writes 64-bit numbers as strings; accept numbers too.
std::int64_t i64(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number()) return v.get<std::int64_t>();
  if (v.is_string()) return std::strtoll(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}
std::uint64_t u64(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number()) return v.get<std::uint64_t>();
  if (v.is_string()) return std::strtoull(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

// gRPC codes etcd answers before applying anything: the request took no effect.
bool rejected_code(int code) {
  switch (code) {
    case 3:   // InvalidArgument: user name is empty, authentication failed, future revision
    case 5:   // NotFound
    case 6:   // AlreadyExists
    case 7:   // PermissionDenied
    case 8:   // ResourceExhausted: too many requests, database space exceeded
    case 9:   // FailedPrecondition: auth revision is old
    case 11:  // OutOfRange: compacted revision
    case 12:  // Unimplemented
    case 16:  // Unauthenticated: invalid auth token
      return true;
    default:  // Unavailable (request timed out, leader changed, no leader), Unknown, ...
      return false;
  }
}

// An answer body that is the gateway's own JSON error ({"code": N, ...}), not an HTTP
// server's plain "404 page not found".
bool gateway_answer(const std::string& body) {
  try {
    const json j = json::parse(body);
    return j.is_object() && j.contains("code");
  } catch (const json::exception&) {
    return false;
  }
}

bool token_expired(const EtcdError& e) {
  return e.grpc_code == 16 || e.message.find("invalid auth token") != std::string::npos ||
         e.message.find("revision in header is old") != std::string::npos;
}

template <typename T>
EtcdResult<T> parse_error(const std::string& what) {
  return EtcdError{EtcdError::Kind::Unknown, "cannot read etcd's answer: " + what, 200, -1};
}

// One of a range answer's kvs; false when a key or value is not base64.
bool read_kv(const json& kv, EtcdKv* k) {
  if (!base64_decode(kv.value("key", ""), &k->key) || !base64_decode(kv.value("value", ""), &k->value))
    return false;
  k->create_revision = i64(kv, "create_revision");
  k->mod_revision = i64(kv, "mod_revision");
  k->version = i64(kv, "version");
  k->lease = i64(kv, "lease");
  return true;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<EtcdEndpoint> endpoints, TlsClientConfig tls, std::string user,
                       std::string password)
    : endpoints_(std::move(endpoints)),
      user_(std::move(user)),
      password_(std::move(password)),
      http_(std::move(tls)) {}

const EtcdEndpoint* EtcdClient::find(const std::string& name) const {
  for (const auto& e : endpoints_)
    if (e.name == name) return &e;
  return nullptr;
}

EtcdError EtcdClient::answer_error(const EtcdEndpoint& ep, const std::string& path, int status,
                                   const std::string& body) {
  EtcdError e;
  e.http_status = status;
  std::string msg;
  try {
    const json j = json::parse(body);
    e.grpc_code = static_cast<int>(j.value("code", -1));
    msg = j.value("error", j.value("message", ""));
  } catch (const json::exception&) {
    msg = trim(body).substr(0, 200);
  }
  // An answer that is not the gateway's JSON never reached etcd's gRPC server (404 for
  // a path the gateway lacks, 400 for a client certificate with a Common Name).
  if (e.grpc_code >= 0) e.kind = rejected_code(e.grpc_code) ? EtcdError::Kind::Rejected : EtcdError::Kind::Unknown;
  else e.kind = status >= 500 ? EtcdError::Kind::Unknown : EtcdError::Kind::Rejected;
  e.message = ep.name + ": HTTP " + std::to_string(status) + " " + path + ": " +
              (msg.empty() ? "(no message)" : msg);
  return e;
}

std::string EtcdClient::gateway_path(const std::string& member, const std::string& path) const {
  if (!beta_.count(member) || path.rfind("/v3/", 0) != 0) return path;
  return "/v3beta/" + path.substr(4);
}

EtcdResult<std::string> EtcdClient::post_once(const EtcdEndpoint& ep, const std::string& path,
                                              const std::string& body, const std::string& token,
                                              std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", token);
  std::string sent = gateway_path(ep.name, path);
  auto r = http_.post(ep.host, ep.port, sent, body, headers, timeout);
  if (!r) return from_http(r.error(), ep.name);
  // etcd 3.3's gateway serves /v3beta/ only, 3.4's both, 3.5's /v3/ only, and a member's
  // version changes under an upgrade path. A bare 404 (not the gateway's JSON: the request
  // never reached etcd, so nothing was applied) is asked once more under the other
  // prefix, which the member keeps when it is not a 404 too.
  if (r->status == 404 && !gateway_answer(r->body) && path.rfind("/v3/", 0) == 0) {
    const bool beta = beta_.count(ep.name) > 0;
    const std::string other = beta ? path : "/v3beta/" + path.substr(4);
    auto again = http_.post(ep.host, ep.port, other, body, headers, timeout);
    if (!again) return from_http(again.error(), ep.name);
    if (again->status != 404) {
      if (beta) beta_.erase(ep.name);
      else beta_.insert(ep.name);
      r = std::move(again);
      sent = other;
    }
  }
  if (r->status == 200) return std::move(r->body);
  return answer_error(ep, sent, r->status, r->body);
}

EtcdResult<std::string> EtcdClient::token(const EtcdEndpoint& ep, std::chrono::milliseconds timeout) {
  if (user_.empty()) return std::string();
  auto& t = tokens_[ep.name];
  if (!t.empty()) return t;
  ++authentications_;
  const std::string auth = json{{"name", user_}, {"password", password_}}.dump();
  auto r = post_once(ep, "/v3/auth/authenticate", auth, "", timeout);
  if (!r) {
    // The request itself was never sent: whatever happened to the authentication.
    EtcdError e = r.error();
    e.kind = e.kind == EtcdError::Kind::Rejected ? EtcdError::Kind::Rejected : EtcdError::Kind::NotSent;
    e.message = "authentication as " + user_ + " failed: " + e.message;
    return e;
  }
  try {
    t = json::parse(*r).value("token", "");
  } catch (const json::exception& x) {
    return not_sent(ep.name + ": authentication answer is not JSON: " + x.what());
  }
  if (t.empty()) return not_sent(ep.name + ": authentication answered no token");
  return t;
}

EtcdResult<std::string> EtcdClient::call(const std::string& endpoint, const std::string& path,
                                         const std::string& body, std::chrono::milliseconds timeout) {
  const EtcdEndpoint* ep = find(endpoint);
  if (!ep) return not_sent("no endpoint named " + endpoint);
  for (int attempt = 0;; ++attempt) {
    DCSLAB_TRY_ASSIGN(const std::string t, token(*ep, timeout));
    auto r = post_once(*ep, path, body, t, timeout);
    if (!r && !user_.empty() && attempt == 0 && r.error().kind == EtcdError::Kind::Rejected &&
        token_expired(r.error())) {
      // Tokens live in a member's memory: a restart or an auth change ends them.
      tokens_[endpoint].clear();
      continue;
    }
    return r;
  }
}

EtcdResult<EtcdPutReply> EtcdClient::put(const std::string& endpoint, const std::string& key,
                                         const std::string& value, std::chrono::milliseconds timeout) {
  DCSLAB_TRY_ASSIGN(const std::string answer,
                    call(endpoint, "/v3/kv/put",
                         json{{"key", base64_encode(key)}, {"value", base64_encode(value)}}.dump(),
                         timeout));
  try {
    const json j = json::parse(answer);
    EtcdPutReply p;
    p.revision = i64(j.at("header"), "revision");
    if (p.revision <= 0) return parse_error<EtcdPutReply>("no revision in " + answer.substr(0, 200));
    return p;
  } catch (const json::exception& e) {
    return parse_error<EtcdPutReply>(e.what());
  }
}

EtcdResult<EtcdRangeReply> EtcdClient::range(const std::string& endpoint, const std::string& key,
                                             const std::string& range_end, std::int64_t revision,
                                             bool serializable, std::chrono::milliseconds timeout) {
  json req{{"key", base64_encode(key)}};
  if (!range_end.empty()) req["range_end"] = base64_encode(range_end);
  if (revision > 0) req["revision"] = std::to_string(revision);
  if (serializable) req["serializable"] = true;
  DCSLAB_TRY_ASSIGN(const std::string answer, call(endpoint, "/v3/kv/range", req.dump(), timeout));
  try {
    const json j = json::parse(answer);
    EtcdRangeReply out;
    out.revision = i64(j.at("header"), "revision");
    out.more = j.value("more", false);
    if (j.contains("kvs"))
      for (const auto& kv : j.at("kvs")) {
        EtcdKv k;
        if (!read_kv(kv, &k)) return parse_error<EtcdRangeReply>("a key or value is not base64");
        out.kvs.push_back(std::move(k));
      }
    return out;
  } catch (const json::exception& e) {
    return parse_error<EtcdRangeReply>(e.what());
  }
}

EtcdResult<EtcdRangeReply> EtcdClient::get(const std::string& endpoint, const std::string& key,
                                           bool serializable, std::chrono::milliseconds timeout) {
  return range(endpoint, key, "", 0, serializable, timeout);
}

EtcdResult<EtcdCasReply> EtcdClient::cas(const std::string& endpoint, const std::string& key,
                                         const EtcdCompare& compare, const std::string& value,
                                         std::chrono::milliseconds timeout) {
  const std::string k = base64_encode(key);
  // Enums by name and 64-bit numbers as strings, as the gateway's own JSON has them.
  json cmp{{"key", k}, {"result", "EQUAL"}};
  if (compare.target == EtcdCompare::Target::Value) {
    cmp["target"] = "VALUE";
    cmp["value"] = base64_encode(compare.value);
  } else {
    cmp["target"] = "MOD";
    cmp["mod_revision"] = std::to_string(compare.mod_revision);
  }
  const json req{{"compare", json::array({cmp})},
                 {"success", json::array({{{"request_put", {{"key", k}, {"value", base64_encode(value)}}}}})},
                 {"failure", json::array({{{"request_range", {{"key", k}}}}})}};
  DCSLAB_TRY_ASSIGN(const std::string answer, call(endpoint, "/v3/kv/txn", req.dump(), timeout));
  try {
    const json j = json::parse(answer);
    EtcdCasReply out;
    out.revision = i64(j.at("header"), "revision");
    out.succeeded = j.value("succeeded", false);  // false is left out of the gateway's JSON
    if (out.revision <= 0) return parse_error<EtcdCasReply>("no revision in " + answer.substr(0, 200));
    if (!out.succeeded && j.contains("responses"))
      for (const auto& r : j.at("responses"))
        if (r.contains("response_range") && r.at("response_range").contains("kvs"))
          for (const auto& kv : r.at("response_range").at("kvs")) {
            EtcdKv got;
            if (!read_kv(kv, &got)) return parse_error<EtcdCasReply>("a key or value is not base64");
            out.current = std::move(got);
          }
    return out;
  } catch (const json::exception& e) {
    return parse_error<EtcdCasReply>(e.what());
  }
}

EtcdResult<EtcdStatus> EtcdClient::status(const std::string& endpoint, std::chrono::milliseconds timeout) {
  DCSLAB_TRY_ASSIGN(const std::string answer, call(endpoint, "/v3/maintenance/status", "{}", timeout));
  try {
    const json j = json::parse(answer);
    EtcdStatus s;
    s.version = j.value("version", "");
    s.revision = i64(j.at("header"), "revision");
    s.member_id = u64(j.at("header"), "member_id");
    s.leader = u64(j, "leader");
    s.raft_index = i64(j, "raftIndex");
    s.raft_applied_index = i64(j, "raftAppliedIndex");
    return s;
  } catch (const json::exception& e) {
    return parse_error<EtcdStatus>(e.what());
  }
}

EtcdResult<EtcdHashKv> EtcdClient::hashkv(const std::string& endpoint, std::int64_t revision,
                                          std::chrono::milliseconds timeout) {
  json req = json::object();
  if (revision > 0) req["revision"] = std::to_string(revision);
  DCSLAB_TRY_ASSIGN(const std::string answer,
                    call(endpoint, "/v3/maintenance/hashkv", req.dump(), timeout));
  try {
    const json j = json::parse(answer);
    EtcdHashKv h;
    h.revision = i64(j.at("header"), "revision");
    h.hash = u64(j, "hash");
    h.compact_revision = i64(j, "compact_revision");
    return h;
  } catch (const json::exception& e) {
    return parse_error<EtcdHashKv>(e.what());
  }
}

namespace {

// The end of the first whole JSON object in `s` (one past its closing brace), or npos.
// Strings are skipped with their escapes, so a brace in a value does not count.
std::size_t object_end(const std::string& s) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string::npos;
}

}  // namespace

std::optional<Expected<EtcdWatchResponse, std::string>> WatchStreamParser::next() {
  const std::size_t begin = buffered_.find('{');
  if (begin == std::string::npos) {
    buffered_.clear();  // whitespace between objects
    return std::nullopt;
  }
  buffered_.erase(0, begin);
  const std::size_t end = object_end(buffered_);
  if (end == std::string::npos) return std::nullopt;
  const std::string text = buffered_.substr(0, end);
  buffered_.erase(0, end);
  return parse_watch_response(text);
}

Expected<EtcdWatchResponse, std::string> parse_watch_response(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (j.contains("error")) {
      const json& e = j.at("error");
      return "the stream failed: " + e.value("message", e.dump()) +
             (e.contains("grpc_code") ? " (code " + std::to_string(e.value("grpc_code", 0)) + ")" : "");
    }
    if (!j.contains("result")) return "not a WatchResponse: " + text.substr(0, 200);
    const json& r = j.at("result");
    EtcdWatchResponse out;
    if (r.contains("header")) out.revision = i64(r.at("header"), "revision");
    out.created = r.value("created", false);
    out.canceled = r.value("canceled", false);
    out.compact_revision = i64(r, "compact_revision");
    out.cancel_reason = r.value("cancel_reason", "");
    if (r.contains("events"))
      for (const auto& e : r.at("events")) {
        EtcdEvent ev;
        ev.deleted = e.value("type", "PUT") == "DELETE";
        if (!e.contains("kv") || !read_kv(e.at("kv"), &ev.kv)) return std::string("an event's key or value is not base64");
        out.events.push_back(std::move(ev));
      }
    return out;
  } catch (const json::exception& e) {
    return std::string("not a WatchResponse: ") + e.what();
  }
}

EtcdResult<HttpStream::End> EtcdClient::watch(
    const std::string& endpoint, const std::string& key, const std::string& range_end,
    std::int64_t start_revision, std::chrono::milliseconds timeout, std::chrono::milliseconds idle,
    const std::atomic<bool>& stop, const std::function<bool(const EtcdWatchResponse&)>& on_response) {
  const EtcdEndpoint* ep = find(endpoint);
  if (!ep) return not_sent("no endpoint named " + endpoint);
  json create{{"key", base64_encode(key)}};
  if (!range_end.empty()) create["range_end"] = base64_encode(range_end);
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  const std::string body = json{{"create_request", create}}.dump();
  for (int attempt = 0;; ++attempt) {
    DCSLAB_TRY_ASSIGN(const std::string t, token(*ep, timeout));
    std::vector<std::pair<std::string, std::string>> headers;
    if (!t.empty()) headers.emplace_back("Authorization", t);
    WatchStreamParser parser;
    std::string bad;  // why the stream could not be read
    auto r = http_.post_stream(ep->host, ep->port, gateway_path(ep->name, "/v3/watch"), body, headers, timeout, idle, stop,
                               [&](std::string_view piece) {
                                 parser.feed(piece);
                                 while (auto next = parser.next()) {
                                   if (!*next) {
                                     bad = next->error();
                                     return false;
                                   }
                                   if (!on_response(**next)) return false;
                                 }
                                 return true;
                               });
    if (!r) return from_http(r.error(), ep->name);
    if (!bad.empty()) return EtcdError{EtcdError::Kind::Unknown, ep->name + ": /v3/watch: " + bad, 200, -1};
    if (r->status == 200) return r->end;
    EtcdError e = answer_error(*ep, "/v3/watch", r->status, r->body);
    if (!user_.empty() && attempt == 0 && e.kind == EtcdError::Kind::Rejected && token_expired(e)) {
      tokens_[endpoint].clear();
      continue;
    }
    return e;
  }
}

}  // namespace dcslab
