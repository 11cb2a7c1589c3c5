// The anomaly corpus (fixtures/histories/): recorded-style writer histories that each
// show one anomaly, and a clean one. The linearizability checker catches and names
// every anomaly; the writer's own check (check_history) catches those it can, and the
// corpus pins down the ones it misses.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/paths.h"
#include "check/dcslab_history.h"
#include "check/linearizability.h"
#include "etcd/write_history.h"

namespace dcslab {
namespace {

std::filesystem::path corpus(const std::string& name) { return source_dir() / "fixtures" / "histories" / name; }

History writer_history(const std::string& name) {
  std::ifstream in(corpus(name));
  std::stringstream buf;
  buf << in.rdbuf();
  auto h = parse_history(buf.str());
  EXPECT_TRUE(h) << name << ": " << (h ? "" : h.error().message);
  return h ? *h : History{};
}

struct Caught {
  LinearizabilityResult result;
  const Violation* v = nullptr;
  std::vector<std::string> named;  // the names of the ops the violation names
};

Caught linearizability(const std::string& name) {
  Caught c;
  const KvHistory h = read_dcslab_history_file(corpus(name));
  c.result = check_linearizable(h);
  if (!c.result.violations.empty()) {
    c.v = &c.result.violations.front();
    for (auto i : c.v->ops) c.named.push_back(h.ops[i].name);
  }
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(HistoryCorpus, ALostAcknowledgedWrite) {
  const Caught c = linearizability("lost-write.json");
  ASSERT_EQ(c.result.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(c.result.violations.size(), 1u);
  EXPECT_EQ(c.v->kind, "lost-write") << c.v->explanation;
  EXPECT_TRUE(has(c.named, "#5")) << c.v->explanation;  // the acknowledged put, revision 7
  EXPECT_TRUE(has(c.named, "#7")) << c.v->explanation;  // the first final read, which saw revision 6
  EXPECT_TRUE(c.v->minimal);
  EXPECT_NE(c.v->explanation.find("final read #7 (check via dcs-00"), std::string::npos) << c.v->explanation;

  const CheckResult w = check_history(writer_history("lost-write.json"));
  EXPECT_EQ(w.lost, 1) << w.summary();
  EXPECT_EQ(w.stale, 0);
}

TEST(HistoryCorpus, ARevisionGoingBackwards) {
  const Caught c = linearizability("revision-backwards.json");
  ASSERT_EQ(c.result.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(c.result.violations.size(), 1u);
  EXPECT_EQ(c.v->kind, "revision-backwards") << c.v->explanation;
  EXPECT_TRUE(c.v->key.empty());  // across keys: each key alone is linearizable
  EXPECT_TRUE(has(c.named, "#3")) << c.v->explanation;  // revision 9, after 12 was seen
  for (const auto& k : c.result.keys) EXPECT_EQ(k.verdict, Verdict::Linearizable) << k.key;

  // The writer's check compares revisions only within a key: it misses this.
  const CheckResult w = check_history(writer_history("revision-backwards.json"));
  EXPECT_TRUE(w.passed()) << w.summary();
}

TEST(HistoryCorpus, AStaleReadThroughAPartitionedMember) {
  const Caught c = linearizability("stale-read-partitioned.json");
  ASSERT_EQ(c.result.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(c.result.violations.size(), 1u);
  EXPECT_EQ(c.v->kind, "stale-read") << c.v->explanation;
  EXPECT_TRUE(has(c.named, "#3")) << c.v->explanation;
  EXPECT_TRUE(has(c.named, "#4")) << c.v->explanation;
  EXPECT_NE(c.v->explanation.find("read #4 (w1 via dcs-02"), std::string::npos) << c.v->explanation;

  const CheckResult w = check_history(writer_history("stale-read-partitioned.json"));
  EXPECT_EQ(w.stale, 1) << w.summary();
  ASSERT_FALSE(w.findings.empty());
  EXPECT_EQ(w.findings[0].op, 4);
  EXPECT_NE(w.findings[0].message.find("via dcs-02"), std::string::npos);
}

TEST(HistoryCorpus, ANonLinearizableReadPairTheWriterCheckMisses) {
  const Caught c = linearizability("read-pair.json");
  ASSERT_EQ(c.result.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(c.result.violations.size(), 1u);
  EXPECT_EQ(c.v->kind, "read-pair") << c.v->explanation;
  EXPECT_TRUE(c.v->minimal);
  // The indeterminate put, the reader that saw it, the later reader that did not.
  EXPECT_EQ(c.named, (std::vector<std::string>{"#1", "#3", "#4", "#5"})) << c.v->explanation;
  EXPECT_NE(c.v->explanation.find("reader-1"), std::string::npos) << c.v->explanation;
  EXPECT_NE(c.v->explanation.find("reader-2"), std::string::npos) << c.v->explanation;

  // No read is older than a write acknowledged before it, and the new value's put is
  // indeterminate: the writer's check has nothing to say.
  const CheckResult w = check_history(writer_history("read-pair.json"));
  EXPECT_TRUE(w.passed()) << w.summary();
}

TEST(HistoryCorpus, ACleanHistoryGivesNoFinding) {
  const Caught c = linearizability("clean.json");
  EXPECT_EQ(c.result.verdict, Verdict::Linearizable) << c.result.report();
  EXPECT_TRUE(c.result.violations.empty());
  const CheckResult w = check_history(writer_history("clean.json"));
  EXPECT_TRUE(w.passed()) << w.summary();
  EXPECT_TRUE(w.findings.empty());
}

// A real run's history (etcd 3.4, restarts) is clean for both.
TEST(HistoryCorpus, ARecordedRunIsLinearizable) {
  const KvHistory h = read_dcslab_history_file(source_dir() / "fixtures" / "writes" / "recorded-3.4-restarts.json");
  const auto r = check_linearizable(h);
  EXPECT_EQ(r.verdict, Verdict::Linearizable) << r.report();
  EXPECT_TRUE(r.violations.empty());
}

}  // namespace
}  // namespace dcslab
