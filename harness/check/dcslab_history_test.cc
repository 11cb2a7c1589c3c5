#include "check/dcslab_history.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "base/paths.h"
#include "check/linearizability.h"

namespace dcslab {
namespace {

KvHistory fixture(const std::string& name) {
  return read_dcslab_history_file(source_dir() / "fixtures" / "writes" / name);
}

TEST(DcslabHistory, MapsTheWritersOps) {
  const KvHistory h = fixture("indeterminate.json");
  ASSERT_EQ(h.ops.size(), 9u);
  EXPECT_EQ(h.time_unit, "ms");
  const KvOp& put = h.ops[0];
  EXPECT_EQ(put.kind, KvKind::Put);
  EXPECT_EQ(put.outcome, KvOutcome::Ok);
  EXPECT_EQ(put.value, "w1-0");
  EXPECT_EQ(put.revision, 5);
  EXPECT_EQ(put.call, 0.0);
  EXPECT_EQ(put.ret, 10.0);
  EXPECT_EQ(put.name, "#1");
  EXPECT_EQ(put.client, "w1");  // the writer: the history's name
  EXPECT_EQ(put.endpoint, "dcs-00");
  EXPECT_EQ(h.ops[1].outcome, KvOutcome::Info);  // indeterminate
  EXPECT_EQ(h.ops[3].outcome, KvOutcome::Fail);  // failed
  const KvOp& final_read = h.ops[5];
  EXPECT_EQ(final_read.kind, KvKind::Read);
  EXPECT_TRUE(final_read.final);
  EXPECT_EQ(final_read.client, "check");
  EXPECT_EQ(final_read.value, "w1-2");
  EXPECT_EQ(final_read.revision, 7);
  // A read that found nothing.
  const KvHistory lost = fixture("lost.json");
  EXPECT_FALSE(lost.ops[8].value.has_value());
}

// The writer's recorded histories (fixtures/writes/), linearizable or not.
TEST(DcslabHistory, TheRecordedHistoriesGetTheirVerdicts) {
  EXPECT_EQ(check_linearizable(fixture("indeterminate.json")).verdict, Verdict::Linearizable);
  const auto real = check_linearizable(fixture("recorded-3.4-restarts.json"));
  EXPECT_EQ(real.verdict, Verdict::Linearizable) << real.report();
  EXPECT_EQ(real.keys.size(), 16u);

  const auto lost = check_linearizable(fixture("lost.json"));
  ASSERT_EQ(lost.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(lost.violations.size(), 2u) << lost.report();  // key-0 shows an old write, key-1 none
  for (const auto& v : lost.violations) EXPECT_EQ(v.kind, "lost-write") << v.explanation;

  const auto stale = check_linearizable(fixture("stale.json"));
  ASSERT_EQ(stale.verdict, Verdict::NotLinearizable);
  ASSERT_EQ(stale.violations.size(), 1u);
  EXPECT_EQ(stale.violations[0].kind, "stale-read");
  EXPECT_NE(stale.violations[0].explanation.find("read #4 (w1 via dcs-02"), std::string::npos)
      << stale.violations[0].explanation;
}

void expect_bad(const std::string& text, const std::string& start) {
  try {
    read_dcslab_history(text, "h.json");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()).rfind(start, 0), 0u) << e.what();
  }
}

TEST(DcslabHistory, BadInputNamesFileLineAndField) {
  const std::string head = "{\n \"name\": \"w1\",\n \"ops\": [\n";
  const std::string ok =
      "  {\"id\": 1, \"kind\": \"put\", \"key\": \"k\", \"value\": \"v\", \"start_ms\": 0, "
      "\"end_ms\": 1, \"status\": \"ok\", \"revision\": 3}";
  auto with = [&](const std::string& second) { return head + ok + ",\n" + second + "\n ]\n}\n"; };
  expect_bad(with("  {\"id\": 2, \"kind\": \"put\", \"key\": \"k\", \"value\": \"w\", \"start_ms\": 2, "
                  "\"end_ms\": 3, \"status\": \"maybe\"}"),
             "h.json:5: ops[1].status: \"maybe\" (valid: ok, failed, indeterminate)");
  expect_bad(with("  {\"id\": 1, \"kind\": \"get\", \"key\": \"k\", \"start_ms\": 2, \"end_ms\": 3, "
                  "\"status\": \"ok\"}"),
             "h.json:5: ops[1].id: 1 twice");
  expect_bad(with("  {\"id\": 2, \"kind\": \"delete\"}"), "h.json:5: ops[1].kind: \"delete\"");
  expect_bad(with("  {\"id\": 2, \"kind\": \"get\", \"key\": 7}"), "h.json:5: ops[1].key: not a string");
  expect_bad(with("  {\"id\": 2, \"kind\": \"get\", \"key\": \"k\", \"status\": \"ok\", \"start_ms\": 5, "
                  "\"end_ms\": 4}"),
             "h.json:5: ops[1].end_ms: before start_ms");
  expect_bad(with("  {\"id\": 2, \"kind\": \"put\", \"key\": \"k\", \"value\": \"w\", \"start_ms\": 2, "
                  "\"end_ms\": 3, \"status\": \"ok\"}"),
             "h.json:5: ops[1].revision: an acknowledged put needs its revision");
  expect_bad(with("  {\"id\": 2, \"kind\": \"get\", \"key\": \"k\", \"found\": true, \"start_ms\": 2, "
                  "\"end_ms\": 3, \"status\": \"ok\"}"),
             "h.json:5: ops[1].value: missing");
  expect_bad(with("  {\"id\": 2, \"kind\": \"get\", \"key\": \"k\", \"status\": \"ok\", \"found\": \"yes\"}"),
             "h.json:5: ops[1].found: not true or false");
  expect_bad(with("  7"), "h.json:5: ops[1]: an operation is a JSON object");
  // Values spread over lines: the op's first line.
  expect_bad(head + ok + ",\n  {\n   \"id\": \"two\"\n  }\n ]\n}\n", "h.json:5: ops[1].id: not an integer");
  // Not JSON: where the parser stopped.
  expect_bad(head + ok + ",\n  {\"id\": 2,,}\n ]\n}\n", "h.json:5: not JSON");
  expect_bad("[1, 2]", "h.json:1: a history is a JSON object");
  expect_bad("{\"name\": \"w\"}", "h.json:1: ops: missing");
}

TEST(DcslabHistory, CompareAndSetsAreReadWithTheirCompareAndOutcome) {
  const std::string text =
      "{\"name\": \"w1\", \"ops\": [\n"
      "{\"id\": 1, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"w1-0\", \"expect_revision\": 0, "
      "\"swapped\": true, \"revision\": 4, \"start_ms\": 0, \"end_ms\": 1, \"status\": \"ok\"},\n"
      "{\"id\": 2, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"w1-1\", \"expect_value\": \"w1-9\", "
      "\"swapped\": false, \"start_ms\": 2, \"end_ms\": 3, \"status\": \"ok\"},\n"
      "{\"id\": 3, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"w1-2\", \"expect_value\": \"w1-0\", "
      "\"start_ms\": 4, \"end_ms\": 2004, \"status\": \"indeterminate\"},\n"
      "{\"id\": 4, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"w1-3\", \"expect_value\": null, "
      "\"start_ms\": 5, \"end_ms\": 6, \"status\": \"failed\"}\n"
      "]}\n";
  const KvHistory h = read_dcslab_history(text, "h.json");
  ASSERT_EQ(h.ops.size(), 4u);
  EXPECT_EQ(h.ops[0].kind, KvKind::Cas);
  EXPECT_EQ(h.ops[0].expected_revision, std::optional<std::int64_t>(0));
  EXPECT_TRUE(h.ops[0].swapped);
  EXPECT_EQ(h.ops[0].revision, 4);
  EXPECT_EQ(h.ops[0].value, std::optional<std::string>("w1-0"));
  EXPECT_EQ(h.ops[1].expected, std::optional<std::string>("w1-9"));
  EXPECT_FALSE(h.ops[1].expected_revision.has_value());
  EXPECT_FALSE(h.ops[1].swapped);
  EXPECT_EQ(h.ops[1].outcome, KvOutcome::Ok);
  EXPECT_EQ(h.ops[2].outcome, KvOutcome::Info);
  EXPECT_FALSE(h.ops[3].expected.has_value());  // null: the key absent
  EXPECT_EQ(h.ops[3].outcome, KvOutcome::Fail);
  // #2 found something other than w1-9 (w1-0), and #3 may have swapped later.
  EXPECT_EQ(check_linearizable(h).verdict, Verdict::Linearizable);
  // Had #2 swapped against w1-9, which nobody wrote, no order explains it.
  std::string forged = text;
  forged.replace(forged.find("\"swapped\": false"), 16, "\"swapped\": true, \"revision\": 5");
  EXPECT_EQ(check_linearizable(read_dcslab_history(forged, "h.json")).verdict, Verdict::NotLinearizable);

  const std::string head = "{\n \"ops\": [\n";
  auto one = [&](const std::string& op) { return head + op + "\n ]\n}\n"; };
  expect_bad(one("  {\"id\": 1, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"v\", \"start_ms\": 0, "
                 "\"end_ms\": 1, \"status\": \"failed\"}"),
             "h.json:3: ops[0]: a cas compares either expect_value or expect_revision (one of them)");
  expect_bad(one("  {\"id\": 1, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"v\", \"expect_revision\": 2, "
                 "\"start_ms\": 0, \"end_ms\": 1, \"status\": \"ok\"}"),
             "h.json:3: ops[0].swapped: missing");
  expect_bad(one("  {\"id\": 1, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"v\", \"expect_revision\": 2, "
                 "\"swapped\": true, \"start_ms\": 0, \"end_ms\": 1, \"status\": \"ok\"}"),
             "h.json:3: ops[0].revision: a swapped cas needs its revision");
  expect_bad(one("  {\"id\": 1, \"kind\": \"cas\", \"key\": \"k\", \"value\": \"v\", \"expect_revision\": -1, "
                 "\"start_ms\": 0, \"end_ms\": 1, \"status\": \"failed\"}"),
             "h.json:3: ops[0].expect_revision: negative");
}

TEST(DcslabHistory, AClientFieldNamesTheClient) {
  const KvHistory h = read_dcslab_history(
      "{\"ops\": [{\"id\": 1, \"kind\": \"get\", \"key\": \"k\", \"start_ms\": 0, \"end_ms\": 1, "
      "\"status\": \"ok\", \"client\": \"reader-2\"}]}",
      "h.json");
  ASSERT_EQ(h.ops.size(), 1u);
  EXPECT_EQ(h.ops[0].client, "reader-2");
  EXPECT_FALSE(h.ops[0].value.has_value());
}

}  // namespace
}  // namespace dcslab
