#include "check/synthetic.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "check/linearizability.h"

namespace dcslab {
namespace {

std::string text(const KvHistory& h) {
  std::string s;
  for (const auto& op : h.ops) s += describe_op(h, op) + "\n";
  return s;
}

TEST(Synthetic, TheSameSeedGivesTheSameHistory) {
  SyntheticOptions o;
  o.ops = 500;
  EXPECT_EQ(text(synthetic_history(o)), text(synthetic_history(o)));
  SyntheticOptions other = o;
  other.seed = 2;
  EXPECT_NE(text(synthetic_history(o)), text(synthetic_history(other)));
}

TEST(Synthetic, HasEveryKindAndOutcome) {
  SyntheticOptions o;
  o.ops = 2000;
  const KvHistory h = synthetic_history(o);
  ASSERT_EQ(h.ops.size(), 2000u);
  int reads = 0, puts = 0, swapped = 0, unswapped = 0, info = 0, fail = 0;
  for (const auto& op : h.ops) {
    reads += op.kind == KvKind::Read;
    puts += op.kind == KvKind::Put;
    swapped += op.kind == KvKind::Cas && op.outcome == KvOutcome::Ok && op.swapped;
    unswapped += op.kind == KvKind::Cas && op.outcome == KvOutcome::Ok && !op.swapped;
    info += op.outcome == KvOutcome::Info;
    fail += op.outcome == KvOutcome::Fail;
  }
  EXPECT_GT(reads, 800);
  EXPECT_GT(puts, 500);
  EXPECT_GT(swapped, 20);
  EXPECT_GT(unswapped, 20);
  EXPECT_GT(info, 10);
  EXPECT_GT(fail, 5);
}

// Linearizable by construction, for every shape; one stale read and it is not.
TEST(Synthetic, IsLinearizableAndOneStaleReadIsCaught) {
  for (int keys : {1, 3}) {
    for (bool revisions : {true, false}) {
      for (std::uint64_t seed : {1, 2, 3}) {
        SyntheticOptions o;
        o.ops = 1500;
        o.keys = keys;
        o.seed = seed;
        o.revisions = revisions;
        KvHistory h = synthetic_history(o);
        const auto r = check_linearizable(h);
        ASSERT_EQ(r.verdict, Verdict::Linearizable) << h.source << "\n" << r.report();
        const auto stale = make_one_read_stale(h);
        ASSERT_TRUE(stale.has_value()) << h.source;
        const auto s = check_linearizable(h);
        ASSERT_EQ(s.verdict, Verdict::NotLinearizable) << h.source;
        ASSERT_EQ(s.violations.size(), 1u) << s.report();
        EXPECT_EQ(s.violations[0].key, h.ops[*stale].key);
        // The read whose value was changed is where it breaks, unless revisions caught it
        // earlier on another key (they do not here: the read's key alone is wrong).
        EXPECT_EQ(s.violations[0].last, *stale) << s.violations[0].explanation;
        EXPECT_EQ(s.violations[0].kind, "stale-read") << s.violations[0].explanation;
      }
    }
  }
}

TEST(Synthetic, TenThousandOpsOfEightClientsWithinTheTarget) {
  SyntheticOptions o;  // 10,000 ops, 8 clients, 4 keys
  const KvHistory h = synthetic_history(o);
  CheckBudget budget;
  budget.time = std::chrono::seconds(10);  // the target (bench/checker.sh measures it)
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = check_linearizable(h, budget);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.verdict, Verdict::Linearizable) << r.summary();
  std::cout << "[ checked  ] " << h.source << " in " << s << " s, " << r.steps << " steps\n";
}

}  // namespace
}  // namespace dcslab
