#include "check/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace dcslab {
namespace {

// Histories written by hand: one op a line, times in ms.
struct Builder {
  KvHistory h;
  std::size_t add(KvOp op) {
    op.name = "#" + std::to_string(h.ops.size() + 1);
    if (op.client.empty()) op.client = "c" + std::to_string(h.ops.size() + 1);
    h.ops.push_back(std::move(op));
    return h.ops.size() - 1;
  }
  std::size_t put(std::string value, double call, double ret, KvOutcome out = KvOutcome::Ok,
                  std::int64_t rev = 0, std::string key = "k") {
    KvOp op;
    op.kind = KvKind::Put;
    op.key = std::move(key);
    op.value = std::move(value);
    op.call = call;
    op.ret = ret;
    op.outcome = out;
    op.revision = rev;
    return add(std::move(op));
  }
  std::size_t read(std::optional<std::string> seen, double call, double ret, std::int64_t rev = 0,
                   std::string key = "k", std::string client = "") {
    KvOp op;
    op.kind = KvKind::Read;
    op.key = std::move(key);
    op.value = std::move(seen);
    op.call = call;
    op.ret = ret;
    op.revision = rev;
    op.client = std::move(client);
    return add(std::move(op));
  }
  std::size_t cas(std::optional<std::string> expected, std::string value, bool swapped, double call, double ret,
                  KvOutcome out = KvOutcome::Ok, std::string key = "k") {
    KvOp op;
    op.kind = KvKind::Cas;
    op.key = std::move(key);
    op.expected = std::move(expected);
    op.value = std::move(value);
    op.swapped = swapped;
    op.call = call;
    op.ret = ret;
    op.outcome = out;
    return add(std::move(op));
  }
};

bool names(const Violation& v, std::size_t op) {
  return std::find(v.ops.begin(), v.ops.end(), op) != v.ops.end();
}

// The cases the issue names.

TEST(Linearizability, AnIndeterminatePutMayTakeEffectLate) {
  Builder b;
  b.put("a", 0, 1);
  b.put("x", 2, 3, KvOutcome::Info);  // no answer: it may land long after
  b.read("a", 4, 5);
  b.read("a", 20, 21);
  b.read("x", 40, 41);
  b.read("x", 50, 51);
  const auto r = check_linearizable(b.h);
  EXPECT_EQ(r.verdict, Verdict::Linearizable) << r.report();
  EXPECT_TRUE(r.violations.empty());
}

TEST(Linearizability, AnIndeterminatePutThatAppearsDisappearsAndAppearsIsNot) {
  Builder b;
  b.put("a", 0, 1);
  const auto x = b.put("x", 2, 3, KvOutcome::Info);
  b.put("b", 2.5, 100);                   // concurrent with everything below: may land anywhere
  const auto r1 = b.read("x", 4, 5);      // x took effect
  const auto r2 = b.read("b", 6, 7);      // then b overwrote it
  const auto r3 = b.read("x", 8, 9);      // x again: it cannot take effect twice
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  EXPECT_EQ(v.kind, "value-reappeared") << v.explanation;
  EXPECT_EQ(v.last, r3);
  for (auto op : {x, r1, r2, r3}) EXPECT_TRUE(names(v, op)) << "op " << op << "\n" << v.explanation;
  EXPECT_TRUE(v.shortest);
  // Without the last read, it is fine.
  b.h.ops.pop_back();
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, AReadPairNewThenOldIsNot) {
  Builder b;
  const auto old_put = b.put("old", 0, 1);
  const auto new_put = b.put("new", 2, 50);  // still open during both reads
  const auto r1 = b.read("new", 3, 4, 0, "k", "reader-1");
  const auto r2 = b.read("old", 5, 6, 0, "k", "reader-2");
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  const Violation& v = r.violations.at(0);
  EXPECT_EQ(v.kind, "read-pair") << v.explanation;
  EXPECT_EQ(v.last, r2);
  EXPECT_TRUE(v.minimal);
  EXPECT_EQ(v.ops, (std::vector<std::size_t>{old_put, new_put, r1, r2})) << v.explanation;
  // The words say who saw what.
  EXPECT_NE(v.explanation.find("saw \"new\""), std::string::npos) << v.explanation;
  EXPECT_NE(v.explanation.find("saw \"old\""), std::string::npos) << v.explanation;
  EXPECT_NE(v.explanation.find("reader-2"), std::string::npos) << v.explanation;
  // The same reads the other way round are fine.
  std::swap(b.h.ops[r1].value, b.h.ops[r2].value);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, ACasAgainstAValueNoLongerCurrentIsNot) {
  Builder b;
  b.put("a", 0, 1);
  const auto overwrite = b.put("b", 2, 3);
  const auto c = b.cas("a", "c", true, 4, 5);  // "swapped", though "a" was gone
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  const Violation& v = r.violations.at(0);
  EXPECT_EQ(v.kind, "stale-cas") << v.explanation;
  EXPECT_EQ(v.last, c);
  EXPECT_TRUE(names(v, overwrite));
  // Concurrent with the overwrite, it could have gone first.
  b.h.ops[c].call = 2.5;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, ACasThatDidNotSwapSawSomethingElse) {
  Builder b;
  b.put("a", 0, 1);
  const auto c = b.cas("a", "c", false, 2, 3);  // claims the key did not hold "a"
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
  b.put("b", 1.5, 10);  // unless this landed first
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops[c].swapped = true;  // swapped: it found "a", so "b" landed after it
  const auto last = b.read("b", 20, 21);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops[last].value = "c";  // "b" returned before this read began: "c" is gone
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
}

TEST(Linearizability, FailedOpsNeverTakeEffect) {
  Builder b;
  b.put("a", 0, 1);
  const auto failed = b.put("b", 2, 3, KvOutcome::Fail);
  b.read("a", 4, 5);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  const auto seen = b.read("b", 6, 7);  // the value of a put the client was told failed
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  const Violation& v = r.violations.at(0);
  EXPECT_EQ(v.kind, "unexplained-value") << v.explanation;
  EXPECT_EQ(v.last, seen);
  EXPECT_NE(v.explanation.find("failed"), std::string::npos) << v.explanation;
  (void)failed;
  // A failed cas does not swap either.
  Builder c;
  c.put("a", 0, 1);
  c.cas("a", "z", true, 2, 3, KvOutcome::Fail);
  c.read("z", 4, 5);
  EXPECT_EQ(check_linearizable(c.h).verdict, Verdict::NotLinearizable);
}

TEST(Linearizability, UndecidedWhenTheBudgetIsTiny) {
  Builder b;
  for (int i = 0; i < 20; ++i) b.put("v" + std::to_string(i), i, i + 30);
  b.read("v7", 60, 61);
  CheckBudget steps;
  steps.steps = 5;
  const auto r = check_linearizable(b.h, steps);
  EXPECT_EQ(r.verdict, Verdict::Undecided) << r.report();
  EXPECT_TRUE(r.budget_spent);
  EXPECT_NE(r.report().find("undecided"), std::string::npos);
  // Time: a clock that jumps an hour whenever it is read.
  struct Jumping : Clock {
    time_point t{};
    time_point now() override { return t += std::chrono::hours(1); }
    void sleep_for(duration) override {}
  } clock;
  CheckBudget time;
  time.clock = &clock;
  time.time = std::chrono::milliseconds(1000);
  EXPECT_EQ(check_linearizable(b.h, time).verdict, Verdict::Undecided);
  // With room, it decides.
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, UndecidedIsNeverLinearizableEvenWhenAnotherKeyIs) {
  Builder b;
  b.put("a", 0, 1, KvOutcome::Ok, 0, "easy");
  for (int i = 0; i < 20; ++i) b.put("v" + std::to_string(i), i, i + 30, KvOutcome::Ok, 0, "hard");
  b.read("v7", 60, 61, 0, "hard");
  CheckBudget tiny;
  tiny.steps = 3;
  const auto r = check_linearizable(b.h, tiny);
  EXPECT_EQ(r.verdict, Verdict::Undecided);
}

TEST(Linearizability, NotLinearizableWinsOverUndecided) {
  Builder b;
  b.put("a", 0, 1, KvOutcome::Ok, 0, "bad");
  b.put("b", 2, 3, KvOutcome::Ok, 0, "bad");
  b.read("a", 4, 5, 0, "bad");
  for (int i = 0; i < 30; ++i) b.put("v" + std::to_string(i), i, i + 40, KvOutcome::Ok, 0, "zz-hard");
  b.read("v7", 60, 61, 0, "zz-hard");
  CheckBudget b8;
  b8.steps = 12;  // enough for "bad" (checked first), not for "zz-hard"
  const auto r = check_linearizable(b.h, b8);
  EXPECT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
}

// The revision counter.

TEST(Linearizability, RevisionsOnOneKeyOnlyGrow) {
  Builder b;
  b.put("a", 0, 1, KvOutcome::Ok, 10);
  const auto late = b.put("b", 2, 3, KvOutcome::Ok, 9);  // later, lower
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  EXPECT_EQ(r.violations.at(0).kind, "revision-backwards") << r.violations[0].explanation;
  EXPECT_EQ(r.violations[0].last, late);
  b.h.ops[late].revision = 11;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, OneWriteSeenAtTwoRevisionsIsNot) {
  Builder b;
  b.put("a", 0, 10, KvOutcome::Info);  // its revision unknown: reads tell it
  b.read("a", 11, 12, 5);
  const auto second = b.read("a", 13, 14, 6);
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  EXPECT_EQ(r.violations.at(0).kind, "revision-mismatch") << r.violations[0].explanation;
  EXPECT_EQ(r.violations[0].last, second);
}

TEST(Linearizability, ARevisionGoingBackwardsAcrossKeysIsCaught) {
  Builder b;
  const auto first = b.put("a", 0, 1, KvOutcome::Ok, 12, "k1");
  const auto second = b.put("b", 2, 3, KvOutcome::Ok, 9, "k2");  // each key alone is fine
  const auto r = check_linearizable(b.h);
  ASSERT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].kind, "revision-backwards");
  EXPECT_EQ(r.violations[0].ops, (std::vector<std::size_t>{first, second}));
  // Concurrent, either may have gone first.
  b.h.ops[second].call = 0.5;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  // Two keys written at one revision.
  b.h.ops[second].revision = 12;
  const auto d = check_linearizable(b.h);
  ASSERT_EQ(d.verdict, Verdict::NotLinearizable);
  EXPECT_EQ(d.violations.at(0).kind, "duplicate-revision");
}

TEST(Linearizability, ACasOnModRevision) {
  Builder b;
  b.put("a", 0, 1, KvOutcome::Ok, 5);
  const auto c = b.cas(std::nullopt, "b", true, 2, 3);
  b.h.ops[c].expected_revision = 5;
  b.h.ops[c].revision = 6;
  b.read("b", 4, 5, 6);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops[c].expected_revision = 4;  // the key was at 5
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
  b.h.ops[c].expected_revision = 0;  // "absent": it was not
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
}

// Timing semantics.

TEST(Linearizability, OpsThatTouchAreConcurrent) {
  Builder b;
  b.put("a", 0, 1);
  b.put("b", 2, 5);
  b.read("a", 5, 6);  // began the instant "b" returned: rounding may hide the order
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops.back().call = 5.1;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
}

TEST(Linearizability, UnansweredReadsConstrainNothing) {
  Builder b;
  b.put("a", 0, 1);
  const auto r = b.read("zzz", 2, 3);
  b.h.ops[r].outcome = KvOutcome::Info;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops[r].outcome = KvOutcome::Fail;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
}

TEST(Linearizability, AnUnobservedIndeterminatePutIsKeptWhenACasNeedsIt) {
  // The cas saw something other than "a": only the indeterminate put can explain it.
  Builder b;
  b.put("a", 0, 1);
  b.put("x", 2, 3, KvOutcome::Info);
  b.cas("a", "y", false, 4, 5);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  // Called after the cas returned, it cannot.
  b.h.ops[1].call = 6;
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
}

TEST(Linearizability, AChainOfIndeterminateCasIsFollowed) {
  Builder b;
  b.put("a", 0, 1);
  b.cas("a", "b", false, 2, 3, KvOutcome::Info);
  b.cas("b", "c", false, 2, 3, KvOutcome::Info);
  b.cas("c", "d", false, 2, 3, KvOutcome::Info);
  b.read("d", 10, 11);
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::Linearizable);
  b.h.ops.back().value = "e";
  EXPECT_EQ(check_linearizable(b.h).verdict, Verdict::NotLinearizable);
}

TEST(Linearizability, ManyPendingIndeterminatePutsStayCheap) {
  // Sixty timeouts that nothing observed, then a stale read: the search must not try
  // every subset of them.
  Builder b;
  for (int i = 0; i < 60; ++i) b.put("lost-" + std::to_string(i), 2 * i, 2 * i + 1, KvOutcome::Info);
  b.put("a", 200, 201);
  b.put("b", 202, 203);
  b.cas("b", "c", false, 204, 205);  // something else than "b": one of the timeouts landed
  b.read("a", 300, 301);             // stale
  CheckBudget budget;
  budget.steps = 200000;
  const auto r = check_linearizable(b.h, budget);
  EXPECT_EQ(r.verdict, Verdict::NotLinearizable) << r.report();
  EXPECT_LT(r.steps, 100000u) << r.summary();
}

TEST(Linearizability, ReportAndSummaryNameTheKeyAndKind) {
  Builder b;
  b.put("a", 0, 1, KvOutcome::Ok, 0, "/dcslab/key-3");
  b.put("b", 2, 3, KvOutcome::Ok, 0, "/dcslab/key-3");
  b.read("a", 4, 5, 0, "/dcslab/key-3");
  const auto r = check_linearizable(b.h);
  EXPECT_NE(r.summary().find("not linearizable: stale-read on key /dcslab/key-3"), std::string::npos)
      << r.summary();
  EXPECT_NE(r.report().find("Why: it saw \"a\""), std::string::npos) << r.report();
  EXPECT_NE(r.report().find("held \"b\""), std::string::npos) << r.report();
}

// ---------------------------------------------------------------------------------------
// Against a checker too simple to be wrong: every order of the ops, every subset of the
// indeterminate ones.

bool brute_force(const std::vector<KvOp>& all) {
  std::vector<const KvOp*> ops;
  for (const auto& o : all) {
    if (o.outcome == KvOutcome::Fail) continue;
    if (o.kind == KvKind::Read && o.outcome != KvOutcome::Ok) continue;
    ops.push_back(&o);
  }
  const std::size_t n = ops.size();
  std::vector<char> used(n, 0);
  std::function<bool(std::optional<std::string>)> go = [&](std::optional<std::string> state) {
    bool only_info_left = true;
    for (std::size_t i = 0; i < n; ++i)
      if (!used[i] && ops[i]->outcome == KvOutcome::Ok) only_info_left = false;
    if (only_info_left) return true;  // the rest never take effect
    for (std::size_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      // Everything that returned before it was called must be placed already.
      bool ready = true;
      for (std::size_t j = 0; j < n && ready; ++j)
        if (!used[j] && j != i && ops[j]->outcome == KvOutcome::Ok && ops[j]->ret < ops[i]->call) ready = false;
      if (!ready) continue;
      const KvOp& o = *ops[i];
      std::optional<std::string> next = state;
      bool ok = true;
      switch (o.kind) {
        case KvKind::Read: ok = state == o.value; break;
        case KvKind::Put: next = o.value; break;
        case KvKind::Cas:
          if (o.outcome == KvOutcome::Info) {
            if (state == o.expected) next = o.value;
          } else if (o.swapped) {
            ok = state == o.expected;
            next = o.value;
          } else {
            ok = state != o.expected;
          }
          break;
      }
      if (!ok) continue;
      used[i] = 1;
      const bool found = go(next);
      used[i] = 0;
      if (found) return true;
    }
    return false;
  };
  return go(std::nullopt);
}

struct Rand {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

std::vector<KvOp> random_ops(Rand& r, int n, bool unique_values, bool distinct_times, const std::string& key) {
  std::vector<KvOp> ops;
  const char* vals[] = {"a", "b", "c"};
  int fresh = 0;
  auto value = [&]() -> std::string {
    return unique_values ? key + "v" + std::to_string(fresh++) : vals[r.below(3)];
  };
  auto any_value = [&]() -> std::optional<std::string> {
    if (r.below(4) == 0) return std::nullopt;
    if (unique_values) return key + "v" + std::to_string(r.below(std::max(1, n)));
    return std::string(vals[r.below(3)]);
  };
  for (int i = 0; i < n; ++i) {
    KvOp o;
    o.key = key;
    o.name = "#" + std::to_string(i);
    o.client = "c" + std::to_string(i);
    const int k = r.below(3);
    o.kind = k == 0 ? KvKind::Read : k == 1 ? KvKind::Put : KvKind::Cas;
    const int out = r.below(20);
    o.outcome = out < 12 ? KvOutcome::Ok : out < 17 ? KvOutcome::Info : KvOutcome::Fail;
    if (distinct_times) {
      o.call = r.below(1000) / 10.0 + 0.001 * i;
      o.ret = o.call + r.below(400) / 10.0 + 0.0005;
    } else {
      o.call = r.below(8);
      o.ret = o.call + r.below(5);
    }
    if (o.kind == KvKind::Read) o.value = any_value();
    if (o.kind == KvKind::Put) o.value = value();
    if (o.kind == KvKind::Cas) {
      o.expected = any_value();
      o.value = value();
      o.swapped = r.below(2) == 0;
    }
    ops.push_back(std::move(o));
  }
  return ops;
}

TEST(Linearizability, AgreesWithBruteForceOnRandomHistories) {
  Rand r{0x2545F4914F6CDD1DULL};
  int linearizable = 0, not_linearizable = 0, minimal_checked = 0;
  for (int round = 0; round < 6000; ++round) {
    const bool unique = round % 2 == 0, distinct = round % 3 == 0;
    KvHistory h;
    h.ops = random_ops(r, 1 + r.below(7), unique, distinct, "k");
    const bool want = brute_force(h.ops);
    const auto got = check_linearizable(h);
    ASSERT_EQ(got.verdict, want ? Verdict::Linearizable : Verdict::NotLinearizable)
        << "round " << round << "\n" << got.report();
    (want ? linearizable : not_linearizable)++;
    if (want) continue;
    // A minimal witness, alone, cannot be linearized either.
    const Violation& v = got.violations.at(0);
    if (v.minimal) {
      std::vector<KvOp> sub;
      for (auto i : v.ops) sub.push_back(h.ops[i]);
      EXPECT_FALSE(brute_force(sub)) << "round " << round << "\n" << v.explanation;
      ++minimal_checked;
    }
    // The failing prefix: ops called by the last op's return, those still open then as
    // if they never answered; one return earlier it could still be linearized.
    if (distinct && v.shortest) {
      const double cut = h.ops[v.last].ret;
      auto prefix = [&](double t) {
        std::vector<KvOp> p;
        for (const auto& o : h.ops) {
          if (o.call > t) continue;
          KvOp q = o;
          if (q.outcome == KvOutcome::Ok && q.ret > t) q.outcome = KvOutcome::Info;
          p.push_back(q);
        }
        return p;
      };
      EXPECT_FALSE(brute_force(prefix(cut))) << "round " << round << "\n" << v.explanation;
      double before = -1;
      for (const auto& o : h.ops)
        if (o.outcome == KvOutcome::Ok && o.ret < cut) before = std::max(before, o.ret);
      if (before >= 0) {
        EXPECT_TRUE(brute_force(prefix(before))) << "round " << round << "\n" << v.explanation;
      }
    }
  }
  // The generator gives both answers often enough for the comparison to mean something.
  EXPECT_GT(linearizable, 1000);
  EXPECT_GT(not_linearizable, 1000);
  EXPECT_GT(minimal_checked, 100);
}

TEST(Linearizability, AHistoryIsLinearizableWhenEveryKeyIs) {
  Rand r{0x9E3779B97F4A7C15ULL};
  for (int round = 0; round < 1500; ++round) {
    KvHistory h;
    auto a = random_ops(r, 1 + r.below(5), round % 2 == 0, false, "k1");
    auto b = random_ops(r, 1 + r.below(5), round % 2 == 1, false, "k2");
    const bool want = brute_force(a) && brute_force(b);
    h.ops = a;
    h.ops.insert(h.ops.end(), b.begin(), b.end());
    ASSERT_EQ(check_linearizable(h).verdict, want ? Verdict::Linearizable : Verdict::NotLinearizable)
        << "round " << round;
  }
}

}  // namespace
}  // namespace dcslab
