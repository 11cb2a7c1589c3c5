#include "check/synthetic.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace dcslab {

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t s_;
};

}  // namespace

KvHistory synthetic_history(const SyntheticOptions& o) {
  Rng rng(o.seed);
  const int clients = std::max(1, o.clients), keys = std::max(1, o.keys);
  KvHistory h;
  h.source = "synthetic: " + std::to_string(o.ops) + " ops, " + std::to_string(clients) + " clients, " +
             std::to_string(keys) + " keys, seed " + std::to_string(o.seed);
  h.time_unit = "ms";
  h.ops.reserve(static_cast<std::size_t>(std::max(0, o.ops)));

  // The schedule: each client calls its next op when its last one returned (or timed
  // out), a little later; each op takes effect somewhere in its interval.
  std::vector<double> next_call(clients), effect;
  std::vector<int> client_of, written(clients, 0);
  for (auto& t : next_call) t = rng.uniform();
  for (int i = 0; i < o.ops; ++i) {
    const int c = static_cast<int>(std::min_element(next_call.begin(), next_call.end()) - next_call.begin());
    KvOp op;
    op.client = "client " + std::to_string(c);
    op.name = "#" + std::to_string(i + 1);
    const double r = rng.uniform();
    op.kind = r < o.read_share ? KvKind::Read : r < o.read_share + o.cas_share ? KvKind::Cas : KvKind::Put;
    op.key = "key-" + std::to_string(rng.below(keys));
    double d = 0.5 + rng.uniform() * 3.0;
    if (rng.uniform() < 0.05) d += rng.uniform() * 30.0;  // now and then a slow one
    op.call = next_call[c];
    op.ret = op.call + d;
    const double x = rng.uniform();
    op.outcome = x < o.info_share ? KvOutcome::Info
                 : x < o.info_share + o.fail_share ? KvOutcome::Fail
                                                   : KvOutcome::Ok;
    double at = op.call + rng.uniform() * d;
    if (op.outcome == KvOutcome::Fail) at = kNever;
    if (op.outcome == KvOutcome::Info)  // took effect late (even after the timeout), or never
      at = rng.uniform() < 0.5 ? kNever : op.call + rng.uniform() * 3.0 * d;
    if (op.kind != KvKind::Read) op.value = "c" + std::to_string(c) + "-" + std::to_string(written[c]++);
    next_call[c] = op.ret + rng.uniform();
    effect.push_back(at);
    client_of.push_back(c);
    h.ops.push_back(std::move(op));
  }

  // Run it: calls (where a cas picks what it expects) and effects, in time order.
  struct Ev { double t; int kind; std::size_t op; };  // kind 0: call, 1: effect
  std::vector<Ev> ev;
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    ev.push_back({h.ops[i].call, 0, i});
    if (effect[i] != kNever) ev.push_back({effect[i], 1, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) {
    return a.t != b.t ? a.t < b.t : a.kind != b.kind ? a.kind < b.kind : a.op < b.op;
  });
  struct Cell { std::optional<std::string> value; std::int64_t rev = 0; };
  std::map<std::string, Cell> store;
  std::map<std::string, std::vector<std::string>> history_of;  // every value a key held
  std::vector<std::map<std::string, std::optional<std::string>>> known(clients);
  std::int64_t rev = 0;
  for (const Ev& e : ev) {
    KvOp& op = h.ops[e.op];
    const int c = client_of[e.op];
    if (e.kind == 0) {
      if (op.kind != KvKind::Cas) continue;
      auto it = known[c].find(op.key);
      const auto& past = history_of[op.key];
      if (it != known[c].end() && rng.uniform() < 0.75) op.expected = it->second;
      else if (!past.empty()) op.expected = past[static_cast<std::size_t>(rng.below(static_cast<int>(past.size())))];
      continue;
    }
    Cell& cell = store[op.key];
    const bool ok = op.outcome == KvOutcome::Ok;
    switch (op.kind) {
      case KvKind::Read:
        if (!ok) break;
        op.value = cell.value;
        op.revision = cell.value ? cell.rev : 0;
        known[c][op.key] = cell.value;
        break;
      case KvKind::Put:
        cell = {op.value, ++rev};
        history_of[op.key].push_back(*op.value);
        if (ok) op.revision = rev, known[c][op.key] = op.value;
        break;
      case KvKind::Cas: {
        const bool match = cell.value == op.expected;
        if (ok) op.swapped = match;
        if (!match) break;
        cell = {op.value, ++rev};
        history_of[op.key].push_back(*op.value);
        if (ok) op.revision = rev, known[c][op.key] = op.value;
        break;
      }
    }
  }
  for (auto& op : h.ops) {
    if (op.outcome != KvOutcome::Ok && op.kind == KvKind::Read) op.value.reset();
    if (!o.revisions) op.revision = 0;
  }
  return h;
}

std::optional<std::size_t> make_one_read_stale(KvHistory& h) {
  // The acknowledged writes of each key.
  std::map<std::string, std::vector<std::size_t>> writes;
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const KvOp& o = h.ops[i];
    if (o.outcome == KvOutcome::Ok && (o.kind == KvKind::Put || (o.kind == KvKind::Cas && o.swapped)))
      writes[o.key].push_back(i);
  }
  for (std::size_t r = h.ops.size() / 2; r < h.ops.size(); ++r) {
    KvOp& read = h.ops[r];
    if (read.kind != KvKind::Read || read.outcome != KvOutcome::Ok) continue;
    // W acknowledged before the read began; V acknowledged before W began: V's value is
    // certainly overwritten by the time of the read.
    const auto& ws = writes[read.key];
    for (std::size_t w : ws) {
      if (h.ops[w].ret >= read.call) continue;
      for (std::size_t v : ws) {
        if (h.ops[v].ret >= h.ops[w].call || h.ops[v].value == read.value) continue;
        read.value = h.ops[v].value;
        read.revision = h.ops[v].revision;
        return r;
      }
    }
  }
  return std::nullopt;
}

}  // namespace dcslab
