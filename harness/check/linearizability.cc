#include "check/linearizability.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "base/text.h"

namespace dcslab {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Linearizable: return "linearizable";
    case Verdict::NotLinearizable: return "not linearizable";
    case Verdict::Undecided: return "undecided";
  }
  return "?";
}

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();
constexpr std::size_t kNoRank = std::numeric_limits<std::size_t>::max();

std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------------------------------
// The budget: steps and time, shared by every search of one check.

class Meter {
 public:
  explicit Meter(const CheckBudget& b)
      : clock_(b.clock ? *b.clock : RealClock::instance()), start_(clock_.now()), time_(b.time),
        max_steps_(b.steps) {}

  // One step; false once the budget is spent (and from then on).
  bool tick() {
    if (spent_) return false;
    ++steps_;
    if (max_steps_ && steps_ > max_steps_) return !(spent_ = true);
    if ((steps_ & 1023) == 0) return check_time();
    return true;
  }
  // At the start of each search, so a spent clock is noticed even by short searches.
  bool check_time() {
    if (spent_) return false;
    if (time_.count() > 0 && clock_.now() - start_ >= time_) spent_ = true;
    return !spent_;
  }
  bool spent() const { return spent_; }
  std::uint64_t steps() const { return steps_; }
  double seconds() { return std::chrono::duration<double>(clock_.now() - start_).count(); }

 private:
  Clock& clock_;
  Clock::time_point start_;
  std::chrono::milliseconds time_;
  std::uint64_t max_steps_;
  std::uint64_t steps_ = 0;
  bool spent_ = false;
};

// ---------------------------------------------------------------------------------------
// One key's ops, as every search of that key starts from them.

// The register's state. `rev` is the mod revision when `exact`, else a lower bound (an
// indeterminate write, or a Jepsen put, wrote at a revision nobody saw: above `rev`).
struct State {
  std::int32_t value = 0;  // 0: absent; else an id into KeyOps::values
  std::int64_t rev = 0;
  bool exact = true;
  bool operator==(const State& o) const {
    return value == o.value && rev == o.rev && exact == o.exact;
  }
};

struct KOp {
  std::size_t hist = 0;            // index into KvHistory::ops
  KvKind kind = KvKind::Put;
  bool info = false;
  std::int32_t value = 0, expected = 0;
  bool rev_compare = false;
  std::int64_t expected_rev = 0;
  bool swapped = false;
  std::int64_t rev = 0;
  double call = 0, ret = kNever;
  std::size_t call_rank = 0, ret_rank = kNoRank;  // places in the key's event order
};

struct KeyOps {
  std::string key;
  std::vector<std::size_t> all;    // every op of the key in the history, fail ones too
  std::vector<KOp> ops;            // the ops a search sees, in call order
  std::vector<std::string> values; // [0] unused (absent)
  std::vector<std::vector<std::size_t>> writers;  // value id -> ops that may write it
  bool track_rev = false;
  bool minimizable = true;         // puts and reads only, each value written once
};

KeyOps key_ops(const KvHistory& h, const std::string& key, const std::vector<std::size_t>& idx) {
  KeyOps k;
  k.key = key;
  k.all = idx;
  k.values.emplace_back();
  std::unordered_map<std::string, std::int32_t> ids;
  auto id = [&](const std::optional<std::string>& v) -> std::int32_t {
    if (!v) return 0;
    auto [it, fresh] = ids.emplace(*v, static_cast<std::int32_t>(k.values.size()));
    if (fresh) k.values.push_back(*v);
    return it->second;
  };
  for (std::size_t i : idx) {
    const KvOp& o = h.ops[i];
    // A failed op certainly did not happen; a read without an answer tells nothing.
    if (o.outcome == KvOutcome::Fail) continue;
    if (o.kind == KvKind::Read && o.outcome != KvOutcome::Ok) continue;
    KOp s;
    s.hist = i;
    s.kind = o.kind;
    s.info = o.outcome == KvOutcome::Info;
    s.value = id(o.value);
    s.expected = id(o.expected);
    s.rev_compare = o.expected_revision.has_value();
    s.expected_rev = o.expected_revision.value_or(0);
    s.swapped = o.swapped;
    s.rev = s.info ? 0 : o.revision;
    s.call = o.call;
    s.ret = s.info ? kNever : std::max(o.ret, o.call);
    if (s.rev || s.rev_compare) k.track_rev = true;
    if (o.kind == KvKind::Cas) k.minimizable = false;
    k.ops.push_back(s);
  }
  std::stable_sort(k.ops.begin(), k.ops.end(),
                   [](const KOp& a, const KOp& b) { return a.call < b.call; });
  // The events in the order the search walks them: by time, a call before a return at
  // the same time (ops that touch are taken as concurrent: the lenient reading).
  struct Ev { double t; int kind; std::size_t op; };
  std::vector<Ev> ev;
  for (std::size_t i = 0; i < k.ops.size(); ++i) {
    ev.push_back({k.ops[i].call, 0, i});
    if (!k.ops[i].info) ev.push_back({k.ops[i].ret, 1, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) {
    if (a.t != b.t) return a.t < b.t;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.op < b.op;
  });
  for (std::size_t r = 0; r < ev.size(); ++r)
    (ev[r].kind == 0 ? k.ops[ev[r].op].call_rank : k.ops[ev[r].op].ret_rank) = r;
  k.writers.resize(k.values.size());
  for (std::size_t i = 0; i < k.ops.size(); ++i) {
    const KOp& o = k.ops[i];
    if (o.kind == KvKind::Read) continue;  // may_write() sorts out the cas that did not swap
    k.writers[o.value].push_back(i);
    if (k.writers[o.value].size() > 1) k.minimizable = false;
  }
  return k;
}

// ---------------------------------------------------------------------------------------
// What one search sees: the key's ops up to a cut in the event order (a prefix), or a
// subset of them.

struct SOp {
  KvKind kind = KvKind::Put;
  bool info = false;   // outcome unknown: indeterminate, or still open at the cut
  bool free = false;   // info with no return: may go last (never)
  std::int32_t value = 0, expected = 0;
  bool rev_compare = false;
  std::int64_t expected_rev = 0;
  bool swapped = false;
  std::int64_t rev = 0;
  double call = 0, ret = kNever;
  int bit = 0;         // its bit among the determinate ops, or among the free ones
  std::size_t k = 0;   // index into KeyOps::ops
};

struct Part {
  std::vector<SOp> ops;
  int nonfree = 0, free = 0;
  bool track_rev = false;
};

bool writes(const SOp& s) { return s.kind == KvKind::Put || (s.kind == KvKind::Cas && (s.info || s.swapped)); }

// `cut`: the last event rank included (kNoRank: all). `keep`: the KeyOps ops to keep.
Part prepare(const KeyOps& k, std::size_t cut, const std::vector<char>* keep = nullptr) {
  Part p;
  p.track_rev = k.track_rev;
  for (std::size_t i = 0; i < k.ops.size(); ++i) {
    const KOp& o = k.ops[i];
    if (keep && !(*keep)[i]) continue;
    if (cut != kNoRank && o.call_rank > cut) continue;
    const bool open = o.info || (cut != kNoRank && o.ret_rank > cut);
    if (open && o.kind == KvKind::Read) continue;  // an unanswered read constrains nothing
    SOp s;
    s.kind = o.kind;
    s.info = open;
    s.value = o.value;
    s.expected = o.expected;
    s.rev_compare = o.rev_compare;
    s.expected_rev = o.expected_rev;
    s.swapped = o.swapped;
    s.rev = open ? 0 : o.rev;
    s.call = o.call;
    s.ret = open ? kNever : o.ret;
    s.k = i;
    p.ops.push_back(s);
  }
  // An indeterminate write that is the only write of its value, observed by a completed
  // op, took effect before that op returned: its return is set there.
  std::unordered_map<std::int32_t, int> writers;
  std::unordered_map<std::int32_t, double> seen_by;
  for (const auto& s : p.ops) {
    if (writes(s) && s.value) ++writers[s.value];
    if (s.info) continue;
    std::int32_t v = 0;
    if (s.kind == KvKind::Read) v = s.value;
    else if (s.kind == KvKind::Cas && s.swapped && !s.rev_compare) v = s.expected;
    if (!v) continue;
    auto [it, fresh] = seen_by.emplace(v, s.ret);
    if (!fresh) it->second = std::min(it->second, s.ret);
  }
  for (auto& s : p.ops) {
    if (!s.info || !writes(s) || !s.value || writers[s.value] != 1) continue;
    if (auto it = seen_by.find(s.value); it != seen_by.end()) s.ret = std::max(it->second, s.call);
  }
  for (auto& s : p.ops) s.free = s.info && s.ret == kNever;
  // A free write nothing can ever need is left out (it goes last: never). The search
  // tries a free op only when some candidate takes effect after it differently than
  // without it (see useful() in search()): a read or cas that wants its value, a cas
  // that must find something other than the current value, or a revision compare. When no op wants its value, no cas
  // compares revisions, and every cas that did not swap returned before it was called,
  // nothing ever will.
  bool rev_cas = false;
  double last_unswapped = -kNever;
  std::unordered_map<std::int32_t, bool> wanted;
  for (const auto& s : p.ops) {
    if (s.kind == KvKind::Read) wanted[s.value] = true;
    if (s.kind != KvKind::Cas) continue;
    if (s.rev_compare) rev_cas = true;
    else wanted[s.expected] = true;
    if (!s.info && !s.swapped) last_unswapped = std::max(last_unswapped, s.ret);
  }
  std::erase_if(p.ops, [&](const SOp& s) {
    return s.free && !rev_cas && !wanted.count(s.value) && s.call > last_unswapped;
  });
  for (auto& s : p.ops) s.bit = s.free ? p.free++ : p.nonfree++;
  return p;
}

// The model's step: may `s` take effect in state `st`, and what state follows?
bool step(const SOp& s, const State& st, bool track_rev, State* out) {
  auto written = [&](State* o) {
    if (track_rev && s.rev) {
      if (s.rev <= st.rev) return false;  // revisions only grow (a lower bound counts too)
      *o = {s.value, s.rev, true};
    } else {
      *o = {s.value, track_rev ? st.rev : 0, !track_rev};
    }
    return true;
  };
  switch (s.kind) {
    case KvKind::Read:
      if (st.value != s.value) return false;
      if (track_rev && s.rev) {
        if (st.exact ? st.rev != s.rev : s.rev <= st.rev) return false;
        *out = {st.value, s.rev, true};
      } else {
        *out = st;
      }
      return true;
    case KvKind::Put:
      return written(out);
    case KvKind::Cas: {
      bool match = false, certain = true;
      if (s.rev_compare) {
        if (st.exact) match = st.rev == s.expected_rev;
        else match = s.expected_rev > st.rev, certain = false;
      } else {
        match = st.value == s.expected;
      }
      if (s.info) {
        // Not matching here is the same as not taking effect, which "last" covers.
        if (!match) return *out = st, true;
        return written(out);
      }
      if (!s.swapped) {
        if (match && certain) return false;
        return *out = st, true;
      }
      if (!match) return false;
      return written(out);
    }
  }
  return false;
}

std::uint64_t state_hash(const State& s) {
  return mix64(static_cast<std::uint64_t>(s.value) * 0x9e3779b97f4a7c15ULL ^
               mix64(static_cast<std::uint64_t>(s.rev) << 1 | (s.exact ? 1 : 0)));
}

// Configurations seen: (determinate ops linearized, state) -> the sets of free ops
// linearized with them. A configuration is dominated by one with the same determinate
// ops and state and a subset of its free ops.
class Memo {
 public:
  explicit Memo(int free_words) : fw_(free_words) { slots_.assign(1024, -1); }

  // True when a dominating configuration was stored; otherwise stores this one.
  bool seen_or_add(std::uint64_t hash, const State& st, const std::uint64_t* win, std::uint32_t low,
                   std::uint32_t nwin, const std::uint64_t* fr) {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    for (; slots_[i] >= 0; i = (i + 1) & mask) {
      if (entries_[slots_[i]].hash != hash) continue;
      for (std::int32_t e = slots_[i]; e >= 0; e = entries_[e].next) {
        const Entry& en = entries_[e];
        if (!(en.st == st) || en.low != low || en.nwin != nwin) continue;
        const std::uint64_t* w = words_.data() + en.off;
        if (nwin && std::memcmp(w, win, nwin * sizeof(std::uint64_t)) != 0) continue;
        bool subset = true;
        for (int j = 0; j < fw_ && subset; ++j) subset = (w[nwin + j] & ~fr[j]) == 0;
        if (subset) return true;
      }
      add(hash, st, win, low, nwin, fr, slots_[i]);
      slots_[i] = static_cast<std::int32_t>(entries_.size() - 1);
      return false;
    }
    add(hash, st, win, low, nwin, fr, -1);
    slots_[i] = static_cast<std::int32_t>(entries_.size() - 1);
    if (++heads_ * 2 > slots_.size()) grow();
    return false;
  }

 private:
  struct Entry {
    std::uint64_t hash;
    State st;
    std::uint32_t low, nwin;
    std::size_t off;
    std::int32_t next;
  };

  void add(std::uint64_t hash, const State& st, const std::uint64_t* win, std::uint32_t low,
           std::uint32_t nwin, const std::uint64_t* fr, std::int32_t next) {
    entries_.push_back({hash, st, low, nwin, words_.size(), next});
    words_.insert(words_.end(), win, win + nwin);
    words_.insert(words_.end(), fr, fr + fw_);
  }

  void grow() {
    std::vector<std::int32_t> old = std::move(slots_);
    slots_.assign(old.size() * 2, -1);
    const std::size_t mask = slots_.size() - 1;
    for (std::int32_t head : old) {
      if (head < 0) continue;
      std::size_t i = entries_[head].hash & mask;
      while (slots_[i] >= 0) i = (i + 1) & mask;
      slots_[i] = head;
    }
  }

  int fw_;
  std::vector<Entry> entries_;
  std::vector<std::uint64_t> words_;
  std::vector<std::int32_t> slots_;
  std::size_t heads_ = 0;
};

// The search over one Part. `watch` (a KeyOps index, or -1): the states in which that
// op could not take effect are collected into *seen.
//
// The events are doubly linked lists (lifting an op out and back in is O(1), Knuth's
// dancing links): the determinate ops' calls and returns in time order, and the free
// ops' calls apart, puts and cas in two lists, so that a walk over the determinate ops
// does not step over every indeterminate op ever called. A free op may go next when its
// call comes before the first return still in the list.
Verdict search(const Part& p, Meter& meter, std::int64_t watch = -1,
               std::vector<State>* seen = nullptr) {
  if (!meter.check_time()) return Verdict::Undecided;
  if (p.nonfree == 0) return Verdict::Linearizable;

  struct Ev { double t; int kind; int op; };
  std::vector<Ev> ev;
  for (int i = 0; i < static_cast<int>(p.ops.size()); ++i) {
    ev.push_back({p.ops[i].call, 0, i});
    if (!p.ops[i].free) ev.push_back({p.ops[i].ret, 1, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) {
    if (a.t != b.t) return a.t < b.t;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.op < b.op;
  });
  // Nodes: 0/1 head and tail of the determinate list, 2/3 of the free puts, 4/5 of the
  // free cas, then one node per event.
  constexpr int kHead = 0, kTail = 1, kPutHead = 2, kPutTail = 3, kCasHead = 4, kCasTail = 5;
  const int nodes = static_cast<int>(ev.size()) + 6;
  std::vector<int> next(nodes, -1), prev(nodes, -1), op_of(nodes, -1), match(nodes, -1), pos(nodes, 0);
  std::vector<char> is_ret(nodes, 0);
  std::vector<int> call_node(p.ops.size(), -1);
  int last[3] = {kHead, kPutHead, kCasHead};
  const int tails[3] = {kTail, kPutTail, kCasTail};
  for (int j = 0; j < static_cast<int>(ev.size()); ++j) {
    const int e = j + 6;
    const SOp& s = p.ops[ev[j].op];
    op_of[e] = ev[j].op;
    pos[e] = j;
    is_ret[e] = static_cast<char>(ev[j].kind);
    if (ev[j].kind == 0) call_node[ev[j].op] = e;
    else match[call_node[ev[j].op]] = e;
    const int list = !s.free ? 0 : s.kind == KvKind::Put ? 1 : 2;
    next[last[list]] = e;
    prev[e] = last[list];
    last[list] = e;
  }
  for (int list = 0; list < 3; ++list) {
    next[last[list]] = tails[list];
    prev[tails[list]] = last[list];
  }
  auto remove = [&](int e) {
    next[prev[e]] = next[e];
    prev[next[e]] = prev[e];
  };
  auto restore = [&](int e) {
    next[prev[e]] = e;
    prev[next[e]] = e;
  };
  auto lift = [&](int e) {
    remove(e);
    if (match[e] >= 0) remove(match[e]);
  };
  auto unlift = [&](int e) {
    if (match[e] >= 0) restore(match[e]);
    restore(e);
  };

  // The linearized set: determinate ops as a bitset kept canonical by its window (the
  // words from the first not-full one to the last non-empty one), free ops as a mask.
  const int nw = (p.nonfree + 63) / 64, fw = (p.free + 63) / 64;
  std::vector<std::uint64_t> nf(nw, 0), fr(std::max(fw, 1), 0);
  auto full = [&](int w) {
    const int bits = std::min(64, p.nonfree - w * 64);
    return bits == 64 ? ~0ULL : (1ULL << bits) - 1;
  };
  std::vector<std::uint64_t> zob(p.nonfree);
  for (int i = 0; i < p.nonfree; ++i) zob[i] = mix64(static_cast<std::uint64_t>(i) + 0x51ed2701ULL);
  std::uint64_t zhash = 0;
  int low = 0, high = -1, done = 0;
  auto set_op = [&](const SOp& s) {
    if (s.free) {
      fr[s.bit >> 6] |= 1ULL << (s.bit & 63);
      return;
    }
    const int w = s.bit >> 6;
    nf[w] |= 1ULL << (s.bit & 63);
    zhash ^= zob[s.bit];
    high = std::max(high, w);
    while (low < nw && nf[low] == full(low)) ++low;
  };
  auto clear_op = [&](const SOp& s, int old_low, int old_high) {
    if (s.free) {
      fr[s.bit >> 6] &= ~(1ULL << (s.bit & 63));
      return;
    }
    nf[s.bit >> 6] &= ~(1ULL << (s.bit & 63));
    zhash ^= zob[s.bit];
    low = old_low;
    high = old_high;
  };

  // Phases of a configuration's candidates: 0 the determinate calls before the first
  // return, 1 the free puts called before it, 2 the free cas.
  Memo memo(fw);
  struct Frame { int entry; State st; int phase, low, high, bound; };
  std::vector<Frame> stack;
  // For each depth of the stack, while its configuration tries free ops: the ops that
  // may go next (determinate ones and free cas), each with its step in this state.
  struct Cand { int op; bool ok; State after; };
  std::vector<std::vector<Cand>> cands;
  State st;
  int e = next[kHead], phase = 0, bound = 0;
  // Whether free op f (leading to state `after`) may lead anywhere its siblings do not:
  // only when some candidate takes effect after f differently than it can without f
  // (it could not at all, or it writes something else; a read or a cas that did not
  // swap goes as well before f as after it). Otherwise whatever follows f is dominated
  // by what follows the same op without f, which the search tries from this
  // configuration, and f is better left for last.
  auto useful = [&](int f, const State& after) {
    State r1;
    for (const Cand& c : cands[stack.size()]) {
      if (c.op == f || !step(p.ops[c.op], after, p.track_rev, &r1)) continue;
      if (!c.ok || (!(r1 == after) && !(r1 == c.after))) return true;
    }
    return false;
  };
  for (;;) {
    if (!meter.tick()) return Verdict::Undecided;
    if (phase == 0 && (e == kTail || is_ret[e])) {
      bound = e == kTail ? std::numeric_limits<int>::max() : pos[e];
      const std::size_t d = stack.size();
      if (cands.size() <= d) cands.resize(d + 1);
      cands[d].clear();
      for (int c = next[kHead]; c != e; c = next[c]) {
        Cand k{op_of[c], false, {}};
        k.ok = step(p.ops[k.op], st, p.track_rev, &k.after);
        cands[d].push_back(k);
      }
      for (int c = next[kCasHead]; c != kCasTail && pos[c] <= bound; c = next[c]) {
        Cand k{op_of[c], false, {}};
        k.ok = step(p.ops[k.op], st, p.track_rev, &k.after);
        cands[d].push_back(k);
      }
      // Right after a free op, a free put leads where it leads from the configuration
      // before that op, with the free op left over: dominated by that sibling, which the
      // search tries (or tried) from there. Without this, chains of indeterminate puts
      // would have the search try every subset of them.
      const bool after_free = !stack.empty() && p.ops[op_of[stack.back().entry]].free;
      phase = after_free ? 2 : 1;
      e = next[after_free ? kCasHead : kPutHead];
      continue;
    }
    if (phase > 0 && (e == (phase == 1 ? kPutTail : kCasTail) || pos[e] > bound)) {
      if (phase == 1) {
        phase = 2;
        e = next[kCasHead];
        continue;
      }
      if (stack.empty()) return Verdict::NotLinearizable;
      const Frame f = stack.back();
      stack.pop_back();
      const SOp& s = p.ops[op_of[f.entry]];
      clear_op(s, f.low, f.high);
      if (!s.free) --done;
      st = f.st;
      unlift(f.entry);
      e = next[f.entry];
      phase = f.phase;
      bound = f.bound;
      continue;
    }
    const SOp& s = p.ops[op_of[e]];
    State ns;
    if (!step(s, st, p.track_rev, &ns)) {
      if (seen && static_cast<std::int64_t>(s.k) == watch && seen->size() < 64 &&
          std::find(seen->begin(), seen->end(), st) == seen->end())
        seen->push_back(st);
      e = next[e];
      continue;
    }
    if (!s.free && done + 1 == p.nonfree) return Verdict::Linearizable;  // the free ones go last
    if (s.free && !useful(op_of[e], ns)) {
      e = next[e];
      continue;
    }
    if (s.free && !stack.empty() && p.ops[op_of[stack.back().entry]].free) {
      // The same domination for a free cas: skipped when it leads where it leads
      // without the free op before it.
      State alt;
      if (step(s, stack.back().st, p.track_rev, &alt) && alt == ns) {
        e = next[e];
        continue;
      }
    }
    const int old_low = low, old_high = high;
    set_op(s);
    const std::uint32_t nwin = high >= low ? static_cast<std::uint32_t>(high - low + 1) : 0;
    if (memo.seen_or_add(zhash ^ state_hash(ns), ns, nf.data() + std::min(low, nw),
                         static_cast<std::uint32_t>(low), nwin, fr.data())) {
      clear_op(s, old_low, old_high);
      e = next[e];
      continue;
    }
    stack.push_back({e, st, phase, old_low, old_high, bound});
    if (!s.free) ++done;
    st = ns;
    lift(e);
    e = next[kHead];
    phase = 0;
  }
}

// ---------------------------------------------------------------------------------------
// Explaining a key that is not linearizable.

struct Explainer {
  const KvHistory& h;
  const KeyOps& k;
  Meter& meter;

  const KvOp& hop(std::size_t i) const { return h.ops[k.ops[i].hist]; }
  std::string desc(std::size_t i) const { return describe_op(h, hop(i)); }
  std::string val(std::int32_t v) const {
    return v ? "\"" + k.values[v] + "\"" : std::string("no key");
  }
  std::string state_words(const State& s) const {
    std::string w = val(s.value);
    if (k.track_rev && s.value) {
      if (s.exact && s.rev) w += " at revision " + std::to_string(s.rev);
      else if (!s.exact) w += " at a revision above " + std::to_string(s.rev);
    }
    return w;
  }

  Verdict probe(std::size_t cut, const std::vector<char>* keep = nullptr) {
    return search(prepare(k, cut, keep), meter);
  }

  // In the prefix up to `cut`, and answered by then.
  bool in(std::size_t i, std::size_t cut) const { return k.ops[i].call_rank <= cut; }
  bool done(std::size_t i, std::size_t cut) const {
    return in(i, cut) && !k.ops[i].info && k.ops[i].ret_rank <= cut;
  }
  bool may_write(std::size_t i, std::size_t cut, std::int32_t v) const {
    const KOp& o = k.ops[i];
    if (!in(i, cut) || o.value != v) return false;
    return o.kind == KvKind::Put || (o.kind == KvKind::Cas && (!done(i, cut) || o.swapped));
  }
  // The value a completed op saw: a read's, or a swapped cas's expected value.
  std::optional<std::int32_t> observed(std::size_t i, std::size_t cut) const {
    const KOp& o = k.ops[i];
    if (!done(i, cut)) return std::nullopt;
    if (o.kind == KvKind::Read) return o.value;
    if (o.kind == KvKind::Cas && o.swapped && !o.rev_compare) return o.expected;
    return std::nullopt;
  }
  bool acked_write(std::size_t i, std::size_t cut) const {
    const KOp& o = k.ops[i];
    return done(i, cut) && (o.kind == KvKind::Put || (o.kind == KvKind::Cas && o.swapped));
  }
  std::vector<std::size_t> writers(std::int32_t v, std::size_t cut) const {
    std::vector<std::size_t> w;
    for (std::size_t i : k.writers[v])
      if (may_write(i, cut, v)) w.push_back(i);
    return w;
  }
  // Every write of `v` ended before `t` (no key is older than anything).
  bool all_before(std::int32_t v, double t, std::size_t cut) const {
    if (!v) return true;
    const auto w = writers(v, cut);
    if (w.empty()) return false;
    for (std::size_t i : w)
      if (!done(i, cut) || k.ops[i].ret >= t) return false;
    return true;
  }

  struct Named {
    std::string kind;
    std::vector<std::size_t> ops;  // the ones that show it first, then the writes involved
    std::string why;
    std::size_t lead = 2;          // how many of `ops` show it: the time window to list
  };

  Named classify(std::size_t x, std::size_t cut) const {
    const KOp& X = k.ops[x];
    const auto seen = observed(x, cut);
    const std::string xd = desc(x);
    if (seen && *seen) {
      const auto w = writers(*seen, cut);
      if (w.empty()) {
        std::string why = "no write of " + val(*seen) + " could have taken effect before it returned";
        std::vector<std::string> others;
        for (std::size_t i : k.all) {
          const KvOp& o = h.ops[i];
          if (o.value && *o.value == k.values[*seen] && o.kind != KvKind::Read)
            others.push_back(describe_op(h, o));
        }
        why += others.empty() ? ": no op of the history wrote it" : "; the ops that wrote it: " + dcslab::join(others, "; ");
        return {"unexplained-value", {x}, why};
      }
    }
    if (seen) {
      // An acknowledged write, done before X began, of a value newer than what X saw.
      std::optional<std::size_t> newest;
      for (std::size_t i = 0; i < k.ops.size(); ++i) {
        if (i == x || !acked_write(i, cut) || k.ops[i].ret >= X.call || k.ops[i].value == *seen) continue;
        if (!all_before(*seen, k.ops[i].call, cut)) continue;
        if (!newest || k.ops[i].ret > k.ops[*newest].ret) newest = i;
      }
      if (newest) {
        const bool cas = X.kind == KvKind::Cas;
        const std::string kind = cas ? "stale-cas" : hop(x).final ? "lost-write" : "stale-read";
        std::vector<std::size_t> ops{*newest, x};
        for (std::size_t i : writers(*seen, cut)) ops.push_back(i);
        std::string why = std::string(cas ? "it swapped against " : "it saw ") + val(*seen) +
                          (*seen ? ", which was already overwritten: " : ", though the key had been written: ") +
                          desc(*newest) + ", ended before it began";
        if (*seen) why += ", and every write of " + val(*seen) + " had ended before that one began";
        return {kind, ops, why};
      }
    }
    if (X.kind == KvKind::Read && seen) {
      // An earlier read saw a newer value.
      for (std::size_t r = 0; r < k.ops.size(); ++r) {
        if (r == x || k.ops[r].kind != KvKind::Read || !done(r, cut) || k.ops[r].ret >= X.call) continue;
        const std::int32_t newer = k.ops[r].value;
        if (newer == *seen || !newer) continue;
        const auto wn = writers(newer, cut);
        if (wn.empty()) continue;
        bool older = true;
        for (std::size_t w : wn) older = older && all_before(*seen, k.ops[w].call, cut);
        if (!older) continue;
        std::vector<std::size_t> ops{r, x};
        for (std::size_t i : wn) ops.push_back(i);
        for (std::size_t i : writers(*seen, cut)) ops.push_back(i);
        return {"read-pair", ops,
                desc(r) + ", and ended before this read began; yet this read saw " + val(*seen) +
                    ", which was written before " + val(newer)};
      }
      // Seen, then gone, then seen again: a value written once.
      const auto w = writers(*seen, cut);
      if (*seen && w.size() == 1) {
        for (std::size_t r1 = 0; r1 < k.ops.size(); ++r1) {
          if (r1 == x || k.ops[r1].kind != KvKind::Read || !done(r1, cut) || k.ops[r1].value != *seen) continue;
          for (std::size_t r2 = 0; r2 < k.ops.size(); ++r2) {
            if (k.ops[r2].kind != KvKind::Read || !done(r2, cut) || k.ops[r2].value == *seen) continue;
            if (k.ops[r1].ret < k.ops[r2].call && k.ops[r2].ret < X.call)
              return {"value-reappeared", {r1, r2, x, w.front()},
                      val(*seen) + ", written once by " + desc(w.front()) + ", was seen by " + desc(r1) +
                          ", then " + desc(r2) + ", then again by this read",
                      3};
          }
        }
      }
    }
    // Revisions.
    if (X.rev) {
      for (std::size_t i = 0; i < k.ops.size(); ++i) {
        if (i == x || !done(i, cut) || !k.ops[i].rev) continue;
        const KOp& o = k.ops[i];
        if (X.kind == KvKind::Read && o.value == X.value && o.rev != X.rev)
          return {"revision-mismatch", {i, x},
                  "it saw " + val(X.value) + " at revision " + std::to_string(X.rev) + ", but " + desc(i)};
        const bool backwards = X.kind == KvKind::Read ? o.rev > X.rev : o.rev >= X.rev;
        if (o.ret < X.call && backwards && o.value != X.value)
          return {"revision-backwards", {i, x},
                  desc(i) + " ended before it began, at revision " + std::to_string(o.rev)};
      }
    }
    return {"no-linearization", {x}, "no order of the ops explains what each returned"};
  }


  // Closed under "the write of each value a kept read saw".
  void close(std::vector<char>& keep, std::size_t cut) const {
    for (bool grew = true; grew;) {
      grew = false;
      for (std::size_t i = 0; i < k.ops.size(); ++i) {
        if (!keep[i] || k.ops[i].kind != KvKind::Read || !done(i, cut) || !k.ops[i].value) continue;
        for (std::size_t w : writers(k.ops[i].value, cut))
          if (!keep[w]) keep[w] = 1, grew = true;
      }
    }
  }

  // Delta debugging over the prefix's ops (X always in): the smallest set, closed as
  // above, that still cannot be linearized. nullopt when the budget ran out.
  std::optional<std::vector<std::size_t>> minimize(std::size_t x, std::size_t cut) {
    std::vector<char> keep(k.ops.size(), 0);
    for (std::size_t i = 0; i < k.ops.size(); ++i) keep[i] = in(i, cut);
    std::size_t n = 2;
    for (;;) {
      std::vector<std::size_t> rest;
      for (std::size_t i = 0; i < k.ops.size(); ++i)
        if (keep[i] && i != x) rest.push_back(i);
      if (rest.empty()) break;
      n = std::min(n, rest.size());
      const std::size_t chunk = (rest.size() + n - 1) / n;
      bool reduced = false;
      for (std::size_t start = 0; start < rest.size() && !reduced; start += chunk) {
        std::vector<char> cand = keep;
        for (std::size_t j = start; j < std::min(rest.size(), start + chunk); ++j) cand[rest[j]] = 0;
        close(cand, cut);
        if (cand == keep) continue;
        const Verdict v = probe(cut, &cand);
        if (v == Verdict::Undecided) return std::nullopt;
        if (v == Verdict::NotLinearizable) {
          keep = std::move(cand);
          n = std::max<std::size_t>(n - 1, 2);
          reduced = true;
        }
      }
      if (!reduced) {
        if (n >= rest.size()) break;
        n = std::min(rest.size(), n * 2);
      }
    }
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < k.ops.size(); ++i)
      if (keep[i]) out.push_back(i);
    return out;
  }

  Violation explain() {
    Violation v;
    v.key = k.key;
    v.key_ops = k.ops.size();
    // The shortest failing prefix ends at some op's return: search over the returns.
    std::vector<std::pair<std::size_t, std::size_t>> rets;  // (rank, op)
    for (std::size_t i = 0; i < k.ops.size(); ++i)
      if (!k.ops[i].info) rets.push_back({k.ops[i].ret_rank, i});
    std::sort(rets.begin(), rets.end());
    if (rets.empty()) {  // cannot happen: only an answered op constrains anything
      v.kind = "no-linearization";
      v.explanation = "key \"" + k.key + "\": not linearizable\n";
      return v;
    }
    std::size_t lo = 0, hi = rets.size() - 1;
    v.shortest = true;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      const Verdict r = probe(rets[mid].first);
      if (r == Verdict::Undecided) {
        v.shortest = false;
        break;
      }
      if (r == Verdict::NotLinearizable) hi = mid;
      else lo = mid + 1;
    }
    const std::size_t cut = rets[hi].first, x = rets[hi].second;
    v.last = k.ops[x].hist;
    for (std::size_t i = 0; i < k.ops.size(); ++i)
      if (in(i, cut)) v.prefix.push_back(k.ops[i].hist);
    v.prefix_ops = v.prefix.size();

    std::vector<State> where;
    search(prepare(k, cut), meter, static_cast<std::int64_t>(x), &where);
    std::vector<std::int32_t> where_values;
    for (const auto& s : where) {
      v.possible.push_back(state_words(s));
      where_values.push_back(s.value);
    }
    std::sort(v.possible.begin(), v.possible.end());
    v.possible.erase(std::unique(v.possible.begin(), v.possible.end()), v.possible.end());

    const Named named = classify(x, cut);
    v.kind = named.kind;
    std::vector<std::size_t> listed;
    if (k.minimizable && !meter.spent()) {
      if (auto m = minimize(x, cut)) {
        listed = *m;
        v.minimal = true;
      }
    }
    if (!v.minimal) {
      // The ops the anomaly names, the latest writes of the values in question, and the
      // ops open while X was that began no earlier than the first of those (an op left
      // open long before, say a timeout a second earlier, is noise here).
      std::set<std::size_t> s(named.ops.begin(), named.ops.end());
      s.insert(x);
      double since = k.ops[x].call;
      for (std::size_t j = 0; j < named.ops.size() && j < named.lead; ++j)
        since = std::min(since, k.ops[named.ops[j]].call);
      for (std::size_t i = 0; i < k.ops.size(); ++i)
        if (in(i, cut) && i != x && k.ops[i].call >= since &&
            (k.ops[i].info || k.ops[i].ret_rank > cut || k.ops[i].ret >= k.ops[x].call))
          s.insert(i);
      std::vector<std::int32_t> vals = where_values;
      if (auto o = observed(x, cut)) vals.push_back(*o);
      for (std::int32_t val_id : vals) {
        auto w = writers(val_id, cut);
        for (std::size_t j = w.size() > 2 ? w.size() - 2 : 0; j < w.size(); ++j) s.insert(w[j]);
      }
      listed.assign(s.begin(), s.end());
    }
    std::sort(listed.begin(), listed.end());
    for (std::size_t i : listed) v.ops.push_back(k.ops[i].hist);

    // In words.
    std::string t = "key \"" + k.key + "\": not linearizable (" + v.kind + ")\n";
    t += "  The first " + std::to_string(v.prefix_ops) + " of its " + std::to_string(v.key_ops) +
         " operations already cannot be linearized (" +
         (v.shortest ? "the shortest such prefix" : "the budget ran out before the shortest was found") +
         "); it ends when this one returned:\n    " + desc(x) + "\n";
    t += "  Why: " + named.why + ".\n";
    if (!v.possible.empty()) {
      t += "  Where the search tried to place it, the key held " +
           std::string(v.possible.size() > 1 ? "one of: " : "") + dcslab::join(v.possible, ", ") + ".\n";
    }
    const std::size_t cap = 12;
    t += v.minimal ? "  These " + std::to_string(listed.size()) + " operations alone cannot be ordered:\n"
                   : "  The operations involved:\n";
    for (std::size_t j = 0; j < listed.size() && j < cap; ++j) t += "    " + desc(listed[j]) + "\n";
    if (listed.size() > cap) t += "    (and " + std::to_string(listed.size() - cap) + " more)\n";
    v.explanation = t;
    return v;
  }

};

// ---------------------------------------------------------------------------------------
// Across keys: etcd's one revision counter.

std::vector<Violation> check_revisions(const KvHistory& h) {
  std::vector<Violation> out;
  auto is_write = [](const KvOp& o) {
    return o.outcome == KvOutcome::Ok && o.revision > 0 &&
           (o.kind == KvKind::Put || (o.kind == KvKind::Cas && o.swapped));
  };
  auto has_rev = [](const KvOp& o) { return o.outcome == KvOutcome::Ok && o.revision > 0 && (o.kind != KvKind::Cas || o.swapped); };

  std::map<std::int64_t, std::size_t> by_rev;
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    if (!is_write(h.ops[i])) continue;
    auto [it, fresh] = by_rev.emplace(h.ops[i].revision, i);
    if (!fresh && h.ops[it->second].key != h.ops[i].key) {
      Violation v;
      v.kind = "duplicate-revision";
      v.ops = {it->second, i};
      v.last = i;
      v.explanation = "across keys: not linearizable (duplicate-revision)\n  Two writes to different keys got revision " +
                      std::to_string(h.ops[i].revision) + ":\n    " + describe_op(h, h.ops[it->second]) + "\n    " +
                      describe_op(h, h.ops[i]) + "\n";
      out.push_back(std::move(v));
      break;  // one is enough to say it
    }
  }

  // A write that began after an op on another key ended must have a higher revision.
  std::vector<std::size_t> by_ret, by_call;
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    if (has_rev(h.ops[i])) by_ret.push_back(i);
    if (is_write(h.ops[i])) by_call.push_back(i);
  }
  std::sort(by_ret.begin(), by_ret.end(), [&](auto a, auto b) { return h.ops[a].ret < h.ops[b].ret; });
  std::sort(by_call.begin(), by_call.end(), [&](auto a, auto b) { return h.ops[a].call < h.ops[b].call; });
  std::map<std::string, std::size_t> top;  // key -> the op with the highest revision ended so far
  std::size_t r = 0;
  for (std::size_t b : by_call) {
    const KvOp& B = h.ops[b];
    for (; r < by_ret.size() && h.ops[by_ret[r]].ret < B.call; ++r) {
      const KvOp& A = h.ops[by_ret[r]];
      auto [it, fresh] = top.emplace(A.key, by_ret[r]);
      if (!fresh && h.ops[it->second].revision < A.revision) it->second = by_ret[r];
    }
    for (const auto& [key, a] : top) {
      if (key == B.key || h.ops[a].revision < B.revision) continue;
      Violation v;
      v.kind = "revision-backwards";
      v.ops = {a, b};
      v.last = b;
      v.explanation = "across keys: not linearizable (revision-backwards)\n  A write got revision " +
                      std::to_string(B.revision) + " though it began after an op that had seen revision " +
                      std::to_string(h.ops[a].revision) + " ended (etcd's revision only grows):\n    " +
                      describe_op(h, h.ops[a]) + "\n    " + describe_op(h, B) + "\n";
      out.push_back(std::move(v));
      return out;  // the first is the one to read
    }
  }
  return out;
}

}  // namespace

LinearizabilityResult check_linearizable(const KvHistory& h, const CheckBudget& budget) {
  Meter meter(budget);
  LinearizabilityResult res;
  res.ops = h.ops.size();
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < h.ops.size(); ++i) by_key[h.ops[i].key].push_back(i);

  // Every key's verdict first, then the explanations, so that explaining one key does
  // not spend the budget another key's verdict needs.
  std::vector<KeyOps> failed;
  for (const auto& [key, idx] : by_key) {
    KeyOps k = key_ops(h, key, idx);
    const std::uint64_t before = meter.steps();
    const Verdict v = search(prepare(k, kNoRank), meter);
    res.keys.push_back({key, v, k.ops.size(), meter.steps() - before});
    if (v == Verdict::NotLinearizable) failed.push_back(std::move(k));
  }
  res.violations = check_revisions(h);
  for (const KeyOps& k : failed) {
    Explainer ex{h, k, meter};
    res.violations.push_back(ex.explain());
  }

  bool undecided = false;
  for (const auto& k : res.keys) undecided = undecided || k.verdict == Verdict::Undecided;
  res.verdict = !res.violations.empty() ? Verdict::NotLinearizable
                : undecided             ? Verdict::Undecided
                                        : Verdict::Linearizable;
  res.steps = meter.steps();
  res.seconds = meter.seconds();
  res.budget_spent = meter.spent();
  return res;
}

std::string LinearizabilityResult::summary() const {
  std::string s = verdict_name(verdict);
  if (!violations.empty()) {
    s += ":";
    for (std::size_t i = 0; i < violations.size(); ++i)
      s += std::string(i ? "," : "") + " " + violations[i].kind +
           (violations[i].key.empty() ? " across keys" : " on key " + violations[i].key);
  }
  int undecided = 0;
  for (const auto& k : keys) undecided += k.verdict == Verdict::Undecided;
  s += "; " + std::to_string(keys.size()) + " key" + (keys.size() == 1 ? "" : "s");
  if (undecided) s += " (" + std::to_string(undecided) + " undecided: the budget ran out)";
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  s += ", " + std::to_string(ops) + " ops, " + std::to_string(steps) + " search steps, " + secs + " s";
  return s;
}

std::string LinearizabilityResult::report() const {
  std::string s = summary() + "\n";
  for (const auto& v : violations) s += v.explanation;
  for (const auto& k : keys)
    if (k.verdict == Verdict::Undecided)
      s += "key \"" + k.key + "\": undecided: the search stopped at its budget (" + std::to_string(k.ops) +
           " ops, " + std::to_string(k.steps) + " steps); nothing was proven either way\n";
  return s;
}

}  // namespace dcslab
