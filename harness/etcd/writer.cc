#include "etcd/writer.h"

#include <algorithm>
#include <chrono>

#include "base/text.h"

namespace dcslab {

namespace {

OpStatus status_of(const EtcdError& e) {
  return e.kind == EtcdError::Kind::Unknown ? OpStatus::Indeterminate : OpStatus::Failed;
}

}  // namespace

Writer::Writer(WriterOptions options, std::shared_ptr<KvApi> api, Clock& clock)
    : options_(std::move(options)), api_(std::move(api)), clock_(clock), t0_(clock.now()) {
  if (options_.run_id.empty()) options_.run_id = utc_compact(std::chrono::system_clock::now());
  if (options_.keys < 1) options_.keys = 1;
  history_.name = options_.name;
  history_.prefix = options_.prefix + options_.name + "/" + options_.run_id + "/";
  history_.endpoints = options_.endpoints;
  history_.interval_ms = static_cast<double>(options_.interval.count());
}

Writer::~Writer() { stop(); }

std::string Writer::key(int n) const { return history_.prefix + "key-" + std::to_string(n); }

double Writer::now_ms() {
  return std::chrono::duration<double, std::milli>(clock_.now() - t0_).count();
}

Op& Writer::record(Op op) {
  op.id = static_cast<std::int64_t>(history_.ops.size()) + 1;
  history_.ops.push_back(std::move(op));
  return history_.ops.back();
}

void Writer::append(Op op) {
  std::lock_guard lock(mu_);
  record(std::move(op));
}

void Writer::set_hashes(std::vector<MemberHash> hashes) {
  std::lock_guard lock(mu_);
  history_.hashes = std::move(hashes);
}

History Writer::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

double Writer::seconds_running() const {
  const auto end = stopped_ == Clock::time_point{} ? std::chrono::steady_clock::now() : stopped_;
  if (started_ == Clock::time_point{}) return 0;
  return std::chrono::duration<double>(end - started_).count();
}

void Writer::step() {
  const auto& eps = options_.endpoints;
  if (eps.empty()) return;
  ++ticks_;
  // This tick's members in turn from the next one, the ones known to be down last.
  std::vector<std::string> order;
  for (std::size_t k = 0; k < eps.size(); ++k) order.push_back(eps[(next_ + k) % eps.size()]);
  next_ = (next_ + 1) % eps.size();
  const auto now = clock_.now();
  std::stable_partition(order.begin(), order.end(), [&](const std::string& e) {
    auto it = down_until_.find(e);
    return it == down_until_.end() || it->second <= now;
  });

  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string& ep = order[i];
    const std::int64_t seq = seq_++;
    Op put;
    put.kind = OpKind::Put;
    put.key = key(static_cast<int>(seq % options_.keys));
    put.value = options_.name + "-" + std::to_string(seq);
    put.endpoint = ep;
    put.start_ms = now_ms();
    auto r = api_->put(ep, put.key, put.value, options_.timeout);
    put.end_ms = now_ms();
    if (r) {
      put.status = OpStatus::Ok;
      put.revision = r->revision;
    } else {
      put.status = status_of(r.error());
      put.error = r.error().message;
    }
    {
      std::lock_guard lock(mu_);
      record(put);
    }
    if (!r) {
      if (r.error().kind != EtcdError::Kind::NotSent) return;  // sent: next tick
      down_until_[ep] = clock_.now() + options_.down_for;
      continue;  // certainly not applied: the next member, a new value
    }
    if (!options_.reads) return;
    // Read it back through another member: an acknowledged write must be visible there.
    const std::string& via = order.size() > 1 ? order[(i + 1) % order.size()] : ep;
    Op get;
    get.kind = OpKind::Get;
    get.key = put.key;
    get.endpoint = via;
    get.start_ms = now_ms();
    auto g = api_->get(via, get.key, false, options_.timeout);
    get.end_ms = now_ms();
    if (g) {
      get.status = OpStatus::Ok;
      if (!g->kvs.empty()) {
        get.found = true;
        get.value = g->kvs.front().value;
        get.revision = g->kvs.front().mod_revision;
      }
    } else {
      get.status = status_of(g.error());
      get.error = g.error().message;
      if (g.error().kind == EtcdError::Kind::NotSent) down_until_[via] = clock_.now() + options_.down_for;
    }
    std::lock_guard lock(mu_);
    record(get);
    return;
  }
}

void Writer::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  started_ = std::chrono::steady_clock::now();
  // The thread is made by the caller's thread, so it is in the same network namespace.
  thread_ = std::thread([this] {
    while (!stop_) {
      const auto tick = std::chrono::steady_clock::now();
      step();
      std::unique_lock lock(wake_mu_);
      wake_.wait_until(lock, tick + options_.interval, [this] { return stop_.load(); });
    }
  });
}

void Writer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  stopped_ = std::chrono::steady_clock::now();
}

}  // namespace dcslab
