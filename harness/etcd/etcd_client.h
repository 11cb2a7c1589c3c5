// A small etcd v3 client, in process, over etcd's JSON gRPC gateway: HTTP/1.1 over TLS
// (tls/https_client.h) to https://<member>:2379/v3/..., one keep-alive connection per
// member, a deadline on every request. What the writer and `check_writes` use: no etcdctl, no
// SSH, so a put's start and end are the client's own and timing is not blurred by a
// process start on the node.
//
// Paths (checked on etcd 3.4.23 and 3.5; on 3.3.25 under /v3beta/, see post_once): /v3/auth/authenticate (the token then goes in
// the Authorization header), /v3/kv/put, /v3/kv/range, /v3/kv/txn (compare-and-set),
// /v3/watch (a stream, below), /v3/maintenance/status, and
// /v3/maintenance/hashkv where the gateway has it (3.4's maps that path nowhere: its
// HashKV and Hash share /v3/maintenance/hash; hashkv() then answers Rejected, HTTP 404).
// Keys and values travel base64-encoded; 64-bit numbers as JSON strings.
//
// etcd refuses every gateway request whose client certificate has a Common Name when
// client-cert-auth and authentication are both on ("CommonName of client sending a
// request against gateway will be ignored and not used as expected"): the gateway cannot
// pass the name on. The client certificate given here must then have none (the writer
// makes one, see writer_steps.h).
//
// The connection is made from this process, so from whatever network namespace it is in
// (the lab's, when the lab is isolated).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "tls/https_client.h"

namespace dcslab {

// How a request failed, as a writer must judge it: could it have taken effect?
struct EtcdError {
  enum class Kind {
    NotSent,   // nothing reached etcd (connect refused or timed out, TLS failed, no token)
    Rejected,  // etcd answered an error it gives before applying (auth, bad argument, 404)
    Unknown,   // sent, and no clear answer (timeout, reset, "request timed out", 5xx)
  };
  Kind kind = Kind::Unknown;
  std::string message;
  int http_status = 0;  // 0: no HTTP answer
  int grpc_code = -1;   // the gateway's "code" (a gRPC status code), -1: none
};
const char* etcd_error_kind_name(EtcdError::Kind k);

template <typename T>
using EtcdResult = Expected<T, EtcdError>;

struct EtcdEndpoint {
  std::string name;   // the member's node name: what histories and messages show
  std::string host;   // address to connect to and to verify
  int port = 2379;
};

struct EtcdKv {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};
struct EtcdPutReply { std::int64_t revision = 0; };
struct EtcdRangeReply {
  std::int64_t revision = 0;  // the store's revision the read was served at
  std::vector<EtcdKv> kvs;
  bool more = false;
};
// A compare-and-set's condition on one key (a txn's compare, result EQUAL).
struct EtcdCompare {
  enum class Target { Value, ModRevision };
  Target target = Target::Value;
  std::string value;               // Value: the key holds exactly this (a missing key never matches)
  std::int64_t mod_revision = 0;   // ModRevision: the key's last write; 0: the key does not exist
};
struct EtcdCasReply {
  bool succeeded = false;          // the compare held and the put was applied
  std::int64_t revision = 0;       // the header's: the put's revision when it succeeded
  std::optional<EtcdKv> current;   // not succeeded: the key as the txn found it (nullopt: absent)
};
struct EtcdStatus {
  std::string version;
  std::int64_t revision = 0, raft_index = 0, raft_applied_index = 0;
  std::uint64_t member_id = 0, leader = 0;
};
// One WatchResponse of the gateway's /v3/watch stream. The stream is one JSON object per
// response, {"result": {...}} (fixtures/watch/ holds etcd 3.4.23's, recorded): first
// {"created": true} with the header's revision, then the events. One response may carry
// several revisions (a watch catching up from an older revision gets them in one), and all
// events of one revision come in one response. A start revision already compacted gives
// {"canceled": true, "compact_revision": N} (the header then has no revision). A failure of
// the stream itself is {"error": {"grpc_code", "message"}}.
struct EtcdEvent {
  bool deleted = false;   // "type": "DELETE" (a put has no type: PUT is the default)
  EtcdKv kv;              // a delete's kv has only the key and mod_revision
};
struct EtcdWatchResponse {
  std::int64_t revision = 0;         // the header's
  bool created = false, canceled = false;
  std::int64_t compact_revision = 0; // canceled because the start revision was compacted
  std::string cancel_reason;
  std::vector<EtcdEvent> events;
};
// The responses of a stream, whatever the pieces it arrives in: a piece may end anywhere,
// in the middle of an object or of a string.
class WatchStreamParser {
 public:
  void feed(std::string_view piece) { buffered_.append(piece); }
  // The next whole response; nullopt: none complete yet. An error: the object is not a
  // WatchResponse (or is the stream's error), and the stream is of no further use.
  std::optional<Expected<EtcdWatchResponse, std::string>> next();
 private:
  std::string buffered_;
};
Expected<EtcdWatchResponse, std::string> parse_watch_response(const std::string& json_text);

struct EtcdHashKv {
  std::int64_t revision = 0;   // the header's: the member's current revision
  std::uint64_t hash = 0;
  std::int64_t compact_revision = 0;
};

// The seam the writer uses, so it is tested against a fake.
class KvApi {
 public:
  virtual ~KvApi() = default;
  virtual EtcdResult<EtcdPutReply> put(const std::string& endpoint, const std::string& key,
                                       const std::string& value, std::chrono::milliseconds timeout) = 0;
  // One key; serializable: the member's own copy, without asking the leader.
  virtual EtcdResult<EtcdRangeReply> get(const std::string& endpoint, const std::string& key,
                                         bool serializable, std::chrono::milliseconds timeout) = 0;
  // One txn: if `compare` holds, put `value`; else read the key (what it held instead).
  virtual EtcdResult<EtcdCasReply> cas(const std::string& endpoint, const std::string& key,
                                       const EtcdCompare& compare, const std::string& value,
                                       std::chrono::milliseconds timeout) = 0;
};

class EtcdClient : public KvApi {
 public:
  // user empty: no authentication (no Authorization header).
  EtcdClient(std::vector<EtcdEndpoint> endpoints, TlsClientConfig tls, std::string user,
             std::string password);

  EtcdResult<EtcdPutReply> put(const std::string& endpoint, const std::string& key,
                               const std::string& value, std::chrono::milliseconds timeout) override;
  EtcdResult<EtcdRangeReply> get(const std::string& endpoint, const std::string& key,
                                 bool serializable, std::chrono::milliseconds timeout) override;
  EtcdResult<EtcdCasReply> cas(const std::string& endpoint, const std::string& key,
                               const EtcdCompare& compare, const std::string& value,
                               std::chrono::milliseconds timeout) override;
  // [key, range_end) ("\0" for both: every key) at `revision` (0: the latest).
  EtcdResult<EtcdRangeReply> range(const std::string& endpoint, const std::string& key,
                                   const std::string& range_end, std::int64_t revision,
                                   bool serializable, std::chrono::milliseconds timeout);
  EtcdResult<EtcdStatus> status(const std::string& endpoint, std::chrono::milliseconds timeout);
  EtcdResult<EtcdHashKv> hashkv(const std::string& endpoint, std::int64_t revision,
                                std::chrono::milliseconds timeout);
  // A watch of [key, range_end) from `start_revision` through the member: each response to
  // `on_response` as it arrives, until it returns false (Stopped), `stop` is set (Stopped),
  // or the stream ends (Finished: the member ended it). A broken or silent stream (no byte
  // for `idle`), an answer that is not a stream, or one that cannot be read: an error.
  // `timeout` bounds the connection and the first answer.
  EtcdResult<HttpStream::End> watch(const std::string& endpoint, const std::string& key,
                                    const std::string& range_end, std::int64_t start_revision,
                                    std::chrono::milliseconds timeout, std::chrono::milliseconds idle,
                                    const std::atomic<bool>& stop,
                                    const std::function<bool(const EtcdWatchResponse&)>& on_response);

  const std::vector<EtcdEndpoint>& endpoints() const { return endpoints_; }
  int authentications() const { return authentications_; }

 private:
  // POSTs `body` to `path` on the member, authenticating first when needed and once more
  // when etcd says the token is no longer valid. The answer's JSON text.
  EtcdResult<std::string> call(const std::string& endpoint, const std::string& path,
                               const std::string& body, std::chrono::milliseconds timeout);
  // The member's token (authenticating when there is none yet); "" without a user.
  EtcdResult<std::string> token(const EtcdEndpoint& ep, std::chrono::milliseconds timeout);
  // An answer that is not 200 as an error, classified (rejected_code etc.).
  static EtcdError answer_error(const EtcdEndpoint& ep, const std::string& path, int status,
                                const std::string& body);
  EtcdResult<std::string> post_once(const EtcdEndpoint& ep, const std::string& path,
                                    const std::string& body, const std::string& token,
                                    std::chrono::milliseconds timeout);
  const EtcdEndpoint* find(const std::string& name) const;
  // `path` (/v3/...) as this member's gateway serves it: /v3beta/... once it answered so.
  std::string gateway_path(const std::string& member, const std::string& path) const;

  std::vector<EtcdEndpoint> endpoints_;
  std::string user_, password_;
  HttpsClient http_;
  std::map<std::string, std::string> tokens_;  // endpoint -> token
  std::set<std::string> beta_;  // members whose gateway serves /v3beta/ only (etcd 3.3)
  int authentications_ = 0;
};

}  // namespace dcslab
