#include "etcd/watcher.h"

#include <algorithm>

namespace dcslab {

Watcher::Watcher(WatcherOptions options, MakeClient make_client, std::function<double()> now_ms,
                 Clock& clock)
    : options_(std::move(options)), make_client_(std::move(make_client)), now_ms_(std::move(now_ms)),
      clock_(clock) {
  history_.name = options_.name;
  history_.writer = options_.writer;
  history_.prefix = options_.prefix;
}

Watcher::~Watcher() { stop(); }

// The end of the prefix's range: the prefix with its last byte one higher (etcd's
// "--prefix"), dropping trailing 0xff bytes.
std::string Watcher::prefix_end() const {
  std::string end = options_.prefix;
  while (!end.empty()) {
    auto& c = end.back();
    if (static_cast<unsigned char>(c) < 0xff) {
      c = static_cast<char>(static_cast<unsigned char>(c) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Expected<std::int64_t> Watcher::start() {
  if (options_.endpoints.empty()) return Failure::error("a watcher needs at least one member");
  auto client = make_client_();
  std::string errors;
  std::int64_t revision = -1;
  for (const auto& ep : options_.endpoints) {
    auto s = client->status(ep, options_.timeout);
    if (s) {
      revision = s->revision;
      break;
    }
    errors += "\n" + s.error().message;
  }
  if (revision < 0) return Failure::error("no member told the revision to watch from:" + errors);
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < options_.endpoints.size(); ++i) {
      Watch w;
      w.id = options_.name + "-" + std::to_string(i + 1);
      history_.watches.push_back(std::move(w));
    }
    reached_.assign(options_.endpoints.size(), 0);
  }
  for (std::size_t i = 0; i < options_.endpoints.size(); ++i)
    threads_.emplace_back([this, i, revision] { run(i, revision + 1); });
  return revision + 1;
}

void Watcher::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

WatchHistory Watcher::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

std::int64_t Watcher::reached() const {
  std::lock_guard lock(mu_);
  if (reached_.empty()) return 0;
  return *std::min_element(reached_.begin(), reached_.end());
}

void Watcher::run(std::size_t index, std::int64_t from) {
  auto client = make_client_();
  const auto& eps = options_.endpoints;
  std::size_t member = index;
  std::int64_t next = from;
  int responses = 0;
  const std::string end = prefix_end();
  while (!stop_) {
    WatchSession s;
    s.endpoint = eps[member % eps.size()];
    s.start_revision = next;
    s.start_ms = now_ms_();
    int session = 0;
    {
      std::lock_guard lock(mu_);
      Watch& w = history_.watches[index];
      session = static_cast<int>(w.sessions.size());
      w.sessions.push_back(s);
    }
    bool canceled = false;
    std::int64_t compacted = 0;
    auto r = client->watch(s.endpoint, options_.prefix, end, next, options_.timeout, options_.idle, stop_,
                           [&](const EtcdWatchResponse& resp) {
                             const double at = now_ms_();
                             std::lock_guard lock(mu_);
                             Watch& w = history_.watches[index];
                             WatchSession& ws = w.sessions[static_cast<std::size_t>(session)];
                             if (resp.created) ws.created_revision = resp.revision;
                             if (resp.canceled) {
                               canceled = true;
                               compacted = ws.compact_revision = resp.compact_revision;
                               ws.end = "canceled" + (resp.compact_revision
                                                          ? ": compacted up to revision " +
                                                                std::to_string(resp.compact_revision)
                                                          : resp.cancel_reason.empty() ? "" : ": " + resp.cancel_reason);
                               return false;
                             }
                             if (resp.events.empty()) return true;
                             ++responses;
                             for (const auto& e : resp.events) {
                               WatchEvent ev;
                               ev.revision = e.kv.mod_revision;
                               ev.key = e.kv.key;
                               ev.value = e.kv.value;
                               ev.deleted = e.deleted;
                               ev.session = session;
                               ev.response = responses;
                               ev.received_ms = at;
                               w.events.push_back(std::move(ev));
                               next = std::max(next, e.kv.mod_revision + 1);
                             }
                             reached_[index] = next - 1;
                             return true;
                           });
    {
      std::lock_guard lock(mu_);
      WatchSession& ws = history_.watches[index].sessions[static_cast<std::size_t>(session)];
      ws.end_ms = now_ms_();
      if (!canceled)
        ws.end = !r ? r.error().message
                    : *r == HttpStream::End::Stopped ? "stopped" : "the member ended the stream";
    }
    // Compacted: the missed revisions are gone; a canceled watch for another reason
    // (etcd's own) is retried like a broken one.
    if (compacted) return;
    ++member;
    // Not at once: a member that refuses at once would be asked in a busy loop.
    for (auto waited = std::chrono::milliseconds(0); !stop_ && waited < options_.retry;
         waited += std::chrono::milliseconds(50))
      clock_.sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace dcslab
