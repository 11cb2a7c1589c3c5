#include "check/jepsen_log.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace dcslab {
namespace {

const char* kLog =
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:invoke\t:write\t3\n"
    "INFO  jepsen.core - Worker 2 starting\n"              // another logger: skipped
    "INFO  jepsen.util - 2   :invoke :cas    [3 4]\n"      // spaces, as some files have
    "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"   // a fault: skipped
    "INFO  jepsen.util - 1\t:ok\t:write\t3\n"
    "INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]\n"          // found something else
    "\n"
    "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n"    // no answer
    "INFO  jepsen.util - 4\t:invoke\t:write\t1\n"
    "INFO  jepsen.util - 4\t:info\t:write\t:timed-out\n"
    "INFO  jepsen.util - 5\t:invoke\t:write\t2\n"
    "INFO  jepsen.util - 5\t:fail\t:write\t2\n"            // certainly not applied
    "INFO  jepsen.util - 6\t:invoke\t:cas\t[nil 0]\n";     // never completed

TEST(JepsenLog, ReadsEveryKindOfLine) {
  const KvHistory h = read_jepsen_log(kLog, "t.log");
  ASSERT_EQ(h.ops.size(), 7u);
  EXPECT_EQ(h.time_unit, "line");
  const KvOp& r = h.ops[0];
  EXPECT_EQ(r.kind, KvKind::Read);
  EXPECT_EQ(r.outcome, KvOutcome::Ok);
  EXPECT_FALSE(r.value.has_value());  // nil: no key
  EXPECT_EQ(r.call, 1);
  EXPECT_EQ(r.ret, 5);
  EXPECT_EQ(r.client, "process 0");
  EXPECT_EQ(r.name, "line 1");
  EXPECT_EQ(r.key, "register");

  EXPECT_EQ(h.ops[1].kind, KvKind::Put);
  EXPECT_EQ(h.ops[1].value, "3");
  EXPECT_EQ(h.ops[1].outcome, KvOutcome::Ok);
  EXPECT_EQ(h.ops[1].ret, 7);

  const KvOp& c = h.ops[2];
  EXPECT_EQ(c.kind, KvKind::Cas);
  EXPECT_EQ(c.expected, "3");
  EXPECT_EQ(c.value, "4");
  EXPECT_EQ(c.outcome, KvOutcome::Ok);
  EXPECT_FALSE(c.swapped);

  EXPECT_EQ(h.ops[3].kind, KvKind::Read);
  EXPECT_EQ(h.ops[3].outcome, KvOutcome::Info);  // :fail :read :timed-out
  EXPECT_EQ(h.ops[4].outcome, KvOutcome::Info);  // :info :write
  EXPECT_EQ(h.ops[5].outcome, KvOutcome::Fail);  // :fail :write
  EXPECT_EQ(h.ops[6].outcome, KvOutcome::Info);  // no completion
  EXPECT_FALSE(h.ops[6].expected.has_value());   // [nil 0]: expects no key
}

void expect_bad(const std::string& text, const std::string& where, const std::string& what) {
  try {
    read_jepsen_log(text, "t.log");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const BadInput& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(where, 0), 0u) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(JepsenLog, BadLinesAreBadInputWithTheirLine) {
  const std::string inv = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n";
  expect_bad(inv + inv, "t.log:2:", "invokes again while its op from line 1 is open");
  expect_bad("INFO  jepsen.util - 0\t:ok\t:read\t3\n", "t.log:1:", "never invoked");
  expect_bad(inv + "INFO  jepsen.util - 0\t:ok\t:write\t3\n", "t.log:2:", "invoked :read at line 1");
  expect_bad(inv + "INFO  jepsen.util - 0\t:done\t:read\t3\n", "t.log:2:", "type \":done\"");
  expect_bad("INFO  jepsen.util - 0\t:invoke\t:delete\tnil\n", "t.log:1:", "function \":delete\"");
  expect_bad("INFO  jepsen.util - 0\t:invoke\t:cas\t3\n", "t.log:1:", "[expected new]");
  expect_bad("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2 3]\n", "t.log:1:", "[expected new]");
  expect_bad("INFO  jepsen.util - x7\t:invoke\t:read\tnil\n", "t.log:1:", "process \"x7\"");
  expect_bad("\n\nINFO  jepsen.util - 1\t:invoke\n", "t.log:3:", "<process> <type> <f> <value>");
  expect_bad("INFO  jepsen.util - 0\t:invoke\t:write\tnil\n", "t.log:1:", "a write of nil");
  expect_bad("", "t.log:", "no Jepsen operations");
  expect_bad("{\"ops\": []}\n", "t.log:", "no Jepsen operations");
}

TEST(JepsenLog, AMissingFileIsBadInput) {
  EXPECT_THROW(read_jepsen_log_file("/nonexistent/etcd_000.log"), BadInput);
}

}  // namespace
}  // namespace dcslab
