#include "etcd/writer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

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

double Writer::seconds_running() const { return ticker_.seconds_running(); }

// Spread evenly: tick seq is a cas when the running count of cas * seq steps up.
bool Writer::cas_tick(std::int64_t seq) const {
  if (options_.cas <= 0) return false;
  return std::floor(static_cast<double>(seq + 1) * options_.cas) >
         std::floor(static_cast<double>(seq) * options_.cas);
}

Op Writer::write(std::int64_t seq, const std::string& ep, EtcdError* error) {
  Op op;
  op.kind = cas_tick(seq) ? OpKind::Cas : OpKind::Put;
  op.key = key(static_cast<int>(seq % options_.keys));
  op.value = options_.name + "-" + std::to_string(seq);
  op.endpoint = ep;
  const auto k = known_.find(op.key);
  const Known known = k == known_.end() ? Known{} : k->second;
  EtcdCompare compare;
  if (op.kind == OpKind::Cas) {
    // A value compare needs a value: a key known absent is compared by revision 0.
    if (known.exists && cas_made_++ % 2 == 0) {
      compare.target = EtcdCompare::Target::Value;
      compare.value = op.expect_value = known.value;
    } else {
      compare.target = EtcdCompare::Target::ModRevision;
      compare.mod_revision = known.exists ? known.revision : 0;
      op.expect_revision = compare.mod_revision;
    }
  }
  op.start_ms = now_ms();
  bool answered = false;
  if (op.kind == OpKind::Put) {
    auto r = api_->put(ep, op.key, op.value, options_.timeout);
    op.end_ms = now_ms();
    if ((answered = static_cast<bool>(r))) {
      op.revision = r->revision;
      known_[op.key] = Known{true, op.value, op.revision};
    } else {
      *error = r.error();
    }
  } else {
    auto r = api_->cas(ep, op.key, compare, op.value, options_.timeout);
    op.end_ms = now_ms();
    if ((answered = static_cast<bool>(r))) {
      op.swapped = r->succeeded;
      if (r->succeeded) {
        op.revision = r->revision;
        known_[op.key] = Known{true, op.value, op.revision};
      } else {
        known_[op.key] = r->current ? Known{true, r->current->value, r->current->mod_revision} : Known{};
      }
    } else {
      *error = r.error();
    }
  }
  op.status = answered ? OpStatus::Ok : status_of(*error);
  if (!answered) {
    op.error = error->message;
  }
  std::lock_guard lock(mu_);
  return record(op);
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
    EtcdError error;
    const Op written = write(seq_++, ep, &error);
    if (written.status != OpStatus::Ok) {
      if (error.kind != EtcdError::Kind::NotSent) return;  // sent: next tick
      down_until_[ep] = clock_.now() + options_.down_for;
      continue;  // certainly not applied: the next member, a new value
    }
    if (!options_.reads) return;
    // Read it back through another member: an acknowledged write must be visible there.
    const std::string& via = order.size() > 1 ? order[(i + 1) % order.size()] : ep;
    Op get;
    get.kind = OpKind::Get;
    get.key = written.key;
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
      known_[get.key] = Known{get.found, get.value, get.revision};
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

void Writer::start() { ticker_.start(options_.interval, [this] { step(); }); }

void Writer::stop() { ticker_.stop(); }

}  // namespace dcslab
